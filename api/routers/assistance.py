"""The assistance form, family side (DESIGN §3.7, FAQ 6).

- "La date de naissance saisie est incorrecte": the person asks for the
  correction of a child's birthdate. The request starts the workflow
  `birthdate-correction/<request-id>`, linked to the process it blocks; a
  second request for the same child while one is open joins the open one.
- The person follows the request and answers staff's questions.
- Anything else the FAQ sends to "le formulaire d'assistance académique" is
  kept as a ticket that staff read and answer.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

import asyncpg
from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Path, status
from pydantic import BaseModel, Field
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import ActivationSession, Pool, Temporal
from api.errors import ErrorBody
from api.routers.activation import ASSISTANCE_URL
from educonnect import audit, policies
from educonnect.emails.corrections import reference
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.activation import ActivationStep
from educonnect.models.corrections import (
    OPEN_STEPS,
    STEP_LABELS,
    TICKET_CATEGORY_LABELS,
    CorrectionInput,
    CorrectionStep,
    InformationReceived,
    ParticipantJoined,
    TicketCategory,
)
from educonnect.phones import e164_mobile
from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP, SCHOOL_UAI
from educonnect.settings import get_settings
from workflows.activation import ActivationWorkflow
from workflows.activation import workflow_id as activation_workflow_id
from workflows.birthdate_correction import BirthdateCorrectionWorkflow, summary
from workflows.birthdate_correction import workflow_id as correction_workflow_id

log = logging.getLogger(__name__)

router = APIRouter(prefix="/assistance", tags=["Assistance"])

CORRECTION_FORM_PATH = ASSISTANCE_URL.removeprefix(router.prefix)  # "/date-de-naissance"
MESSAGE_MAX = 2000
OLDEST_PUPIL = timedelta(days=366 * 30)

RequestId = Annotated[uuid.UUID, Path(description="Identifiant de la demande")]


# --- filing a correction (reusable by every process that checks a birthdate) ------------


@dataclass(frozen=True)
class Filing:
    """A correction request, once the caller has checked who asks and for which child."""

    pupil_id: uuid.UUID
    proposed_birthdate: date
    message: str
    requester_name: str
    contact_channel: str  # 'email' | 'sms'
    contact_email: str | None
    contact_mobile: str | None
    blocked_process_id: str  # e.g. activation/<account-id>, sms-registration/<uuid>
    account_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Filed:
    request_id: uuid.UUID
    joined: bool  # an open request for the same child existed: this one joined it
    status: CorrectionStep


async def file_birthdate_correction(pool: asyncpg.Pool, temporal: Client, filing: Filing) -> Filed:
    """Record the request (or join the child's open one) and start (or signal)
    its workflow. Safe to call again: the person's blocked process takes part
    in a request once."""
    for _ in range(3):
        try:
            filed, uai, academie, participant_id, first_account = await _record_filing(pool, filing)
            break
        except asyncpg.UniqueViolationError:  # a concurrent filing opened the child's request first
            continue
    else:  # pragma: no cover - three races in a row
        raise DomainError(ErrorCode.SERVICE_UNAVAILABLE)

    params = CorrectionInput(
        request_id=filed.request_id, pupil_id=filing.pupil_id, uai=uai, academie=academie, account_id=first_account
    )
    attributes = [SearchAttributePair(PROCESS_STEP, CorrectionStep.AWAITING_REVIEW.value)]
    attributes.append(SearchAttributePair(SCHOOL_UAI, [uai]))
    if first_account is not None:
        attributes.append(SearchAttributePair(ACCOUNT_ID, str(first_account)))
    extra = {}
    if filed.joined:
        # Signal-with-start: also starts the workflow if an earlier start never reached Temporal.
        extra = dict(
            start_signal="participant_joined",
            start_signal_args=[ParticipantJoined(participant_id=participant_id)],
        )
    try:
        await temporal.start_workflow(
            BirthdateCorrectionWorkflow.run,
            params,
            id=correction_workflow_id(filed.request_id),
            task_queue=get_settings().task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(attributes),
            static_summary=summary(uai, academie),
            **extra,
        )
    except WorkflowAlreadyStartedError:
        # The request closed meanwhile; the participant was recorded before it
        # closed, so its decision reaches this person too.
        log.info("correction %s closed while %s joined", filed.request_id, filing.blocked_process_id)
    return filed


async def _record_filing(pool: asyncpg.Pool, filing: Filing):
    async with pool.acquire() as conn, conn.transaction():
        school = await conn.fetchrow(
            "SELECT p.uai, s.academie FROM pupils p JOIN schools s ON s.uai = p.uai WHERE p.id = $1", filing.pupil_id
        )
        if school is None:
            raise DomainError(ErrorCode.CORRECTION_PUPIL_UNKNOWN)
        open_request = await conn.fetchrow(
            "SELECT id, uai, academie, status FROM correction_requests WHERE pupil_id = $1 AND closed_at IS NULL "
            "FOR UPDATE",
            filing.pupil_id,
        )
        if open_request is None:
            request_id, joined, status_ = uuid.uuid4(), False, CorrectionStep.AWAITING_REVIEW
            uai, academie = school["uai"], school["academie"]
            await conn.execute(
                "INSERT INTO correction_requests (id, pupil_id, uai, academie, proposed_birthdate) "
                "VALUES ($1, $2, $3, $4, $5)",
                request_id,
                filing.pupil_id,
                uai,
                academie,
                filing.proposed_birthdate,
            )
        else:
            request_id, joined = open_request["id"], True
            status_ = CorrectionStep(open_request["status"])
            uai, academie = open_request["uai"], open_request["academie"]
        participant_id = await conn.fetchval(
            """
            INSERT INTO correction_participants (id, request_id, account_id, blocked_process_id, requester_name,
                                                 contact_channel, contact_email, contact_mobile)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (request_id, blocked_process_id) DO UPDATE
                SET contact_channel = excluded.contact_channel, contact_email = excluded.contact_email,
                    contact_mobile = excluded.contact_mobile
            RETURNING id
            """,
            uuid.uuid4(),
            request_id,
            filing.account_id,
            filing.blocked_process_id,
            filing.requester_name,
            filing.contact_channel,
            filing.contact_email,
            filing.contact_mobile,
        )
        await conn.execute(
            "INSERT INTO correction_messages (id, request_id, kind, participant_id, body) "
            "VALUES ($1, $2, 'request', $3, $4)",
            uuid.uuid4(),
            request_id,
            participant_id,
            _proposal_text(filing),
        )
        first_account = await conn.fetchval(
            "SELECT account_id FROM correction_participants WHERE request_id = $1 ORDER BY created_at, id LIMIT 1",
            request_id,
        )
        await audit.record(
            conn,
            audit.Actor("family", filing.account_id, filing.requester_name),
            "correction.joined" if joined else "correction.filed",
            "correction_request",
            request_id,
            details={"blocked_process_id": filing.blocked_process_id, "contact_channel": filing.contact_channel},
        )
    return Filed(request_id, joined, status_), uai, academie, participant_id, first_account


def _proposal_text(filing: Filing) -> str:
    return f"Date de naissance proposée : {filing.proposed_birthdate:%d/%m/%Y}\n\n{filing.message}"


# --- contact details ----------------------------------------------------------------------


def normalized_email(address: str) -> str:
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise DomainError(ErrorCode.EMAIL_INVALID, [{"field": "email"}]) from None


def check_plausible_birthdate(value: date, field: str) -> None:
    today = date.today()
    if value > today or value < today - OLDEST_PUPIL:
        raise DomainError(ErrorCode.CORRECTION_DATE_INVALID, [{"field": field}])


# --- the form behind "La date de naissance saisie est incorrecte" ---------------------------


class Child(BaseModel):
    pupil_id: uuid.UUID
    first_name: str
    last_name: str
    school_name: str


class OpenRequest(BaseModel):
    request_id: uuid.UUID
    reference: str
    status: CorrectionStep
    status_label: str


class CorrectionForm(BaseModel):
    children: list[Child]
    email_on_file: str | None = None
    mobile_on_file: str | None = Field(None, description="Numéro connu de l'établissement, masqué")
    requests: list[OpenRequest] = []


class CorrectionRequestBody(BaseModel):
    pupil_id: uuid.UUID = Field(description="L'enfant concerné, parmi ceux rattachés au compte")
    proposed_birthdate: date = Field(description="La date de naissance que vous pensez exacte (AAAA-MM-JJ)")
    message: str = Field(min_length=1, max_length=MESSAGE_MAX, description="Votre message à l'établissement")
    contact: Literal["email", "sms"] = Field(description="Être prévenu par email ou par SMS")
    email: str | None = Field(None, max_length=254, description="Par défaut : l'adresse connue")
    mobile: str | None = Field(None, max_length=32, description="Par défaut : le numéro connu de l'établissement")


class CorrectionReceipt(BaseModel):
    request_id: uuid.UUID
    reference: str
    joined: bool
    status: CorrectionStep
    status_label: str
    message: str


async def _family(pool: asyncpg.Pool, account_id: uuid.UUID) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
    guardian = await pool.fetchrow(
        "SELECT a.email AS account_email, g.first_name, g.last_name, g.email, g.mobile "
        "FROM accounts a JOIN guardians g ON g.id = a.guardian_id WHERE a.id = $1",
        account_id,
    )
    if guardian is None:  # a pupil's own account: the pupil activation process has its own path
        raise DomainError(ErrorCode.CORRECTION_NOT_NEEDED)
    children = await pool.fetch(
        """
        SELECT p.id, p.first_name, p.last_name, s.name AS school_name
        FROM accounts a JOIN guardian_pupils gp ON gp.guardian_id = a.guardian_id
        JOIN pupils p ON p.id = gp.pupil_id JOIN schools s ON s.uai = p.uai
        WHERE a.id = $1 ORDER BY p.first_name, p.id
        """,
        account_id,
    )
    return guardian, children


def _masked(mobile: str | None) -> str | None:
    return f"{mobile[:4]}{'•' * (len(mobile) - 6)}{mobile[-2:]}" if mobile else None


async def _requests_of(pool: asyncpg.Pool, account_id: uuid.UUID) -> list[OpenRequest]:
    rows = await pool.fetch(
        "SELECT DISTINCT r.id, r.status, r.created_at FROM correction_requests r "
        "JOIN correction_participants cp ON cp.request_id = r.id WHERE cp.account_id = $1 ORDER BY r.created_at",
        account_id,
    )
    return [
        OpenRequest(
            request_id=r["id"],
            reference=reference(r["id"]),
            status=CorrectionStep(r["status"]),
            status_label=STEP_LABELS[CorrectionStep(r["status"])],
        )
        for r in rows
    ]


async def _blocked_activation(temporal: Client, account_id: uuid.UUID) -> None:
    """Refuse unless this account's activation refused a birthdate."""
    handle = temporal.get_workflow_handle_for(ActivationWorkflow.run, activation_workflow_id(account_id))
    try:
        activation = await handle.query(ActivationWorkflow.status)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise DomainError(ErrorCode.PROCESS_NOT_FOUND) from None
        raise
    failed_once = activation.step == ActivationStep.PROFILE and activation.attempts_left < policies.BIRTHDATE_MAX_ATTEMPTS
    if activation.step != ActivationStep.BIRTHDATE_BLOCKED and not failed_once:
        raise DomainError(ErrorCode.CORRECTION_NOT_NEEDED)


@router.get(
    CORRECTION_FORM_PATH,
    summary="Formulaire de demande de correction de date de naissance : enfants et coordonnées connues",
    response_model=CorrectionForm,
)
async def correction_form(session: ActivationSession, pool: Pool) -> CorrectionForm:
    guardian, children = await _family(pool, session.account_id)
    return CorrectionForm(
        children=[
            Child(pupil_id=c["id"], first_name=c["first_name"], last_name=c["last_name"], school_name=c["school_name"])
            for c in children
        ],
        email_on_file=guardian["account_email"] or guardian["email"],
        mobile_on_file=_masked(guardian["mobile"]),
        requests=await _requests_of(pool, session.account_id),
    )


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
    await _blocked_activation(temporal, session.account_id)
    guardian, children = await _family(pool, session.account_id)
    if body.pupil_id not in {c["id"] for c in children}:
        raise DomainError(ErrorCode.CORRECTION_PUPIL_UNKNOWN, [{"field": "pupil_id"}])
    check_plausible_birthdate(body.proposed_birthdate, "proposed_birthdate")
    message = body.message.strip()
    if not message:
        raise DomainError(ErrorCode.INVALID_INPUT, [{"field": "message", "message": "Ce champ est obligatoire."}])
    email = mobile = None
    if body.contact == "email":
        raw = body.email or guardian["account_email"] or guardian["email"]
        if not raw:
            raise DomainError(ErrorCode.CORRECTION_CONTACT_MISSING, [{"field": "email"}])
        email = normalized_email(raw)
    else:
        raw = body.mobile or guardian["mobile"]
        if not raw:
            raise DomainError(ErrorCode.CORRECTION_CONTACT_MISSING, [{"field": "mobile"}])
        mobile = e164_mobile(raw)

    filed = await file_birthdate_correction(
        pool,
        temporal,
        Filing(
            pupil_id=body.pupil_id,
            proposed_birthdate=body.proposed_birthdate,
            message=message,
            requester_name=f"{guardian['first_name']} {guardian['last_name']}",
            contact_channel=body.contact,
            contact_email=email,
            contact_mobile=mobile,
            blocked_process_id=activation_workflow_id(session.account_id),
            account_id=session.account_id,
        ),
    )
    how = "par email" if body.contact == "email" else "par SMS"
    text = (
        "Une demande est déjà en cours pour cet enfant : la vôtre y a été ajoutée. "
        if filed.joined
        else "Votre demande de correction a bien été transmise à l'établissement. "
    ) + f"Vous serez prévenu {how} de la décision ; vous pourrez alors reprendre l'activation de votre compte."
    return CorrectionReceipt(
        request_id=filed.request_id,
        reference=reference(filed.request_id),
        joined=filed.joined,
        status=filed.status,
        status_label=STEP_LABELS[filed.status],
        message=text,
    )


# --- following a request ------------------------------------------------------------------


class Exchange(BaseModel):
    at: datetime
    author: str  # "Vous" | "Un autre responsable" | "L'établissement"
    kind: str  # request | question | answer | reason
    text: str


class RequestView(BaseModel):
    request_id: uuid.UUID
    reference: str
    status: CorrectionStep
    status_label: str
    child_first_name: str
    proposed_birthdate: date
    created_at: datetime
    closed_at: datetime | None = None
    corrected_birthdate: date | None = None
    reason: str | None = None  # when rejected
    question: str | None = None  # when information is awaited
    exchanges: list[Exchange]


class AnswerBody(BaseModel):
    message: str = Field(min_length=1, max_length=MESSAGE_MAX)


async def _participant(pool: asyncpg.Pool, request_id: uuid.UUID, account_id: uuid.UUID) -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT id, requester_name FROM correction_participants WHERE request_id = $1 AND account_id = $2 "
        "ORDER BY created_at LIMIT 1",
        request_id,
        account_id,
    )
    if row is None:  # unknown, or someone else's: the same answer
        raise DomainError(ErrorCode.CORRECTION_NOT_FOUND)
    return row


