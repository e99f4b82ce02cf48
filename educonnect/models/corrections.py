"""Messages of the birthdate-correction process (DESIGN §3.7, FAQ 6): ids and
facts only.

What people wrote (the requester's message, a staff question, a rejection
reason, an answer) stays in PostgreSQL (`correction_messages`); the workflow
carries the message id.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel


class CorrectionStep(StrEnum):
    AWAITING_REVIEW = "awaiting_review"  # waits on the school's staff
    AWAITING_INFORMATION = "awaiting_information"  # staff asked the person something
    ESCALATED = "escalated"  # 5 days without a decision: académie support is on it
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"  # 30 days without a decision: closed, the person told


OPEN_STEPS = frozenset(
    {CorrectionStep.AWAITING_REVIEW, CorrectionStep.AWAITING_INFORMATION, CorrectionStep.ESCALATED}
)
# Steps in which the request waits on staff (what the staff queue puts first).
STAFF_PENDING_STEPS = frozenset({CorrectionStep.AWAITING_REVIEW, CorrectionStep.ESCALATED})

STEP_LABELS = {
    CorrectionStep.AWAITING_REVIEW: "En attente d'examen par l'établissement",
    CorrectionStep.AWAITING_INFORMATION: "En attente d'informations complémentaires du demandeur",
    CorrectionStep.ESCALATED: "Transmise à l'assistance académique (sans décision après 5 jours)",
    CorrectionStep.APPROVED: "Acceptée : la date de naissance a été corrigée",
    CorrectionStep.REJECTED: "Refusée",
    CorrectionStep.EXPIRED: "Clôturée sans décision après 30 jours",
}


class StaffRole(StrEnum):
    SCHOOL_ADMIN = "school_admin"
    ACADEMIE_SUPPORT = "academie_support"


ROLE_LABELS = {
    StaffRole.SCHOOL_ADMIN: "administrateur d'établissement",
    StaffRole.ACADEMIE_SUPPORT: "assistance académique",
}


class StaffRef(BaseModel):
    """Who acts: the staff member and the scope they act in."""

    staff_id: UUID
    role: StaffRole
    uai: str | None = None
    academie: str
    label: str  # "Mme Martin (administrateur d'établissement, 0690001T)"

    def covers(self, uai: str, academie: str) -> bool:
        """True when a request of a pupil of `uai` (in `academie`) is in this scope."""
        if self.role == StaffRole.SCHOOL_ADMIN:
            return self.uai == uai
        return self.academie == academie


def filer(by_pupil: bool) -> str:
    """Who filed a request, in the words of staff and operators."""
    return "l'élève lui-même" if by_pupil else "le responsable"


def filed_label(by_pupil: bool) -> str:
    """The first event of a request's timeline."""
    return f"Demande déposée par {filer(by_pupil)}"


class CorrectionInput(BaseModel):
    request_id: UUID
    pupil_id: UUID
    uai: str
    academie: str
    account_id: UUID | None = None  # the first requester's account (none for a registration)
    # The first requester is the pupil, about their own birthdate (pupil activation).
    # Absent from the histories of requests filed before it existed: read as a guardian.
    filed_by_pupil: bool = False


