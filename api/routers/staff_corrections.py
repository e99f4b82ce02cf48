"""Staff work the queue of birthdate corrections in their scope (DESIGN §3.7):
pending first, oldest first; a request's full history; approve, reject or
ask for information. The decision is written (`educonnect.staff_decisions`)
and audited here (`decide_correction`, which the staff pages call too), then
the workflow hears its id only, by an update whose answer is the outcome. Every action,
accepted or refused, is written to the append-only audit log.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, NoReturn

import asyncpg
from fastapi import APIRouter, Path, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.correction_filing import MESSAGE_MAX, check_plausible_birthdate
from api.deps import QUEUE_LIMIT, Pool, Staff, Temporal, audit_listing, refuse_audited
from api.errors import ErrorBody
from educonnect import audit, correction_requests, staff_decisions
from educonnect.blocked_processes import blocked_process
from educonnect.emails import corrections as correction_emails
from educonnect.emails.corrections import reference
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.corrections import (
    DECISION_REFUSAL_OUTCOMES,
    DECISION_REJECTED,
    STEP_LABELS,
    CorrectionStatus,
    CorrectionStep,
    DecisionAnswer,
    DecisionKind,
    DecisionMade,
    DecisionOutcome,
    DecisionScope,
    MessageRefusal,
    TimelineEvent,
    filed_label,
)
from educonnect.staff import StaffMember
from workflows.birthdate_correction import (
    DECISION_UPDATE,
    BirthdateCorrectionWorkflow,
    workflow_id,
)

router = APIRouter(prefix="/staff", tags=["Personnel : corrections et assistance"])

# How long a decision's answer is waited for (an approval waits for the blocked
# processes to resume, usually well under a second); then 202, "en cours".
DECISION_WAIT_S = 20.0

# A pupil without an address asked: nothing is sent to them, staff tell them.
_PUPIL_NOT_TOLD = (
    "L'élève qui a fait la demande n'a pas d'adresse électronique : prévenez-le vous-même"
)
PUPIL_NOTICES = {
    DecisionKind.APPROVE: f"Demande acceptée : la date de naissance est corrigée. {_PUPIL_NOT_TOLD}.",
    DecisionKind.REJECT: f"Demande refusée. {_PUPIL_NOT_TOLD}, avec le motif.",
    DecisionKind.ASK_INFORMATION: (
        f"Votre question est enregistrée. {_PUPIL_NOT_TOLD} ; il pourra répondre en se connectant à EduConnect."
    ),
}

RequestId = Annotated[uuid.UUID, Path(description="Identifiant de la demande de correction")]


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
    rows = await correction_requests.queue(pool, member, etat.value if etat else None, limite)
    await audit_listing(
        pool, member, "correction.list", len(rows), etat=etat.value if etat else None
    )
    return [queue_item(r) for r in rows]


def queue_item(r: asyncpg.Record) -> QueueItem:
    return QueueItem(
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


async def request_in_scope(
    pool: asyncpg.Pool, member: StaffMember, request_id: uuid.UUID, action: str
):
    row = await correction_requests.request(pool, request_id)
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


async def request_view(
    pool: asyncpg.Pool, temporal: Client, row, notice: str | None = None
) -> RequestDetail:
    request_id = row["id"]
    participants = await correction_requests.participants(pool, request_id)
    messages = await correction_requests.messages(pool, request_id)
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
    row = await request_in_scope(pool, member, request_id, "correction.view")
    await audit.record(pool, member.actor, "correction.view", "correction_request", request_id)
    return await request_view(pool, temporal, row)


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


@dataclass
class Decided:
    """A decision as the process answered it: the request after it, and the
    process's answer (None: still being handled when DECISION_WAIT_S ran out)."""

    kind: DecisionKind
    row: asyncpg.Record
    answer: DecisionAnswer | None


