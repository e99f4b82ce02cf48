"""The assistance form, family side (DESIGN §3.7, FAQ 6).

- "La date de naissance saisie est incorrecte": a guardian whose activation
  refused a birthdate asks for the correction of a child's birthdate. The
  request starts the workflow `birthdate-correction/<request-id>`, linked to
  the process it blocks; a second request for the same child while one is
  open joins the open one. The other blocked processes (SMS registration,
  FranceConnect first visit, pupil activation) file from their own routes;
  the form is `api.correction_form`, the filing `api.correction_filing`.
- The person follows the request and answers staff's questions.
- Anything else the FAQ sends to "le formulaire d'assistance académique" is
  kept as a ticket that staff read and answer.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Path, Request, status
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from temporalio.client import Client

from api.correction_filing import MESSAGE_MAX
from api.correction_form import (
    AnswerBody,
    ChildCorrectionRequest,
    Contact,
    CorrectionForm,
    CorrectionReceipt,
    Requester,
    RequestView,
    answer_staff,
    correction_form,
    file_correction,
    guardian_children,
    request_view,
)
from api.deps import ActivationSession, Pool, Temporal, request_client_ip
from api.errors import ErrorBody
from api.routers.activation import ASSISTANCE_URL, PROCESS
from api.web import paths
from educonnect import accounts, assistance_tickets, policies
from educonnect.account_management import admit_request
from educonnect.email_addresses import email_key, normalized_email
from educonnect.emails.corrections import reference
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.activation import ActivationStep
from educonnect.models.corrections import TICKET_CATEGORY_LABELS, TicketCategory
from educonnect.phones import e164_mobile
from workflows.activation import workflow_id as activation_workflow_id

router = APIRouter(prefix="/assistance", tags=["Assistance"])

CORRECTION_FORM_PATH = ASSISTANCE_URL.removeprefix(router.prefix)  # "/date-de-naissance"

RequestId = Annotated[uuid.UUID, Path(description="Identifiant de la demande")]


# --- the form behind "La date de naissance saisie est incorrecte" (guardian activation) ----


class CorrectionRequestBody(ChildCorrectionRequest):
    contact: Literal["email", "sms"] = Field(description="Être prévenu par email ou par SMS")
    email: str | None = Field(None, max_length=254, description="Par défaut : l'adresse connue")
    mobile: str | None = Field(
        None, max_length=32, description="Par défaut : le numéro connu de l'établissement"
    )


async def _guardian(pool: asyncpg.Pool, account_id: uuid.UUID) -> tuple[Requester, asyncpg.Record]:
    guardian = await accounts.guardian_of(pool, account_id)
    if guardian is None:  # a pupil's own account: /pupil-activation/correction is theirs
        raise DomainError(ErrorCode.CORRECTION_NOT_NEEDED)
    requester = Requester(
        process_id=activation_workflow_id(account_id),
        name=f"{guardian['first_name']} {guardian['last_name']}",
        children=await guardian_children(pool, guardian["id"]),
        account_id=account_id,
    )
    return requester, guardian


async def _blocked_activation(temporal: Client, account_id: uuid.UUID) -> None:
    """Refuse unless this account's activation refused a birthdate."""
    activation = await PROCESS.calls.status(temporal, account_id)
    failed_once = (
        activation.step == ActivationStep.PROFILE
        and activation.attempts_left < policies.BIRTHDATE_MAX_ATTEMPTS
    )
    if activation.step != ActivationStep.BIRTHDATE_BLOCKED and not failed_once:
        raise DomainError(ErrorCode.CORRECTION_NOT_NEEDED)


def _chosen_contact(body: CorrectionRequestBody, guardian: asyncpg.Record) -> Contact:
    if body.contact == "email":
        raw = body.email or guardian["account_email"] or guardian["email"]
        if not raw:
            raise DomainError(ErrorCode.CORRECTION_CONTACT_MISSING, [{"field": "email"}])
        return Contact("email", email=normalized_email(raw))
    raw = body.mobile or guardian["mobile"]
    if not raw:
        raise DomainError(ErrorCode.CORRECTION_CONTACT_MISSING, [{"field": "mobile"}])
    return Contact("sms", mobile=e164_mobile(raw))


async def guardian_form(pool: asyncpg.Pool, account_id: uuid.UUID) -> CorrectionForm:
    """The correction form of a guardian's activation: the children, the
    address and number on file (the JSON route and the page)."""
    requester, guardian = await _guardian(pool, account_id)
    return await correction_form(
        pool,
        requester,
        email_on_file=guardian["account_email"] or guardian["email"],
        mobile_on_file=guardian["mobile"],
    )


async def file_guardian_correction(
    pool: asyncpg.Pool, temporal: Client, account_id: uuid.UUID, body: CorrectionRequestBody
) -> CorrectionReceipt:
    """File (or join) a correction from a guardian's activation that refused a birthdate."""
    await _blocked_activation(temporal, account_id)
    requester, guardian = await _guardian(pool, account_id)
    return await file_correction(
        pool, temporal, requester, body.pupil_id, body, _chosen_contact(body, guardian)
    )