async def _request_view(pool: asyncpg.Pool, request_id: uuid.UUID, account_id: uuid.UUID) -> RequestView:
    row = await pool.fetchrow(
        "SELECT r.*, p.first_name FROM correction_requests r JOIN pupils p ON p.id = r.pupil_id WHERE r.id = $1",
        request_id,
    )
    messages = await pool.fetch(
        """
        SELECT m.created_at, m.kind, m.body, m.staff_id, cp.account_id
        FROM correction_messages m LEFT JOIN correction_participants cp ON cp.id = m.participant_id
        WHERE m.request_id = $1 ORDER BY m.created_at, m.id
        """,
        request_id,
    )
    step = CorrectionStep(row["status"])

    def author(m) -> str:
        if m["staff_id"] is not None:
            return "L'établissement"
        return "Vous" if m["account_id"] == account_id else "Un autre responsable"

    exchanges = [Exchange(at=m["created_at"], author=author(m), kind=m["kind"], text=m["body"]) for m in messages]
    reasons = [m["body"] for m in messages if m["kind"] == "reason"]
    questions = [m["body"] for m in messages if m["kind"] == "question"]
    return RequestView(
        request_id=row["id"],
        reference=reference(row["id"]),
        status=step,
        status_label=STEP_LABELS[step],
        child_first_name=row["first_name"],
        proposed_birthdate=row["proposed_birthdate"],
        created_at=row["created_at"],
        closed_at=row["closed_at"],
        corrected_birthdate=row["corrected_birthdate"] if step == CorrectionStep.APPROVED else None,
        reason=reasons[-1] if step == CorrectionStep.REJECTED and reasons else None,
        question=questions[-1] if step == CorrectionStep.AWAITING_INFORMATION and questions else None,
        exchanges=exchanges,
    )


