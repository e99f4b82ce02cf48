"""Families' accounts, for staff (DESIGN §2): find the accounts of a pupil
and of the pupil's guardians, issue new provisional credentials, and create
the account of a guardian who has none.

A school secretary sees the pupils of the school, académie support those of
the académie. Staff never choose a password: they issue provisional
credentials (workflow `credentials-reissue/<id>`), which go out by the
school's notification email or as a letter to print and hand over. Every
issue and every letter download is audited. The process calls are
`api.staff_families`, which the staff pages call too.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from api import pages, staff_families
from api.deps import Pool, Staff, Temporal
from api.errors import ErrorBody
from api.staff_families import PupilView, ReissueBody, ReissueView

router = APIRouter(prefix="/staff", tags=["Personnel : comptes des familles"])

AccountId = Annotated[uuid.UUID, Path(description="Identifiant du compte")]
GuardianId = Annotated[
    uuid.UUID, Path(description="Identifiant du responsable légal (fiche de l'établissement)")
]
ReissueId = Annotated[uuid.UUID, Path(description="Identifiant de la remise d'identifiants")]


@router.get(
    "/accounts",
    summary="Rechercher les comptes d'un élève et de ses responsables",
    description="Par le nom ou le prénom de l'élève ou d'un responsable (début du mot, sans accents ni majuscules).",
    response_model=list[PupilView],
)
async def search_accounts(
    member: Staff,
    pool: Pool,
    nom: Annotated[
        str, Query(min_length=2, max_length=100, description="Nom ou prénom, au moins 2 lettres")
    ],
) -> list[PupilView]:
    return await staff_families.search(pool, member, nom)


@router.post(
    "/accounts/{account_id}/provisional-credentials",
    summary="Remettre de nouveaux identifiants provisoires (le mot de passe est généré, jamais choisi)",
    status_code=status.HTTP_201_CREATED,
    response_model=ReissueView,
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
async def reissue_credentials(
    account_id: AccountId,
    member: Staff,
    pool: Pool,
    temporal: Temporal,
    body: ReissueBody | None = None,
) -> ReissueView:
    return await staff_families.reissue_credentials(pool, temporal, member, account_id, body)


@router.post(
    "/guardians/{guardian_id}/account",
    summary="Créer le compte d'un responsable qui n'en a pas (identifiants provisoires par courriel ou courrier)",
    status_code=status.HTTP_201_CREATED,
    response_model=ReissueView,
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
async def create_guardian_account(
    guardian_id: GuardianId,
    member: Staff,
    pool: Pool,
    temporal: Temporal,
    body: ReissueBody | None = None,
) -> ReissueView:
    return await staff_families.create_guardian_account(pool, temporal, member, guardian_id, body)


@router.get(
    "/credential-reissues/{reissue_id}",
    summary="Où en est la remise de nouveaux identifiants ?",
    response_model=ReissueView,
    responses={404: {"model": ErrorBody}},
)
async def reissue_status(reissue_id: ReissueId, member: Staff, pool: Pool) -> ReissueView:
    return await staff_families.reissue_status(pool, member, reissue_id)


@router.get(
    "/credential-reissues/{reissue_id}/letter.pdf",
    summary="Le courrier des nouveaux identifiants provisoires (PDF)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, 404: {"model": ErrorBody}},
)
async def reissue_letter(reissue_id: ReissueId, member: Staff, pool: Pool) -> Response:
    pdf = await staff_families.reissue_letter(pool, member, reissue_id)
    return pages.pdf_download(pdf, staff_families.letter_filename(reissue_id))