class DecisionKind(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    ASK_INFORMATION = "ask_information"


class StaffDecision(BaseModel):
    """Signal: a staff member decided. The API checked who decides, their scope
    and what, and wrote the decision (table `staff_decisions`) before sending
    its id; the workflow's activity reads it back by that id, checks it again
    and applies it once. Nothing else in the signal is trusted.

    The other fields are those of the signals sent before the decisions were
    written (they carried the decision itself): kept so that their histories
    replay. A signal that still names an author outside the request's scope is
    refused without reading anything."""

    decision_id: UUID
    kind: DecisionKind | None = None
    staff: StaffRef | None = None
    corrected_birthdate: date | None = None  # approve
    message_id: UUID | None = None  # reject (reason) / ask_information (question)


class InformationReceived(BaseModel):
    """Signal: the person answered a request for information (text in PostgreSQL)."""

    message_id: UUID


class ParticipantJoined(BaseModel):
    """Signal: a duplicate request for the same child joined this one."""

    participant_id: UUID


class DecisionOutcome(StrEnum):
    """What became of a staff decision, in the request's timeline (the staff API reads it)."""

    APPLIED = "applied"
    REFUSED_SCOPE = "refused_scope"  # its author does not cover the pupil's school
    REFUSED_UNKNOWN = "refused_unknown"  # no such decision for this request
    REFUSED_USED = "refused_used"  # applied already
    IGNORED_CLOSED = "ignored_closed"  # the request was closed meanwhile
    INVALID = "invalid"  # incomplete (a signal of before the decisions were written)


# `ApplicationError.type` of a decision the workflow's update validator refuses
# before anything is recorded; its first detail is a `MessageRefusal`
# (CLOSED: the request is decided or closing; ALREADY_USED: this decision was
# heard already; OUT_OF_SCOPE: the scope it claims does not cover the pupil's school).
DECISION_REJECTED = "correction_decision_rejected"


class DecisionScope(BaseModel):
    """The scope the staff API checked a decider against: a claim the update's
    validator compares with the request (the activity still reads the
    decision back and checks its author again). UAIs and académies only."""

    uai: str | None = None  # a school administrator's school
    academie: str

    def covers(self, uai: str, academie: str) -> bool:
        return self.uai == uai if self.uai is not None else self.academie == academie


class DecisionMade(BaseModel):
    """Update: a staff decision written in PostgreSQL (table `staff_decisions`),
    by its id; the answer is what became of it (`DecisionAnswer`)."""

    decision_id: UUID
    scope: DecisionScope


class DecisionAnswer(BaseModel):
    """What the process did with a decision (the result of the update)."""

    decision_id: UUID
    outcome: DecisionOutcome
    step: CorrectionStep  # the request's step after it
    resumed: list[str] = []  # blocked processes that confirmed they resumed (an approval)
    not_resumed: list[str] = []  # signalled but not confirmed in time, or gone


class TimelineEvent(BaseModel):
    at: datetime
    kind: str  # filed, staff_notified, reminder_sent, escalated, decision, decision_refused, ...
    label: str  # French, for staff and operators
    staff: StaffRef | None = None
    decision_id: UUID | None = None
    outcome: DecisionOutcome | None = None  # for decisions


class CorrectionStatus(BaseModel):
    request_id: UUID
    step: CorrectionStep
    step_label: str
    escalated: bool
    reminded: bool
    filed_at: datetime
    reminder_due_at: datetime | None = None
    escalation_due_at: datetime | None = None
    closes_at: datetime
    decided_by: StaffRef | None = None
    corrected_birthdate: date | None = None
    timeline: list[TimelineEvent] = []


class CorrectionResult(BaseModel):
    request_id: UUID
    step: CorrectionStep
    decided_by: StaffRef | None = None


# --- activity arguments -------------------------------------------------------


class StepRecord(BaseModel):
    request_id: UUID
    step: CorrectionStep
    escalated: bool


class ApplyCorrection(BaseModel):
    request_id: UUID
    pupil_id: UUID
    decision_id: UUID
    staff: StaffRef
    corrected_birthdate: date


class CorrectionApplied(BaseModel):
    old_birthdate: date
    new_birthdate: date


class CloseRequest(BaseModel):
    request_id: UUID
    step: CorrectionStep  # REJECTED or EXPIRED
    decision_id: UUID | None = None
    staff: StaffRef | None = None
    message_id: UUID | None = None


class RefusedDecision(BaseModel):
    request_id: UUID
    decision: StaffDecision
    reason: str  # stable code


# Signals read back from PostgreSQL: what the activities check, and how they refuse.

# `ApplicationError.type` (non-retryable) of a signal whose record is refused;
# its first detail is a `MessageRefusal`.
MESSAGE_REFUSED = "correction_message_refused"


class MessageRefusal(StrEnum):
    UNKNOWN = "unknown"  # no such record for this request (made up, or another request's)
    ALREADY_USED = "already_used"  # applied already, by another process or an earlier run
    OUT_OF_SCOPE = (
        "out_of_scope"  # its author no longer covers the pupil's school (moved, disabled)
    )
    CLOSED = "closed"  # the request was closed meanwhile


# The outcome a refused decision leaves in the timeline (the staff API reads it).
DECISION_REFUSAL_OUTCOMES = {
    MessageRefusal.UNKNOWN: DecisionOutcome.REFUSED_UNKNOWN,
    MessageRefusal.ALREADY_USED: DecisionOutcome.REFUSED_USED,
    MessageRefusal.OUT_OF_SCOPE: DecisionOutcome.REFUSED_SCOPE,
    MessageRefusal.CLOSED: DecisionOutcome.IGNORED_CLOSED,
}


class DecisionToApply(BaseModel):
    """The id a `decide` signal carried, for the activity that reads it back."""

    request_id: UUID
    decision_id: UUID


class AppliedDecision(BaseModel):
    """A staff decision as PostgreSQL holds it, applied."""

    decision_id: UUID
    kind: DecisionKind
    staff: StaffRef
    corrected_birthdate: date | None = None
    previous_birthdate: date | None = None
    message_id: UUID | None = None


class AnswerToCheck(BaseModel):
    """The id an `information_received` signal carried."""

    request_id: UUID
    message_id: UUID


class ParticipantToCheck(BaseModel):
    """The id a `participant_joined` signal carried."""

    request_id: UUID
    participant_id: UUID


class UnblockToCheck(BaseModel):
    """The correction a `birthdate_unblocked` signal named (any string: the
    signal may be forged); the process it unblocks is the calling workflow."""

    correction_id: str


class UnblockConfirmed(BaseModel):
    """A blocked process tells its correction it started its birthdate step afresh."""

    process_id: str


class RequesterNoticeKind(StrEnum):
    """What the person who asked is told."""

    RECEIVED = "received"
    INFORMATION_REQUESTED = "information_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


class StaffNoticeKind(StrEnum):
    """What the school's staff (or académie support) are told."""

    NEW = "new"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    INFORMATION_RECEIVED = "information_received"


class RequesterNotice(BaseModel):
    request_id: UUID
    kind: RequesterNoticeKind
    step: str  # idempotency step name, unique in the run
    message_id: UUID | None = None


class StaffNotice(BaseModel):
    request_id: UUID
    kind: StaffNoticeKind
    step: str


class NoticeOutcome(BaseModel):
    sent: int  # messages handed over now
    recipients: int  # recipients concerned (sent now or by an earlier attempt)


# --- assistance tickets (not a workflow: kept in PostgreSQL) -------------------


class TicketCategory(StrEnum):
    """What the FAQ sends to "le formulaire d'assistance académique"."""

    SMS_REGISTRATION = "auto_inscription_sms"  # FAQ 2.1
    SCHOOL_CREDENTIALS = "identifiants_etablissement"  # FAQ 2.2
    FRANCECONNECT = "franceconnect"  # FAQ 2.3
    PUPIL_ACCOUNT = "compte_eleve"  # FAQ 2.4
    SIGN_IN = "connexion"  # FAQ 3 to 5
    EMAIL_ADDRESS = "adresse_electronique"  # FAQ 7 to 11
    ACCOUNT_MERGE = "regroupement_comptes"  # FAQ 12 and 13
    OTHER = "autre"  # "Vous n'avez pas trouvé de réponse à votre question ?"


TICKET_CATEGORY_LABELS = {
    TicketCategory.SMS_REGISTRATION: "L'auto-inscription par SMS ne me permet pas de poursuivre",
    TicketCategory.SCHOOL_CREDENTIALS: "Activation avec les identifiants transmis par l'établissement",
    TicketCategory.FRANCECONNECT: "Connexion avec FranceConnect",
    TicketCategory.PUPIL_ACCOUNT: "Compte élève",
    TicketCategory.SIGN_IN: "Connexion, identifiant ou mot de passe perdu",
    TicketCategory.EMAIL_ADDRESS: "Adresse électronique (validation, modification)",
    TicketCategory.ACCOUNT_MERGE: "Regroupement de comptes, rattachement d'enfants",
    TicketCategory.OTHER: "Autre question",
}
