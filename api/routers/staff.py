"""The staff API (DESIGN §2, §3.7, §4): school administrators (one school) and
académie support (one académie).

Staff sign in here, separately from families (own sessions, own cookie),
then work the queue of birthdate corrections in their scope (pending first,
oldest first), read a request's full history, approve / reject / ask for
information, and read and answer assistance tickets. Every action, accepted
or refused, is written to the append-only audit log.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Cookie, Depends, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.corrections import send_email_once
from api.correction_filing import MESSAGE_MAX, check_plausible_birthdate
from api.deps import Pool, Temporal, request_client_ip
from api.errors import ErrorBody
from educonnect import audit, policies, staff_decisions
from educonnect import staff as staff_accounts
from educonnect.blocked_processes import blocked_process
from educonnect.emails import corrections as correction_emails
from educonnect.emails.corrections import reference
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.corrections import (
    ROLE_LABELS,
    STEP_LABELS,
    TICKET_CATEGORY_LABELS,
    CorrectionStatus,
    CorrectionStep,
    DecisionKind,
    DecisionOutcome,
    StaffDecision,
    StaffRole,
    TicketCategory,
    TimelineEvent,
    filed_label,
)
from educonnect.settings import get_settings
from educonnect.staff import StaffMember
from workflows.birthdate_correction import BirthdateCorrectionWorkflow, workflow_id

router = APIRouter(prefix="/staff", tags=["Personnel : corrections et assistance"])

STAFF_COOKIE = "educonnect_staff_session"
DECISION_WAIT_S = 10.0
QUEUE_LIMIT = 500

# A pupil without an address asked: nothing is sent to them, staff tell them.
_PUPIL_NOT_TOLD = (
    "L'élève qui a fait la demande n'a pas d'adresse électronique : prévenez-le vous-même"
)
_PUPIL_NOTICES = {
    DecisionKind.APPROVE: f"Demande acceptée : la date de naissance est corrigée. {_PUPIL_NOT_TOLD}.",
    DecisionKind.REJECT: f"Demande refusée. {_PUPIL_NOT_TOLD}, avec le motif.",
    DecisionKind.ASK_INFORMATION: (
        f"Votre question est enregistrée. {_PUPIL_NOT_TOLD} ; il pourra répondre en se connectant à EduConnect."
    ),
}

RequestId = Annotated[uuid.UUID, Path(description="Identifiant de la demande de correction")]
TicketId = Annotated[uuid.UUID, Path(description="Identifiant de la demande d'assistance")]


async def current_staff(
    pool: Pool, educonnect_staff_session: Annotated[str | None, Cookie()] = None
) -> StaffMember:
    member = (
        await staff_accounts.find_session(pool, educonnect_staff_session)
        if educonnect_staff_session
        else None
    )
    if member is None:
        raise DomainError(ErrorCode.STAFF_SESSION_REQUIRED)
    return member


Staff = Annotated[StaffMember, Depends(current_staff)]


async def refuse_audited(
    pool, member: StaffMember, action: str, target_kind: str, target_id, code: ErrorCode,
    answer: ErrorCode | None = None, **details,
):  # fmt: skip
    """Audit a refused staff action, then refuse it with its stable code.

    `answer`: the code the staff member gets when it is not the audited one;
    something out of scope answers like something unknown (staff learn
    nothing about other schools' families), the log keeps the real reason."""
    await audit.record(
        pool,
        member.actor,
        action,
        target_kind,
        target_id,
        outcome=audit.REFUSED,
        details={"code": code.value, **details},
    )
    raise DomainError(answer or code)


# --- signing in ---------------------------------------------------------------------------


class SignInBody(BaseModel):
    login: str = Field(
        min_length=1, max_length=254, description="Identifiant du personnel (adresse académique)"
    )
    password: str = Field(min_length=1, max_length=256)


class StaffView(BaseModel):
    login: str
    display_name: str
    role: StaffRole
    role_label: str
    uai: str | None = None
    academie: str
    scope_label: str


class SignedIn(StaffView):
    message: str


class PasswordChangeBody(BaseModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)
    new_password_confirmation: str = Field(min_length=1, max_length=256)


def _staff_view(member: StaffMember) -> dict[str, Any]:
    scope = (
        f"établissement {member.uai}"
        if member.role == StaffRole.SCHOOL_ADMIN
        else f"académie de {member.academie}"
    )
    return dict(
        login=member.login,
        display_name=member.display_name,
        role=member.role,
        role_label=ROLE_LABELS[member.role],
        uai=member.uai,
        academie=member.academie,
        scope_label=scope,
    )


@router.post(
    "/sign-in",
    summary="Connexion du personnel (administrateur d'établissement, assistance académique)",
    response_model=SignedIn,
    responses={401: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
async def sign_in(body: SignInBody, request: Request, response: Response, pool: Pool) -> SignedIn:
    member = await staff_accounts.authenticate(
        pool, body.login, body.password, request_client_ip(request)
    )
    token = await staff_accounts.open_session(pool, member.id)
    response.set_cookie(
        STAFF_COOKIE,
        token,
        max_age=int(policies.STAFF_SESSION_TTL.total_seconds()),
        httponly=True,
        secure=get_settings().secure_cookies,
        samesite="strict",
        path="/staff",
    )
    return SignedIn(**_staff_view(member), message="Vous êtes connecté.")


@router.post(
    "/sign-out", summary="Déconnexion du personnel", status_code=status.HTTP_204_NO_CONTENT
)
async def sign_out(
    member: Staff, pool: Pool, educonnect_staff_session: Annotated[str | None, Cookie()] = None
) -> Response:
    if educonnect_staff_session:
        await staff_accounts.revoke_session(pool, educonnect_staff_session)
    await audit.record(pool, member.actor, "staff.sign_out", "staff_account", member.id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(STAFF_COOKIE, path="/staff", httponly=True, samesite="strict")
    return response


@router.get("/me", summary="Mon compte et mon périmètre", response_model=StaffView)
async def me(member: Staff) -> StaffView:
    return StaffView(**_staff_view(member))


@router.post(
    "/password",
    summary="Changer mon mot de passe (12 caractères au moins : minuscule, majuscule, chiffre, caractère spécial)",
    description="Mes autres sessions (autres navigateurs, autres postes) sont fermées.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={401: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def change_password(
    body: PasswordChangeBody,
    member: Staff,
    pool: Pool,
    educonnect_staff_session: Annotated[str | None, Cookie()] = None,
) -> Response:
    if body.new_password != body.new_password_confirmation:
        raise DomainError(ErrorCode.PASSWORD_MISMATCH, [{"field": "new_password_confirmation"}])
    await staff_accounts.change_password(
        pool,
        member,
        body.current_password,
        body.new_password,
        keep_session=educonnect_staff_session,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- the queue of birthdate corrections ------------------------------------------------------


class QueueItem(BaseModel):
    request_id: uuid.UUID
    reference: str
    status: CorrectionStep
    status_label: str
    waiting_on_staff: bool
    escalated: bool
    created_at: datetime
    updated_at: datetime
    pupil_first_name: str
    pupil_last_name: str
    class_name: str
    uai: str
    school_name: str
    proposed_birthdate: date
    requesters: int


_QUEUE_ORDER = (
    "CASE WHEN r.status IN ('awaiting_review', 'escalated') THEN 0 "
    "WHEN r.status = 'awaiting_information' THEN 1 ELSE 2 END, r.created_at, r.id"
)


@router.get(
    "/requests",
    summary="Demandes de correction de mon périmètre (en attente d'abord, les plus anciennes d'abord)",
    response_model=list[QueueItem],
)
async def queue(
    member: Staff,
    pool: Pool,
    etat: Annotated[CorrectionStep | None, Query(description="Filtrer sur une étape")] = None,
    limite: Annotated[int, Query(ge=1, le=QUEUE_LIMIT)] = 100,
) -> list[QueueItem]:
    scope, value = member.scope_sql("r.uai", "r.academie")
    rows = await pool.fetch(
        f"""
        SELECT r.id, r.status, r.escalated, r.created_at, r.updated_at, r.proposed_birthdate, r.uai,
               s.name AS school_name, p.first_name, p.last_name, p.class_name,
               (SELECT count(*) FROM correction_participants cp WHERE cp.request_id = r.id) AS requesters
        FROM correction_requests r JOIN pupils p ON p.id = r.pupil_id JOIN schools s ON s.uai = r.uai
        WHERE {scope} AND ($2::text IS NULL OR r.status = $2)
        ORDER BY {_QUEUE_ORDER} LIMIT $3
        """,
        value,
        etat.value if etat else None,
        limite,
    )
    await audit.record(
        pool, member.actor, "correction.list", "staff_scope", member.uai or member.academie,
        details={"count": len(rows), "etat": etat.value if etat else None},
    )  # fmt: skip
    return [
        QueueItem(
            request_id=r["id"],
            reference=reference(r["id"]),
            status=CorrectionStep(r["status"]),
            status_label=STEP_LABELS[CorrectionStep(r["status"])],
            waiting_on_staff=r["status"] in ("awaiting_review", "escalated"),
            escalated=r["escalated"],
            created_at=r["created_at"],
            updated_at=r["updated_at"],
            pupil_first_name=r["first_name"],
            pupil_last_name=r["last_name"],
            class_name=r["class_name"],
            uai=r["uai"],
            school_name=r["school_name"],
            proposed_birthdate=r["proposed_birthdate"],
            requesters=r["requesters"],
        )
        for r in rows
    ]


class PupilRecord(BaseModel):
    pupil_id: uuid.UUID
    first_name: str
    last_name: str
    class_name: str
    level: str
    uai: str
    school_name: str
    birthdate_on_record: date


class Requester(BaseModel):
    name: str
    contact_channel: str  # email | sms | school (a pupil without an address: staff tell them)
    contact: str  # the address, the number, or what staff have to do
    blocked_process_id: str
    process_label: str  # where the request comes from
    account_identifier: str | None = (
        None  # the requester's account, if any (e.g. to give new credentials)
    )
    filed_at: datetime


class Message(BaseModel):
    at: datetime
    kind: str  # request | question | answer | reason
    author: str
    text: str


class AuditEntry(BaseModel):
    at: datetime
    actor: str
    action: str
    outcome: str
    details: dict[str, Any]


class ProcessView(BaseModel):
    step: CorrectionStep
    step_label: str
    reminded: bool
    escalated: bool
    reminder_due_at: datetime | None = None
    escalation_due_at: datetime | None = None
    closes_at: datetime
    timeline: list[TimelineEvent]


class RequestDetail(BaseModel):
    request_id: uuid.UUID
    reference: str
    status: CorrectionStep
    status_label: str
    escalated: bool
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    pupil: PupilRecord
    proposed_birthdate: date
    corrected_birthdate: date | None = None
    previous_birthdate: date | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    requesters: list[Requester]
    messages: list[Message]
    process: ProcessView | None = Field(
        None, description="Le workflow Temporal (absent s'il ne répond pas)"
    )
    audit: list[AuditEntry]
    notice: str | None = None
    school_informs: str | None = Field(
        None,
        description="Un élève sans adresse électronique a fait la demande : à prévenir par l'établissement",
    )


async def _request_in_scope(
    pool: asyncpg.Pool, member: StaffMember, request_id: uuid.UUID, action: str
):
    row = await pool.fetchrow(
        """
        SELECT r.*, p.first_name, p.last_name, p.class_name, p.level, p.birthdate, s.name AS school_name,
               d.display_name AS decided_by_name
        FROM correction_requests r JOIN pupils p ON p.id = r.pupil_id JOIN schools s ON s.uai = r.uai
        LEFT JOIN staff_accounts d ON d.id = r.decided_by
        WHERE r.id = $1
        """,
        request_id,
    )
    if row is None:
        await refuse_audited(
            pool, member, action, "correction_request", request_id, ErrorCode.CORRECTION_NOT_FOUND
        )
    if not member.covers(row["uai"], row["academie"]):
        await refuse_audited(
            pool, member, action, "correction_request", request_id, ErrorCode.STAFF_OUT_OF_SCOPE,
            ErrorCode.CORRECTION_NOT_FOUND, request_uai=row["uai"], request_academie=row["academie"],
        )  # fmt: skip
    return row


async def _process_status(temporal: Client, request_id: uuid.UUID) -> CorrectionStatus | None:
    handle = temporal.get_workflow_handle_for(
        BirthdateCorrectionWorkflow.run, workflow_id(request_id)
    )
    try:
        return await asyncio.wait_for(handle.query(BirthdateCorrectionWorkflow.status), 5)
    except (TimeoutError, RPCError):
        return None


def _timeline(process: CorrectionStatus, participants) -> list[TimelineEvent]:
    """The workflow's timeline, who filed said from the request's first participant:
    a request filed by a pupil before the workflow knew says so too."""
    by_pupil = (
        bool(participants) and blocked_process(participants[0]["blocked_process_id"]).own_birthdate
    )
    label = filed_label(by_pupil)
    return [
        e.model_copy(update={"label": label}) if e.kind == "filed" else e for e in process.timeline
    ]


def _contact(participant, class_name: str) -> str:
    if participant["contact_channel"] == "school":
        return f"Aucun email ni SMS : à prévenir par l'établissement (élève de {class_name})"
    return (
        participant["contact_email"]
        if participant["contact_channel"] == "email"
        else participant["contact_mobile"]
    )


async def _detail(
    pool: asyncpg.Pool, temporal: Client, row, notice: str | None = None
) -> RequestDetail:
    request_id = row["id"]
    participants = await pool.fetch(
        "SELECT cp.*, a.identifier FROM correction_participants cp LEFT JOIN accounts a ON a.id = cp.account_id "
        "WHERE cp.request_id = $1 ORDER BY cp.created_at, cp.id",
        request_id,
    )
    messages = await pool.fetch(
        """
        SELECT m.created_at, m.kind, m.body, sa.display_name AS staff_name, cp.requester_name
        FROM correction_messages m LEFT JOIN staff_accounts sa ON sa.id = m.staff_id
        LEFT JOIN correction_participants cp ON cp.id = m.participant_id
        WHERE m.request_id = $1 ORDER BY m.created_at, m.id
        """,
        request_id,
    )
    school_informs = any(p["contact_channel"] == "school" for p in participants)
    entries = await audit.entries_for(
        pool, [("correction_request", str(request_id)), ("pupil", str(row["pupil_id"]))]
    )
    process = await _process_status(temporal, request_id)
    step = CorrectionStep(row["status"])
    return RequestDetail(
        request_id=request_id,
        reference=reference(request_id),
        status=step,
        status_label=STEP_LABELS[step],
        escalated=row["escalated"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        closed_at=row["closed_at"],
        pupil=PupilRecord(
            pupil_id=row["pupil_id"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            class_name=row["class_name"],
            level=row["level"],
            uai=row["uai"],
            school_name=row["school_name"],
            birthdate_on_record=row["birthdate"],
        ),
        proposed_birthdate=row["proposed_birthdate"],
        corrected_birthdate=row["corrected_birthdate"],
        previous_birthdate=row["previous_birthdate"],
        decided_by=row["decided_by_name"],
        decided_at=row["decided_at"],
        requesters=[
            Requester(
                name=p["requester_name"],
                contact_channel=p["contact_channel"],
                contact=_contact(p, row["class_name"]),
                blocked_process_id=p["blocked_process_id"],
                process_label=blocked_process(p["blocked_process_id"]).label,
                account_identifier=p["identifier"],
                filed_at=p["created_at"],
            )
            for p in participants
        ],
        messages=[
            Message(
                at=m["created_at"],
                kind=m["kind"],
                author=m["staff_name"] or m["requester_name"] or "",
                text=m["body"],
            )
            for m in messages
        ],
        process=ProcessView(
            step=process.step,
            step_label=process.step_label,
            reminded=process.reminded,
            escalated=process.escalated,
            reminder_due_at=process.reminder_due_at,
            escalation_due_at=process.escalation_due_at,
            closes_at=process.closes_at,
            timeline=_timeline(process, participants),
        )
        if process
        else None,
        audit=[
            AuditEntry(
                at=e.at, actor=e.actor_label, action=e.action, outcome=e.outcome, details=e.details
            )
            for e in entries
        ],
        notice=notice,
        school_informs=correction_emails.SCHOOL_INFORMS if school_informs else None,
    )


@router.get(
    "/requests/{request_id}",
    summary="Une demande de correction et son historique complet",
    response_model=RequestDetail,
    responses={404: {"model": ErrorBody}},
)
async def request_detail(
    request_id: RequestId, member: Staff, pool: Pool, temporal: Temporal
) -> RequestDetail:
    row = await _request_in_scope(pool, member, request_id, "correction.view")
    await audit.record(pool, member.actor, "correction.view", "correction_request", request_id)
    return await _detail(pool, temporal, row)


class ApproveBody(BaseModel):
    corrected_birthdate: date = Field(
        description="La date de naissance exacte, qui remplace celle du dossier"
    )


class RejectBody(BaseModel):
    reason: str = Field(
        min_length=1, max_length=MESSAGE_MAX, description="Motif transmis au demandeur"
    )


class AskInformationBody(BaseModel):
    question: str = Field(
        min_length=1, max_length=MESSAGE_MAX, description="Question transmise au demandeur"
    )


async def _decide(
    pool: asyncpg.Pool,
    temporal: Client,
    member: StaffMember,
    request_id: uuid.UUID,
    kind: DecisionKind,
    *,
    corrected_birthdate: date | None = None,
    text: str | None = None,
) -> JSONResponse | RequestDetail:
    action = f"correction.{kind.value}"
    row = await _request_in_scope(pool, member, request_id, action)
    if row["closed_at"] is not None:
        await refuse_audited(
            pool, member, action, "correction_request", request_id, ErrorCode.CORRECTION_CLOSED
        )
    if corrected_birthdate is not None:
        try:
            check_plausible_birthdate(corrected_birthdate, "corrected_birthdate")
        except DomainError as refused:
            await refuse_audited(
                pool, member, action, "correction_request", request_id, refused.code
            )
        if corrected_birthdate == row["birthdate"]:
            await refuse_audited(
                pool,
                member,
                action,
                "correction_request",
                request_id,
                ErrorCode.CORRECTION_DATE_UNCHANGED,
            )
    if text is not None:
        text = text.strip()
        if not text:
            raise DomainError(ErrorCode.INVALID_INPUT, [{"field": "reason" if kind == DecisionKind.REJECT else "question",
                                                         "message": "Ce champ est obligatoire."}])  # fmt: skip
    # The decision is written (who, in which scope, what) and audited before the
    # workflow hears of it; the workflow gets its id and reads it back.
    message_id = uuid.uuid4() if text is not None else None
    async with pool.acquire() as conn, conn.transaction():
        if message_id is not None:
            await conn.execute(
                "INSERT INTO correction_messages (id, request_id, kind, staff_id, body) VALUES ($1, $2, $3, $4, $5)",
                message_id,
                request_id,
                "reason" if kind == DecisionKind.REJECT else "question",
                member.id,
                text,
            )
        decision_id = await staff_decisions.record(
            conn,
            member,
            request_id,
            kind,
            corrected_birthdate=corrected_birthdate,
            message_id=message_id,
        )
        details: dict[str, Any] = {"decision_id": str(decision_id)}
        if corrected_birthdate is not None:
            details |= {"corrected_birthdate": corrected_birthdate.isoformat(),
                        "birthdate_on_record": row["birthdate"].isoformat()}  # fmt: skip
        if message_id is not None:
            details["message_id"] = str(message_id)
        await audit.record(
            conn, member.actor, action, "correction_request", request_id, details=details
        )
    handle = temporal.get_workflow_handle_for(
        BirthdateCorrectionWorkflow.run, workflow_id(request_id)
    )
    try:
        await handle.signal(
            BirthdateCorrectionWorkflow.decide, StaffDecision(decision_id=decision_id)
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            await refuse_audited(pool, member, action, "correction_request", request_id, ErrorCode.CORRECTION_CLOSED,
                                 decision_id=str(decision_id))  # fmt: skip
        raise

    outcome = await _decision_outcome(temporal, request_id, decision_id)
    if outcome in _REFUSED_OUTCOMES:
        await refuse_audited(pool, member, action, "correction_request", request_id, _REFUSED_OUTCOMES[outcome],
                             decision_id=str(decision_id))  # fmt: skip
    fresh = await _request_in_scope(pool, member, request_id, action)
    if outcome is None:
        detail = await _detail(
            pool, temporal, fresh, notice="Décision enregistrée : son traitement est en cours."
        )
        return JSONResponse(
            status_code=status.HTTP_202_ACCEPTED, content=detail.model_dump(mode="json")
        )
    notices = {
        DecisionKind.APPROVE: "Demande acceptée : la date de naissance est corrigée et le demandeur est prévenu.",
        DecisionKind.REJECT: "Demande refusée : le motif est transmis au demandeur.",
        DecisionKind.ASK_INFORMATION: "Votre question est transmise au demandeur.",
    }
    detail = await _detail(pool, temporal, fresh, notice=notices[kind])
    if detail.school_informs:  # a pupil without an address asked: nothing was sent to them
        detail.notice = _PUPIL_NOTICES[kind]
    return detail


# How the workflow refused a decision written here: the request closed
# meanwhile, its author moved or was disabled meanwhile, or (never for a
# decision of this API) the workflow found it unknown or used already.
_REFUSED_OUTCOMES = {
    DecisionOutcome.IGNORED_CLOSED: ErrorCode.CORRECTION_CLOSED,
    DecisionOutcome.REFUSED_SCOPE: ErrorCode.STAFF_OUT_OF_SCOPE,
    DecisionOutcome.REFUSED_UNKNOWN: ErrorCode.SERVICE_UNAVAILABLE,
    DecisionOutcome.REFUSED_USED: ErrorCode.SERVICE_UNAVAILABLE,
}


async def _decision_outcome(
    temporal: Client, request_id: uuid.UUID, decision_id: uuid.UUID
) -> DecisionOutcome | None:
    """Wait (a little) until the workflow has handled the decision; its outcome, or None."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DECISION_WAIT_S
    while loop.time() < deadline:
        process = await _process_status(temporal, request_id)
        if process is not None:
            for event in process.timeline:
                if event.decision_id == decision_id:
                    return event.outcome
        await asyncio.sleep(0.1)
    return None


_DECISION_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "Décision enregistrée, traitement en cours"},
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
    422: {"model": ErrorBody},
}


@router.post(
    "/requests/{request_id}/approve",
    summary="Accepter : corriger la date de naissance (le processus bloqué reprend)",
    response_model=RequestDetail,
    responses=_DECISION_RESPONSES,
)
async def approve(
    request_id: RequestId, body: ApproveBody, member: Staff, pool: Pool, temporal: Temporal
):
    return await _decide(
        pool,
        temporal,
        member,
        request_id,
        DecisionKind.APPROVE,
        corrected_birthdate=body.corrected_birthdate,
    )


@router.post(
    "/requests/{request_id}/reject",
    summary="Refuser, avec un motif transmis au demandeur",
    response_model=RequestDetail,
    responses=_DECISION_RESPONSES,
)
async def reject(
    request_id: RequestId, body: RejectBody, member: Staff, pool: Pool, temporal: Temporal
):
    return await _decide(pool, temporal, member, request_id, DecisionKind.REJECT, text=body.reason)


@router.post(
    "/requests/{request_id}/ask-information",
    summary="Demander des informations complémentaires au demandeur",
    response_model=RequestDetail,
    responses=_DECISION_RESPONSES,
)
async def ask_information(
    request_id: RequestId, body: AskInformationBody, member: Staff, pool: Pool, temporal: Temporal
):
    return await _decide(
        pool, temporal, member, request_id, DecisionKind.ASK_INFORMATION, text=body.question
    )


# --- assistance tickets ----------------------------------------------------------------------


class TicketItem(BaseModel):
    ticket_id: uuid.UUID
    reference: str
    status: str
    status_label: str
    category: TicketCategory
    category_label: str
    last_name: str
    first_name: str
    email: str
    uai: str | None = None
    academie: str
    created_at: datetime
    answered_at: datetime | None = None


class Reply(BaseModel):
    at: datetime
    author: str
    text: str


class TicketDetail(TicketItem):
    message: str
    replies: list[Reply]


class TicketAnswerBody(BaseModel):
    message: str = Field(
        min_length=1, max_length=MESSAGE_MAX, description="Réponse envoyée par email"
    )


_TICKET_STATUS = {"open": "En attente de réponse", "answered": "Répondu"}


def _ticket_item(r) -> dict[str, Any]:
    return dict(
        ticket_id=r["id"],
        reference=reference(r["id"]),
        status=r["status"],
        status_label=_TICKET_STATUS[r["status"]],
        category=TicketCategory(r["category"]),
        category_label=TICKET_CATEGORY_LABELS[TicketCategory(r["category"])],
        last_name=r["last_name"],
        first_name=r["first_name"],
        email=r["email"],
        uai=r["uai"],
        academie=r["academie"],
        created_at=r["created_at"],
        answered_at=r["answered_at"],
    )


@router.get(
    "/tickets",
    summary="Demandes d'assistance de mon périmètre (sans réponse d'abord, les plus anciennes d'abord)",
    response_model=list[TicketItem],
)
async def tickets(
    member: Staff, pool: Pool, limite: Annotated[int, Query(ge=1, le=QUEUE_LIMIT)] = 100
) -> list[TicketItem]:
    scope, value = member.scope_sql("t.uai", "t.academie")
    rows = await pool.fetch(
        f"SELECT t.* FROM assistance_tickets t WHERE {scope} "
        "ORDER BY CASE WHEN t.status = 'open' THEN 0 ELSE 1 END, t.created_at, t.id LIMIT $2",
        value,
        limite,
    )
    await audit.record(
        pool,
        member.actor,
        "ticket.list",
        "staff_scope",
        member.uai or member.academie,
        details={"count": len(rows)},
    )
    return [TicketItem(**_ticket_item(r)) for r in rows]


async def _ticket_in_scope(
    pool: asyncpg.Pool, member: StaffMember, ticket_id: uuid.UUID, action: str
):
    row = await pool.fetchrow("SELECT * FROM assistance_tickets WHERE id = $1", ticket_id)
    if row is None:
        await refuse_audited(pool, member, action, "ticket", ticket_id, ErrorCode.TICKET_NOT_FOUND)
    if not member.covers(row["uai"], row["academie"]):
        await refuse_audited(
            pool,
            member,
            action,
            "ticket",
            ticket_id,
            ErrorCode.STAFF_OUT_OF_SCOPE,
            ErrorCode.TICKET_NOT_FOUND,
        )
    return row


async def _ticket_detail(pool: asyncpg.Pool, row) -> TicketDetail:
    replies = await pool.fetch(
        "SELECT r.created_at, r.body, s.display_name FROM assistance_ticket_replies r "
        "JOIN staff_accounts s ON s.id = r.staff_id WHERE r.ticket_id = $1 ORDER BY r.created_at, r.id",
        row["id"],
    )
    return TicketDetail(
        **_ticket_item(row),
        message=row["message"],
        replies=[
            Reply(at=r["created_at"], author=r["display_name"], text=r["body"]) for r in replies
        ],
    )


@router.get(
    "/tickets/{ticket_id}",
    summary="Une demande d'assistance et ses réponses",
    response_model=TicketDetail,
    responses={404: {"model": ErrorBody}},
)
async def ticket(ticket_id: TicketId, member: Staff, pool: Pool) -> TicketDetail:
    row = await _ticket_in_scope(pool, member, ticket_id, "ticket.view")
    await audit.record(pool, member.actor, "ticket.view", "ticket", ticket_id)
    return await _ticket_detail(pool, row)


@router.post(
    "/tickets/{ticket_id}/answer",
    summary="Répondre à une demande d'assistance (la réponse part par email)",
    response_model=TicketDetail,
    responses={404: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
async def answer_ticket(
    ticket_id: TicketId, body: TicketAnswerBody, member: Staff, pool: Pool
) -> TicketDetail:
    row = await _ticket_in_scope(pool, member, ticket_id, "ticket.answer")
    text = body.message.strip()
    if not text:
        raise DomainError(
            ErrorCode.INVALID_INPUT, [{"field": "message", "message": "Ce champ est obligatoire."}]
        )
    reply_id = uuid.uuid4()
    email = correction_emails.ticket_answer(
        to=row["email"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        ticket_id=ticket_id,
        category_label=TICKET_CATEGORY_LABELS[TicketCategory(row["category"])],
        question=row["message"],
        answer=text,
        staff_label=member.display_name,
    )
    # The answer is recorded once it went out: an SMTP failure leaves nothing half done.
    try:
        await send_email_once(pool, f"ticket-reply/{reply_id}", email, "ticket_answer")
    except Exception as err:  # noqa: BLE001 - SMTP refused, timeout...
        await refuse_audited(pool, member, "ticket.answer", "ticket", ticket_id, ErrorCode.SERVICE_UNAVAILABLE,
                      error=type(err).__name__)  # fmt: skip
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO assistance_ticket_replies (id, ticket_id, staff_id, body, emailed_at) VALUES ($1, $2, $3, $4, now())",
            reply_id,
            ticket_id,
            member.id,
            text,
        )
        await conn.execute(
            "UPDATE assistance_tickets SET status = 'answered', answered_at = now() WHERE id = $1",
            ticket_id,
        )
        await audit.record(
            conn,
            member.actor,
            "ticket.answer",
            "ticket",
            ticket_id,
            details={"reply_id": str(reply_id)},
        )
    fresh = await pool.fetchrow("SELECT * FROM assistance_tickets WHERE id = $1", ticket_id)
    return await _ticket_detail(pool, fresh)