@router.get(
    CORRECTION_FORM_PATH,
    summary="Formulaire de demande de correction de date de naissance : enfants et coordonnées connues",
    response_model=CorrectionForm,
    responses={
        303: {"description": "Un navigateur (Accept: text/html) : vers la page du formulaire"}
    },
)
async def guardian_correction_form(
    request: Request, session: ActivationSession, pool: Pool
) -> CorrectionForm | RedirectResponse:
    if "text/html" in request.headers.get("accept", ""):  # a browser: the form's page
        return RedirectResponse(paths.ASSISTANCE_CORRECTION, status_code=303)
    return await guardian_form(pool, session.account_id)


@router.post(
    CORRECTION_FORM_PATH,
    summary="Demander la correction de la date de naissance d'un enfant",
    status_code=status.HTTP_201_CREATED,
    response_model=CorrectionReceipt,
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def request_correction(
    body: CorrectionRequestBody, session: ActivationSession, pool: Pool, temporal: Temporal
) -> CorrectionReceipt:
    return await file_guardian_correction(pool, temporal, session.account_id, body)


# --- following a request ------------------------------------------------------------------


@router.get(
    "/requests/{request_id}",
    summary="Où en est ma demande de correction ?",
    response_model=RequestView,
    responses={404: {"model": ErrorBody}},
)
async def request_status(
    request_id: RequestId, session: ActivationSession, pool: Pool
) -> RequestView:
    return await request_view(pool, request_id, activation_workflow_id(session.account_id))


@router.post(
    "/requests/{request_id}/answer",
    summary="Répondre à une demande d'informations de l'établissement",
    response_model=RequestView,
    status_code=status.HTTP_202_ACCEPTED,
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
async def answer_request(
    request_id: RequestId,
    body: AnswerBody,
    session: ActivationSession,
    pool: Pool,
    temporal: Temporal,
) -> RequestView:
    return await answer_staff(
        pool, temporal, request_id, activation_workflow_id(session.account_id), body
    )


# --- other assistance requests: tickets -----------------------------------------------------


class Category(BaseModel):
    code: TicketCategory
    label: str


class TicketBody(BaseModel):
    last_name: str = Field(min_length=1, max_length=100)
    first_name: str = Field(min_length=1, max_length=100)
    email: str = Field(max_length=254, description="Adresse où recevoir la réponse")
    category: TicketCategory
    message: str = Field(min_length=1, max_length=MESSAGE_MAX)
    uai: str | None = Field(
        None, max_length=8, description="Code UAI de l'établissement de l'enfant, si connu"
    )
    academie: str | None = Field(
        None, max_length=60, description="Académie, si le code UAI n'est pas connu"
    )


class TicketReceipt(BaseModel):
    ticket_id: uuid.UUID
    reference: str
    message: str


@router.get(
    "/categories",
    summary="Sujets du formulaire d'assistance académique",
    response_model=list[Category],
)
async def categories() -> list[Category]:
    return [Category(code=c, label=TICKET_CATEGORY_LABELS[c]) for c in TicketCategory]


@router.post(
    "/tickets",
    summary="Formulaire d'assistance académique (toute autre demande)",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketReceipt,
    responses={422: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
async def open_ticket(body: TicketBody, request: Request, pool: Pool) -> TicketReceipt:
    return await file_ticket(pool, body, request_client_ip(request))


async def file_ticket(pool: asyncpg.Pool, body: TicketBody, client_ip: str) -> TicketReceipt:
    """A ticket for the académie's assistance (the JSON route and the page)."""
    email = normalized_email(body.email)
    names = {
        "last_name": body.last_name.strip(),
        "first_name": body.first_name.strip(),
        "message": body.message.strip(),
    }
    empty = [
        {"field": f, "message": "Ce champ est obligatoire."} for f, v in names.items() if not v
    ]
    if empty:
        raise DomainError(ErrorCode.INVALID_INPUT, empty)
    uai = body.uai.strip().upper() if body.uai and body.uai.strip() else None
    if uai:
        academie = await assistance_tickets.school_academie(pool, uai)
        if academie is None:
            raise DomainError(ErrorCode.ASSISTANCE_SCHOOL_UNKNOWN, [{"field": "uai"}])
    else:
        wanted = (body.academie or "").strip()
        academie = await assistance_tickets.academie_named(pool, wanted) if wanted else None
        if academie is None:
            raise DomainError(ErrorCode.ASSISTANCE_ACADEMIE_UNKNOWN, [{"field": "academie"}])
    # Anyone may write, without a session: a few tickets per address and per
    # connection reach the staff's queue, not a flood (a mistyped school is not counted).
    counters = [("ticket_email", email_key(email)), ("ticket_ip", client_ip)]
    await admit_request(pool, counters, refusal=ErrorCode.TICKETS_RATE_LIMITED)
    ticket_id = uuid.uuid4()
    await assistance_tickets.open_ticket(
        pool,
        ticket_id,
        last_name=names["last_name"],
        first_name=names["first_name"],
        email=email,
        category=body.category.value,
        message=names["message"],
        uai=uai,
        academie=academie,
    )
    return TicketReceipt(
        ticket_id=ticket_id,
        reference=reference(ticket_id),
        message=(
            "Votre demande a bien été transmise à l'assistance académique. "
            f"La réponse vous sera envoyée à l'adresse {email}."
        ),
    )