@router.get(
    "/requests/{request_id}",
    summary="Où en est ma demande de correction ?",
    response_model=RequestView,
    responses={404: {"model": ErrorBody}},
)
async def request_status(request_id: RequestId, session: ActivationSession, pool: Pool) -> RequestView:
    await _participant(pool, request_id, session.account_id)
    return await _request_view(pool, request_id, session.account_id)


@router.post(
    "/requests/{request_id}/answer",
    summary="Répondre à une demande d'informations de l'établissement",
    response_model=RequestView,
    status_code=status.HTTP_202_ACCEPTED,
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
async def answer_request(
    request_id: RequestId, body: AnswerBody, session: ActivationSession, pool: Pool, temporal: Temporal
) -> RequestView:
    participant = await _participant(pool, request_id, session.account_id)
    text = body.message.strip()
    if not text:
        raise DomainError(ErrorCode.INVALID_INPUT, [{"field": "message", "message": "Ce champ est obligatoire."}])
    current = await pool.fetchval("SELECT status FROM correction_requests WHERE id = $1", request_id)
    if current != CorrectionStep.AWAITING_INFORMATION:
        closed = current not in OPEN_STEPS
        raise DomainError(ErrorCode.CORRECTION_CLOSED if closed else ErrorCode.CORRECTION_NOT_AWAITING_INFORMATION)
    message_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO correction_messages (id, request_id, kind, participant_id, body) VALUES ($1, $2, 'answer', $3, $4)",
            message_id,
            request_id,
            participant["id"],
            text,
        )
        await audit.record(
            conn, audit.Actor("family", session.account_id, participant["requester_name"]), "correction.answered",
            "correction_request", request_id, details={"message_id": str(message_id)},
        )  # fmt: skip
    handle = temporal.get_workflow_handle_for(BirthdateCorrectionWorkflow.run, correction_workflow_id(request_id))
    try:
        await handle.signal(BirthdateCorrectionWorkflow.information_received, InformationReceived(message_id=message_id))
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise DomainError(ErrorCode.CORRECTION_CLOSED) from None
        raise
    return await _request_view(pool, request_id, session.account_id)



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
    uai: str | None = Field(None, max_length=8, description="Code UAI de l'établissement de l'enfant, si connu")
    academie: str | None = Field(None, max_length=60, description="Académie, si le code UAI n'est pas connu")


