"""The birthdate-correction form (DESIGN §3.7, FAQ 6) of every process that
checks a birthdate and blocks after wrong ones.

Each blocked process has its own place to file, because each knows the
person in its own way:

- `activation/<account-id>`: `/assistance/date-de-naissance`, a guardian's
  activation session (the person chooses email or SMS);
- `sms-registration/<uuid>`: `/registration/{id}/correction`, the
  registration id, once the SMS code was verified (told by SMS);
- `franceconnect-link/<uuid>`: `/franceconnect/link/{id}/correction`, the
  browser bound by cookie, once the SMS code was verified (told by SMS);
- `pupil-activation/<account-id>`: `/pupil-activation/correction`, the
  pupil's activation session (told by email, or by the school).

The route checks that its process is blocked and builds a `Requester` (who
asks, for which children) and a `Contact` (how to tell them the decision);
the rest is here: the form, the checks of what was typed, the filing
(`api.correction_filing`), following a request and answering staff.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg
from pydantic import BaseModel, Field
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.correction_filing import (
    MESSAGE_MAX,
    Filing,
    check_plausible_birthdate,
    file_birthdate_correction,
)
from educonnect import audit
from educonnect.blocked_processes import blocked_process
from educonnect.emails.corrections import reference
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.corrections import (
    OPEN_STEPS,
    STEP_LABELS,
    CorrectionStep,
    InformationReceived,
)
from workflows.birthdate_correction import BirthdateCorrectionWorkflow
from workflows.birthdate_correction import workflow_id as correction_workflow_id

# --- who asks, and how to tell them -----------------------------------------------------------


class Child(BaseModel):
    pupil_id: uuid.UUID
    first_name: str
    last_name: str
    school_name: str


@dataclass(frozen=True)
class Requester:
    """Who asks, once the route checked that their process is blocked."""

    process_id: str  # the blocked process, signalled when staff approve
    name: str  # shown to staff
    children: list[Child]  # the children a request may be about (a pupil: themself)
    account_id: uuid.UUID | None = None  # the signed-in account, if any


@dataclass(frozen=True)
class Contact:
    channel: str  # 'email' | 'sms' | 'school'
    email: str | None = None
    mobile: str | None = None


SCHOOL_CONTACT = Contact("school")


async def guardian_children(pool: asyncpg.Pool, guardian_id: uuid.UUID) -> list[Child]:
    rows = await pool.fetch(
        """
        SELECT p.id, p.first_name, p.last_name, s.name AS school_name
        FROM guardian_pupils gp JOIN pupils p ON p.id = gp.pupil_id JOIN schools s ON s.uai = p.uai
        WHERE gp.guardian_id = $1 ORDER BY p.first_name, p.id
        """,
        guardian_id,
    )
    return [Child(pupil_id=r["id"], first_name=r["first_name"], last_name=r["last_name"],
                  school_name=r["school_name"]) for r in rows]  # fmt: skip


async def verified_guardian(
    pool: asyncpg.Pool, process_id: str, guardian_id: uuid.UUID | None
) -> tuple[Requester, Contact]:
    """The guardian of a process that sent an SMS code to their mobile on file
    and accepted it (SMS registration, FranceConnect first visit): the decision
    goes by SMS to that number, which the person proved is theirs."""
    mobile = await pool.fetchval(
        "SELECT mobile FROM sms_codes WHERE process_id = $1 AND used_at IS NOT NULL ORDER BY used_at DESC LIMIT 1",
        process_id,
    )
    guardian = None
    if guardian_id is not None:
        guardian = await pool.fetchrow(
            "SELECT first_name, last_name FROM guardians WHERE id = $1", guardian_id
        )
    if mobile is None or guardian is None:  # no code accepted: nobody to reveal children to
        raise DomainError(ErrorCode.CORRECTION_NOT_NEEDED)
    assert guardian_id is not None  # the guardian was found by it
    requester = Requester(
        process_id=process_id,
        name=f"{guardian['first_name']} {guardian['last_name']}",
        children=await guardian_children(pool, guardian_id),
    )
    return requester, Contact("sms", mobile=mobile)


def masked(mobile: str | None) -> str | None:
    return f"{mobile[:4]}{'•' * (len(mobile) - 6)}{mobile[-2:]}" if mobile else None


def contact_note(contact: Contact) -> str:
    """How the person will hear of the decision, in their words."""
    if contact.channel == "sms":
        return f"Vous serez prévenu de la décision par SMS au {masked(contact.mobile)}."
    if contact.channel == "email":
        return f"Vous serez prévenu de la décision par email à l'adresse {contact.email}."
    return "Votre établissement vous préviendra de sa décision."


def required_text(value: str, field: str = "message") -> str:
    text = value.strip()
    if not text:
        raise DomainError(
            ErrorCode.INVALID_INPUT, [{"field": field, "message": "Ce champ est obligatoire."}]
        )
    return text


# --- the form and the request -----------------------------------------------------------------


class RequestSummary(BaseModel):
    request_id: uuid.UUID
    reference: str
    status: CorrectionStep
    status_label: str
    question: str | None = Field(
        None, description="La question de l'établissement, s'il attend votre réponse"
    )


class CorrectionInfo(BaseModel):
    """What the status view of a process that checks a birthdate says about
    the correction (views inherit it)."""

    assistance_url: str | None = Field(
        None, description="Bloquée : où demander la correction de la date de naissance"
    )
    correction: RequestSummary | None = Field(
        None, description="Bloquée : la dernière demande de correction déposée"
    )


class CorrectionForm(BaseModel):
    children: list[Child]
    email_on_file: str | None = None
    mobile_on_file: str | None = Field(None, description="Numéro connu, masqué")
    contact_note: str | None = Field(None, description="Comment vous serez prévenu de la décision")
    requests: list[RequestSummary] = []


class CorrectionDetails(BaseModel):
    proposed_birthdate: date = Field(
        description="La date de naissance que vous pensez exacte (AAAA-MM-JJ)"
    )
    message: str = Field(
        min_length=1, max_length=MESSAGE_MAX, description="Votre message à l'établissement"
    )


class ChildCorrectionRequest(CorrectionDetails):
    pupil_id: uuid.UUID = Field(description="L'enfant concerné, parmi ceux du formulaire")


class CorrectionReceipt(BaseModel):
    request_id: uuid.UUID
    reference: str
    joined: bool
    status: CorrectionStep
    status_label: str
    message: str


async def requests_of(pool: asyncpg.Pool, process_id: str) -> list[RequestSummary]:
    """The requests this process took part in, oldest first."""
    rows = await pool.fetch(
        """
        SELECT r.id, r.status,
               (SELECT m.body FROM correction_messages m WHERE m.request_id = r.id AND m.kind = 'question'
                ORDER BY m.created_at DESC, m.id DESC LIMIT 1) AS question
        FROM correction_requests r JOIN correction_participants cp ON cp.request_id = r.id
        WHERE cp.blocked_process_id = $1 ORDER BY r.created_at, r.id
        """,
        process_id,
    )
    return [
        RequestSummary(
            request_id=r["id"],
            reference=reference(r["id"]),
            status=CorrectionStep(r["status"]),
            status_label=STEP_LABELS[CorrectionStep(r["status"])],
            question=r["question"] if r["status"] == CorrectionStep.AWAITING_INFORMATION else None,
        )
        for r in rows
    ]


async def latest_request(
    pool: asyncpg.Pool, process_id: str, *, blocked: bool
) -> RequestSummary | None:
    """For the status view of a process: while it is blocked on a birthdate,
    the latest request filed from it (pending, or rejected), if any."""
    if not blocked:
        return None
    requests = await requests_of(pool, process_id)
    return requests[-1] if requests else None


async def correction_form(
    pool: asyncpg.Pool,
    requester: Requester,
    *,
    contact: Contact | None = None,
    email_on_file: str | None = None,
    mobile_on_file: str | None = None,
) -> CorrectionForm:
    """The form: whom a request may be about, how the person will be told,
    and the requests already filed from this process. `contact`: the one way
    to tell them, where the process offers no choice."""
    return CorrectionForm(
        children=requester.children,
        email_on_file=email_on_file or (contact.email if contact else None),
        mobile_on_file=masked(mobile_on_file or (contact.mobile if contact else None)),
        contact_note=contact_note(contact) if contact else None,
        requests=await requests_of(pool, requester.process_id),
    )


async def file_correction(
    pool: asyncpg.Pool,
    temporal: Client,
    requester: Requester,
    pupil_id: uuid.UUID,
    details: CorrectionDetails,
    contact: Contact,
) -> CorrectionReceipt:
    """Check what was typed, then file (or join the child's open request)."""
    if pupil_id not in {c.pupil_id for c in requester.children}:
        raise DomainError(ErrorCode.CORRECTION_PUPIL_UNKNOWN, [{"field": "pupil_id"}])
    check_plausible_birthdate(details.proposed_birthdate, "proposed_birthdate")
    filed = await file_birthdate_correction(
        pool,
        temporal,
        Filing(
            pupil_id=pupil_id,
            proposed_birthdate=details.proposed_birthdate,
            message=required_text(details.message),
            requester_name=requester.name,
            contact_channel=contact.channel,
            contact_email=contact.email,
            contact_mobile=contact.mobile,
            blocked_process_id=requester.process_id,
            account_id=requester.account_id,
        ),
    )
    process = blocked_process(requester.process_id)
    already = "pour votre date de naissance" if process.own_birthdate else "pour cet enfant"
    text = (
        (
            f"Une demande est déjà en cours {already} : la vôtre y a été ajoutée. "
            if filed.joined
            else "Votre demande de correction a bien été transmise à l'établissement. "
        )
        + f"{contact_note(contact).removesuffix('.')} ; vous pourrez alors reprendre {process.resume}."
    )
    return CorrectionReceipt(
        request_id=filed.request_id,
        reference=reference(filed.request_id),
        joined=filed.joined,
        status=filed.status,
        status_label=STEP_LABELS[filed.status],
        message=text,
    )


# --- following a request and answering staff ---------------------------------------------------


class Exchange(BaseModel):
    at: datetime
    author: str  # "Vous" | "Un autre demandeur" | "L'établissement"
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


async def _participant(
    pool: asyncpg.Pool, request_id: uuid.UUID, process_id: str
) -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT id, account_id, requester_name FROM correction_participants "
        "WHERE request_id = $1 AND blocked_process_id = $2",
        request_id,
        process_id,
    )
    if row is None:  # unknown, or someone else's: the same answer
        raise DomainError(ErrorCode.CORRECTION_NOT_FOUND)
    return row