async def decide_correction(
    pool: asyncpg.Pool,
    temporal: Client,
    member: StaffMember,
    request_id: uuid.UUID,
    kind: DecisionKind,
    *,
    corrected_birthdate: date | None = None,
    text: str | None = None,
) -> Decided:
    """A staff decision, for the JSON API and the staff pages alike: checked
    (scope, request open, the date plausible and new, the text given),
    written and audited here, then the workflow hears its id by the update
    `decide_and_wait` and answers what became of it. A refusal (ours, the
    update validator's, or the process's) is audited and raised."""
    action = f"correction.{kind.value}"
    row = await request_in_scope(pool, member, request_id, action)
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
            assert text is not None  # a message only with a text
            await correction_requests.add_staff_message(
                conn,
                message_id,
                request_id,
                "reason" if kind == DecisionKind.REJECT else "question",
                member,
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
    answer = await _send_decision(pool, temporal, member, request_id, action, decision_id)
    return Decided(kind, await request_in_scope(pool, member, request_id, action), answer)


async def _send_decision(
    pool: asyncpg.Pool,
    temporal: Client,
    member: StaffMember,
    request_id: uuid.UUID,
    action: str,
    decision_id: uuid.UUID,
) -> DecisionAnswer | None:
    """The update `decide_and_wait` (its id the decision's: sent twice, answered
    once); the process's answer, or None when it is still being handled."""
    handle = temporal.get_workflow_handle_for(
        BirthdateCorrectionWorkflow.run, workflow_id(request_id)
    )
    update = DecisionMade(
        decision_id=decision_id, scope=DecisionScope(uai=member.uai, academie=member.academie)
    )

    async def refused(code: ErrorCode) -> NoReturn:
        await refuse_audited(pool, member, action, "correction_request", request_id, code,
                             decision_id=str(decision_id))  # fmt: skip

    try:
        answer = await asyncio.wait_for(
            handle.execute_update(
                DECISION_UPDATE, update, id=f"decision/{decision_id}", result_type=DecisionAnswer
            ),
            DECISION_WAIT_S,
        )
    except TimeoutError:
        return None
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type == DECISION_REJECTED:
            outcome = DECISION_REFUSAL_OUTCOMES[MessageRefusal(cause.details[0])]
            await refused(_REFUSED_OUTCOMES[outcome])
        raise
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:  # the process ended meanwhile
            await refused(ErrorCode.CORRECTION_CLOSED)
        raise
    if answer.outcome in _REFUSED_OUTCOMES:
        await refused(_REFUSED_OUTCOMES[answer.outcome])
    return answer


DECISION_NOTICES = {
    DecisionKind.APPROVE: "Demande acceptée : la date de naissance est corrigée et le demandeur est prévenu.",
    DecisionKind.REJECT: "Demande refusée : le motif est transmis au demandeur.",
    DecisionKind.ASK_INFORMATION: "Votre question est transmise au demandeur.",
}
DECISION_PENDING = "Décision enregistrée : son traitement est en cours."


async def _decide(
    pool: asyncpg.Pool, temporal: Client, member: StaffMember, request_id: uuid.UUID,
    kind: DecisionKind, **decision: Any,
) -> JSONResponse | RequestDetail:  # fmt: skip
    decided = await decide_correction(pool, temporal, member, request_id, kind, **decision)
    if decided.answer is None:
        detail = await request_view(pool, temporal, decided.row, notice=DECISION_PENDING)
        return JSONResponse(
            status_code=status.HTTP_202_ACCEPTED, content=detail.model_dump(mode="json")
        )
    detail = await request_view(pool, temporal, decided.row, notice=DECISION_NOTICES[kind])
    if detail.school_informs:  # a pupil without an address asked: nothing was sent to them
        detail.notice = PUPIL_NOTICES[kind]
    return detail


# How the process refused a decision written here: the request closed
# meanwhile, its author moved or was disabled meanwhile, or (never for a
# decision of this API) the workflow found it unknown or used already.
_REFUSED_OUTCOMES = {
    DecisionOutcome.IGNORED_CLOSED: ErrorCode.CORRECTION_CLOSED,
    DecisionOutcome.REFUSED_SCOPE: ErrorCode.STAFF_OUT_OF_SCOPE,
    DecisionOutcome.REFUSED_UNKNOWN: ErrorCode.SERVICE_UNAVAILABLE,
    DecisionOutcome.REFUSED_USED: ErrorCode.SERVICE_UNAVAILABLE,
}


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