class TicketReceipt(BaseModel):
    ticket_id: uuid.UUID
    reference: str
    message: str


@router.get("/categories", summary="Sujets du formulaire d'assistance académique", response_model=list[Category])
async def categories() -> list[Category]:
    return [Category(code=c, label=TICKET_CATEGORY_LABELS[c]) for c in TicketCategory]


@router.post(
    "/tickets",
    summary="Formulaire d'assistance académique (toute autre demande)",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketReceipt,
    responses={422: {"model": ErrorBody}},
)
async def open_ticket(body: TicketBody, pool: Pool) -> TicketReceipt:
    email = normalized_email(body.email)
    names = {"last_name": body.last_name.strip(), "first_name": body.first_name.strip(), "message": body.message.strip()}
    empty = [{"field": f, "message": "Ce champ est obligatoire."} for f, v in names.items() if not v]
    if empty:
        raise DomainError(ErrorCode.INVALID_INPUT, empty)
    uai = body.uai.strip().upper() if body.uai and body.uai.strip() else None
    if uai:
        academie = await pool.fetchval("SELECT academie FROM schools WHERE uai = $1", uai)
        if academie is None:
            raise DomainError(ErrorCode.ASSISTANCE_SCHOOL_UNKNOWN, [{"field": "uai"}])
    else:
        wanted = (body.academie or "").strip()
        academie = await pool.fetchval(
            "SELECT academie FROM schools WHERE lower(academie) = lower($1) LIMIT 1", wanted
        ) if wanted else None  # fmt: skip
        if academie is None:
            raise DomainError(ErrorCode.ASSISTANCE_ACADEMIE_UNKNOWN, [{"field": "academie"}])
    ticket_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO assistance_tickets (id, last_name, first_name, email, category, message, uai, academie) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        ticket_id,
        names["last_name"],
        names["first_name"],
        email,
        body.category.value,
        names["message"],
        uai,
        academie,
    )
    return TicketReceipt(
        ticket_id=ticket_id,
        reference=reference(ticket_id),
        message=(
            "Votre demande a bien été transmise à l'assistance académique. "
            f"La réponse vous sera envoyée à l'adresse {email}."
        ),
    )
