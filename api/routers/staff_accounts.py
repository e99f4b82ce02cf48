"""Families' accounts, for staff (DESIGN §2): find the accounts of a pupil
and of the pupil's guardians, issue new provisional credentials, and create
the account of a guardian who has none.

A school secretary sees the pupils of the school, académie support those of
the académie. Staff never choose a password: they issue provisional
credentials (workflow `credentials-reissue/<id>`), which go out by the
school's notification email or as a letter to print and hand over. Every
issue and every letter download is audited.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, Field
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy

from api import pages
from api.deps import Pool, Temporal
from api.errors import ErrorBody
from api.routers.staff import Staff, refuse_audited
from educonnect import audit, reissue
from educonnect.errors import MESSAGES, DomainError, ErrorCode
from educonnect.identifiers import fold_text
from educonnect.models.reissue import ReissueInput, ReissueResult, ReissueStep
from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP, SCHOOL_UAI
from educonnect.settings import get_settings
from educonnect.staff import StaffMember
from workflows.credentials_reissue import CredentialsReissueWorkflow, summary, workflow_id

router = APIRouter(prefix="/staff", tags=["Personnel : comptes des familles"])

SEARCH_LIMIT = 50
_SEARCHABLE = re.compile(r"[^a-z0-9' -]")
RESULT_WAIT_S = 20.0
STATE_LABELS = {
    "provisioned": "Identifiants provisoires remis, compte non activé",
    "activating": "Activation en cours",
    "active": "Compte activé",
    "locked": "Compte bloqué (trop d'essais de connexion)",
    "merged": "Compte regroupé avec un autre compte",
}

AccountId = Annotated[uuid.UUID, Path(description="Identifiant du compte")]
GuardianId = Annotated[
    uuid.UUID, Path(description="Identifiant du responsable légal (fiche de l'établissement)")
]
ReissueId = Annotated[uuid.UUID, Path(description="Identifiant de la remise d'identifiants")]


class AccountView(BaseModel):
    account_id: uuid.UUID
    identifier: str
    kind: str
    state: str
    state_label: str
    email: str | None = None
    email_confirmed: bool
    provisional_expires_at: datetime | None = None
    can_reissue: bool
    reissue_refusal: str | None = None  # French, when new credentials cannot be issued


class PersonView(BaseModel):
    last_name: str
    first_name: str
    account: AccountView | None = None


class GuardianView(PersonView):
    guardian_id: uuid.UUID
    can_create_account: bool  # no account yet: staff can create it (first provisional credentials)


class PupilView(PersonView):
    pupil_id: uuid.UUID
    uai: str
    class_name: str
    guardians: list[GuardianView]


class ReissueBody(BaseModel):
    canal: Literal["auto", "courrier"] = Field(
        "auto",
        description="« auto » : par courriel à l'adresse donnée par l'établissement quand il y en a une, sinon "
        "courrier ; « courrier » : toujours un courrier à imprimer (la personne est à l'accueil).",
    )


class ReissueView(BaseModel):
    reissue_id: uuid.UUID
    workflow_id: str
    step: ReissueStep
    account_id: uuid.UUID | None = None
    created: bool = False  # the guardian's account was created by this request
    channel: str | None = None
    letter_url: str | None = None
    message: str


# --- finding accounts ------------------------------------------------------------------------


_ACCOUNT_COLUMNS = "id, identifier, kind, state, email, email_verified_at, mobile_verified_at, provisional_expires_at"


def _account_view(row: asyncpg.Record | None) -> AccountView | None:
    if row is None:
        return None
    code = reissue.refusal(row)
    return AccountView(
        account_id=row["id"],
        identifier=row["identifier"],
        kind=row["kind"],
        state=row["state"],
        state_label=STATE_LABELS[row["state"]],
        email=row["email"],
        email_confirmed=row["email_verified_at"] is not None,
        provisional_expires_at=row["provisional_expires_at"],
        can_reissue=code is None,
        reissue_refusal=MESSAGES[code] if code else None,
    )


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
    wanted = " ".join(_SEARCHABLE.sub(" ", fold_text(nom)).split())
    if len(wanted) < 2:
        raise DomainError(
            ErrorCode.INVALID_INPUT, [{"field": "nom", "message": "Saisissez au moins 2 lettres."}]
        )
    scope, value = member.scope_sql("p.uai", "s.academie")
    # The start of a word of a name (wanted holds only letters, digits, spaces, hyphens, apostrophes).
    word_start = "(^|[ '-])" + wanted
    pupils = await pool.fetch(
        f"""
        SELECT p.id, p.last_name, p.first_name, p.class_name, p.uai
        FROM pupils p JOIN schools s ON s.uai = p.uai
        WHERE {scope} AND (
            edu_fold(p.last_name || ' ' || p.first_name) ~ $2 OR edu_fold(p.first_name || ' ' || p.last_name) ~ $2
            OR EXISTS (SELECT 1 FROM guardian_pupils gp JOIN guardians g ON g.id = gp.guardian_id
                       WHERE gp.pupil_id = p.id AND (edu_fold(g.last_name || ' ' || g.first_name) ~ $2
                                                      OR edu_fold(g.first_name || ' ' || g.last_name) ~ $2)))
        ORDER BY edu_fold(p.last_name), edu_fold(p.first_name), p.id
        LIMIT {SEARCH_LIMIT}
        """,
        value,
        word_start,
    )
    links = await pool.fetch(
        "SELECT gp.pupil_id, g.id, g.last_name, g.first_name FROM guardian_pupils gp JOIN guardians g ON g.id = gp.guardian_id "
        "WHERE gp.pupil_id = ANY($1) ORDER BY g.last_name, g.first_name",
        [p["id"] for p in pupils],
    )
    accounts = await pool.fetch(
        f"SELECT {_ACCOUNT_COLUMNS}, pupil_id, guardian_id FROM accounts WHERE pupil_id = ANY($1) OR guardian_id = ANY($2)",
        [p["id"] for p in pupils],
        [link["id"] for link in links],
    )
    by_owner = {a["pupil_id"] or a["guardian_id"]: a for a in accounts}
    await audit.record(
        pool,
        member.actor,
        "staff.accounts_search",
        "search",
        wanted,
        details={"results": len(pupils)},
    )
    return [
        PupilView(
            pupil_id=p["id"],
            last_name=p["last_name"],
            first_name=p["first_name"],
            uai=p["uai"],
            class_name=p["class_name"],
            account=_account_view(by_owner.get(p["id"])),
            guardians=[
                GuardianView(
                    guardian_id=g["id"],
                    last_name=g["last_name"],
                    first_name=g["first_name"],
                    account=_account_view(by_owner.get(g["id"])),
                    can_create_account=g["id"] not in by_owner,
                )  # fmt: skip
                for g in links
                if g["pupil_id"] == p["id"]
            ],
        )
        for p in pupils
    ]


# --- new provisional credentials -------------------------------------------------------------


async def _school_in_scope(
    pool: asyncpg.Pool,
    member: StaffMember,
    *,
    pupil_id: uuid.UUID | None,
    guardian_id: uuid.UUID | None,
) -> str | None:
    """The school of the member's scope that hands out the credentials: the
    pupil's school, or the school of one of the guardian's children."""
    schools = await pool.fetch(
        """
        SELECT DISTINCT s.uai, s.academie FROM pupils p JOIN schools s ON s.uai = p.uai
        WHERE p.id = $1 OR p.id IN (SELECT pupil_id FROM guardian_pupils WHERE guardian_id = $2)
        ORDER BY s.uai
        """,
        pupil_id,
        guardian_id,
    )
    in_scope = [s["uai"] for s in schools if member.covers(s["uai"], s["academie"])]
    return in_scope[0] if in_scope else None


async def _account_school_in_scope(
    pool: asyncpg.Pool, member: StaffMember, account_id: uuid.UUID
) -> tuple[asyncpg.Record, str]:
    account = await pool.fetchrow(
        f"SELECT {_ACCOUNT_COLUMNS}, pupil_id, guardian_id FROM accounts WHERE id = $1", account_id
    )
    uai = None
    if account is not None:
        uai = await _school_in_scope(
            pool, member, pupil_id=account["pupil_id"], guardian_id=account["guardian_id"]
        )
    if uai is None:
        # Out of scope answers like unknown: staff learn nothing about other schools' families.
        await refuse_audited(
            pool,
            member,
            "account.credentials_reissue",
            "account",
            account_id,
            ErrorCode.STAFF_ACCOUNT_NOT_FOUND,
        )
    assert uai is not None  # refuse_audited raised
    return account, uai


def _message(result: ReissueResult, email: str | None) -> str:
    if result.step == ReissueStep.REFUSED and result.refusal:
        return MESSAGES[result.refusal]
    what = (
        "Le compte est créé et ses identifiants provisoires"
        if result.created
        else "Les nouveaux identifiants provisoires"
    )
    if result.channel == "email":
        return f"{what} ont été envoyés par courriel à {email}. Ils sont valables 3 mois." + (
            "" if result.created else " Les anciens ne fonctionnent plus."
        )
    if result.channel == "letter":
        return (
            f"{what} sont prêts : imprimez le courrier et remettez-le à la personne en main propre. "
            "Ils sont valables 3 mois."
            + ("" if result.created else " Les anciens ne fonctionnent plus.")
        )
    return "La remise des identifiants est en cours ; actualisez la page dans quelques instants."


def _view(reissue_id: uuid.UUID, result: ReissueResult, email: str | None) -> ReissueView:
    letter = (
        f"/staff/credential-reissues/{reissue_id}/letter.pdf"
        if result.channel == "letter"
        else None
    )
    return ReissueView(
        reissue_id=reissue_id,
        workflow_id=workflow_id(reissue_id),
        step=result.step,
        account_id=result.account_id,
        created=result.created,
        channel=result.channel,
        letter_url=letter,
        message=_message(result, email),
    )


async def _issue(
    pool: asyncpg.Pool, temporal, member: StaffMember, uai: str, body: ReissueBody | None, *,
    account_id: uuid.UUID | None = None, guardian_id: uuid.UUID | None = None,
) -> tuple[uuid.UUID, ReissueResult]:  # fmt: skip
    """Write the request, start its workflow and wait (a little) for its result."""
    reissue_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO credential_reissues (id, account_id, guardian_id, uai, staff_id, staff_label, wanted_channel) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        reissue_id,
        account_id,
        guardian_id,
        uai,
        member.id,
        member.label,
        "letter" if body is not None and body.canal == "courrier" else "auto",
    )
    attributes: list[SearchAttributePair[Any]] = [
        SearchAttributePair(PROCESS_STEP, ReissueStep.ISSUING.value),
        SearchAttributePair(SCHOOL_UAI, [uai]),
    ]
    if account_id is not None:
        attributes.append(SearchAttributePair(ACCOUNT_ID, str(account_id)))
    handle = await temporal.start_workflow(
        CredentialsReissueWorkflow.run,
        ReissueInput(
            reissue_id=reissue_id, uai=uai, account_id=account_id, guardian_id=guardian_id
        ),
        id=workflow_id(reissue_id),
        task_queue=get_settings().task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=TypedSearchAttributes(attributes),
        static_summary=summary(uai),
    )
    try:
        result = await asyncio.wait_for(handle.result(), RESULT_WAIT_S)
    except TimeoutError:
        result = ReissueResult(step=ReissueStep.ISSUING, account_id=account_id)
    if result.step == ReissueStep.REFUSED and result.refusal:
        raise DomainError(result.refusal)
    return reissue_id, result


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
    account, uai = await _account_school_in_scope(pool, member, account_id)
    code = reissue.refusal(account)
    if code is not None:
        await refuse_audited(
            pool, member, "account.credentials_reissue", "account", account_id, code
        )
    reissue_id, result = await _issue(pool, temporal, member, uai, body, account_id=account_id)
    return _view(reissue_id, result, account["email"])


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
    uai = await _school_in_scope(pool, member, pupil_id=None, guardian_id=guardian_id)
    if uai is None:
        await refuse_audited(
            pool,
            member,
            "account.staff_create",
            "guardian",
            guardian_id,
            ErrorCode.STAFF_GUARDIAN_NOT_FOUND,
        )
    if await pool.fetchval("SELECT 1 FROM accounts WHERE guardian_id = $1", guardian_id):
        await refuse_audited(
            pool,
            member,
            "account.staff_create",
            "guardian",
            guardian_id,
            ErrorCode.STAFF_ACCOUNT_EXISTS,
        )
    assert uai is not None  # refuse_audited raised
    reissue_id, result = await _issue(pool, temporal, member, uai, body, guardian_id=guardian_id)
    email = await pool.fetchval("SELECT email FROM guardians WHERE id = $1", guardian_id)
    return _view(reissue_id, result, email)


@router.get(
    "/credential-reissues/{reissue_id}",
    summary="Où en est la remise de nouveaux identifiants ?",
    response_model=ReissueView,
    responses={404: {"model": ErrorBody}},
)
async def reissue_status(reissue_id: ReissueId, member: Staff, pool: Pool) -> ReissueView:
    row = await _reissue_in_scope(pool, member, reissue_id, "account.credentials_reissue_status")
    step = ReissueStep.DONE if row["delivered_at"] is not None else ReissueStep.ISSUING
    result = ReissueResult(
        step=step,
        channel=row["channel"],
        account_id=row["account_id"],
        created=row["guardian_id"] is not None,
    )
    return _view(reissue_id, result, row["email"])


@router.get(
    "/credential-reissues/{reissue_id}/letter.pdf",
    summary="Le courrier des nouveaux identifiants provisoires (PDF)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, 404: {"model": ErrorBody}},
)
async def reissue_letter(reissue_id: ReissueId, member: Staff, pool: Pool) -> Response:
    action = "account.credentials_letter_download"
    row = await _reissue_in_scope(pool, member, reissue_id, action)
    if row["channel"] != "letter" or row["pdf"] is None:
        await refuse_audited(
            pool, member, action, "credential_reissue", reissue_id, ErrorCode.REISSUE_NO_LETTER
        )
    await pool.execute(
        "UPDATE credential_reissues SET downloaded_at = now() WHERE id = $1", reissue_id
    )
    await audit.record(pool, member.actor, "account.credentials_letter_download", "account", row["account_id"],
                       details={"reissue_id": str(reissue_id)})  # fmt: skip
    return pages.pdf_download(bytes(row["pdf"]), f"identifiants-{reissue_id}.pdf")


async def _reissue_in_scope(
    pool: asyncpg.Pool, member: StaffMember, reissue_id: uuid.UUID, action: str
) -> asyncpg.Record:
    row = await pool.fetchrow(
        """
        SELECT r.account_id, r.guardian_id, r.channel, r.pdf, r.delivered_at, a.email, s.uai, s.academie
        FROM credential_reissues r LEFT JOIN accounts a ON a.id = r.account_id JOIN schools s ON s.uai = r.uai
        WHERE r.id = $1
        """,
        reissue_id,
    )
    if row is None:
        await refuse_audited(
            pool, member, action, "credential_reissue", reissue_id, ErrorCode.REISSUE_NOT_FOUND
        )
    if not member.covers(row["uai"], row["academie"]):
        # Another school's letter answers like an unknown one; the log keeps why.
        await refuse_audited(pool, member, action, "credential_reissue", reissue_id, ErrorCode.STAFF_OUT_OF_SCOPE,
                             ErrorCode.REISSUE_NOT_FOUND, uai=row["uai"])  # fmt: skip
    return row