async def request_view(pool: asyncpg.Pool, request_id: uuid.UUID, process_id: str) -> RequestView:
    """A request as the person who filed it from `process_id` sees it."""
    await _participant(pool, request_id, process_id)
    row = await pool.fetchrow(
        "SELECT r.*, p.first_name FROM correction_requests r JOIN pupils p ON p.id = r.pupil_id WHERE r.id = $1",
        request_id,
    )
    messages = await pool.fetch(
        """
        SELECT m.created_at, m.kind, m.body, m.staff_id, cp.blocked_process_id
        FROM correction_messages m LEFT JOIN correction_participants cp ON cp.id = m.participant_id
        WHERE m.request_id = $1 ORDER BY m.created_at, m.id
        """,
        request_id,
    )
    step = CorrectionStep(row["status"])

    def author(m) -> str:
        if m["staff_id"] is not None:
            return "L'établissement"
        return "Vous" if m["blocked_process_id"] == process_id else "Un autre demandeur"

    exchanges = [
        Exchange(at=m["created_at"], author=author(m), kind=m["kind"], text=m["body"])
        for m in messages
    ]
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
        question=questions[-1]
        if step == CorrectionStep.AWAITING_INFORMATION and questions
        else None,
        exchanges=exchanges,
    )


async def answer_staff(
    pool: asyncpg.Pool, temporal: Client, request_id: uuid.UUID, process_id: str, body: AnswerBody
) -> RequestView:
    """The person answers staff's request for information."""
    participant = await _participant(pool, request_id, process_id)
    text = required_text(body.message)
    current = await pool.fetchval(
        "SELECT status FROM correction_requests WHERE id = $1", request_id
    )
    if current != CorrectionStep.AWAITING_INFORMATION:
        closed = current not in OPEN_STEPS
        raise DomainError(
            ErrorCode.CORRECTION_CLOSED if closed else ErrorCode.CORRECTION_NOT_AWAITING_INFORMATION
        )
    message_id = uuid.uuid4()
    actor = audit.Actor("family", participant["account_id"], participant["requester_name"])
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO correction_messages (id, request_id, kind, participant_id, body) VALUES ($1, $2, 'answer', $3, $4)",
            message_id,
            request_id,
            participant["id"],
            text,
        )
        await audit.record(conn, actor, "correction.answered", "correction_request", request_id,
                           details={"message_id": str(message_id)})  # fmt: skip
    handle = temporal.get_workflow_handle_for(
        BirthdateCorrectionWorkflow.run, correction_workflow_id(request_id)
    )
    try:
        await handle.signal(
            BirthdateCorrectionWorkflow.information_received,
            InformationReceived(message_id=message_id),
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise DomainError(ErrorCode.CORRECTION_CLOSED) from None
        raise
    return await request_view(pool, request_id, process_id)
