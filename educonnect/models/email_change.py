"""Messages of the email-change process (DESIGN §3.8, FAQ 7–11): ids and facts
only. Link tokens never travel here: only the link's row id (`email_links`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel


class EmailChangeStep(StrEnum):
    AWAITING_REQUEST = "awaiting_request"  # started: the first address is on its way
    AWAITING_VALIDATION = "awaiting_validation"  # a validation link went to the new address
    VALIDATED = "validated"  # the link was clicked: the address changed and is verified
    EXPIRED = "expired"  # the link was not used in time: nothing changed
    CANCELLED = "cancelled"  # the person cancelled the pending change


ENDED_STEPS = frozenset(
    {EmailChangeStep.VALIDATED, EmailChangeStep.EXPIRED, EmailChangeStep.CANCELLED}
)

STEP_LABELS = {
    EmailChangeStep.AWAITING_REQUEST: "Demande reçue : envoi du lien de validation",
    EmailChangeStep.AWAITING_VALIDATION: "En attente du clic sur le lien de validation envoyé à la nouvelle adresse",
    EmailChangeStep.VALIDATED: "Adresse validée : l'adresse du compte est modifiée",
    EmailChangeStep.EXPIRED: "Expirée : le lien de validation n'a pas été utilisé à temps, rien n'a changé",
    EmailChangeStep.CANCELLED: "Annulée par la personne : rien n'a changé",
}


class LinkKind(StrEnum):
    FIRST = "first"  # the first link of the process
    RESEND = "resend"  # "Renvoyez un email de validation" (or the same address typed again)
    NEW_ADDRESS = "new_address"  # another address replaced the pending one


# --- workflow input, updates, signals, query, result ---------------------------


class EmailChangeInput(BaseModel):
    account_id: UUID
    identifier: str


class EmailChangeRequest(BaseModel):
    """The new address (typed twice, checked and normalised by the API)."""

    email: str


class ResendValidation(BaseModel):
    pass


class CancelEmailChange(BaseModel):
    pass


class ValidationLinkClicked(BaseModel):
    """The click as a signal (durable at once): sent by the link page when the
    `confirm_link` update (`educonnect.models.activation.LinkClick`) is not
    answered in time, and before that update existed."""

    link_id: UUID


class EmailChangeStatus(BaseModel):
    step: EmailChangeStep
    step_label: str
    email: str | None = None  # the pending (new) address
    first_validation: bool = False  # the account has no validated address yet (FAQ 7, 9)
    links_sent: int = 0
    links_left: int = 0
    link_clicked: bool = False  # the click on the live link counted: the change is ending
    last_link_sent_at: datetime | None = None
    resend_available_at: datetime | None = None
    expires_at: datetime | None = None


class EmailChangeResult(BaseModel):
    step: EmailChangeStep
    email: str | None = None


# --- activity arguments / results -----------------------------------------------


class LoadAccountEmail(BaseModel):
    account_id: UUID


class AccountEmailFacts(BaseModel):
    identifier: str
    email: str | None
    verified: bool


class ValidationLinkRequest(BaseModel):
    account_id: UUID
    process_id: str
    email: str
    step: str  # idempotency step, unique in the run ("link-1", "link-2", ...)
    kind: LinkKind
    first_validation: bool
    expires_at: datetime


class ChangeNoticeKind(StrEnum):
    REQUESTED = "requested"  # to the old address: a change to <new> was asked for
    CHANGED = "changed"  # to the old address: the address is now <new>


class ChangeNotice(BaseModel):
    account_id: UUID
    step: str
    kind: ChangeNoticeKind
    to: str | None  # the old (validated) address; None: by SMS to the verified number, if any
    new_email: str


class ApplyEmailChange(BaseModel):
    account_id: UUID
    process_id: str
    link_id: UUID


class EmailChangeApplied(BaseModel):
    email: str
    previous_email: str | None
    previous_verified: bool


class CloseEmailChange(BaseModel):
    account_id: UUID
    process_id: str
    step: EmailChangeStep  # EXPIRED or CANCELLED
    pending_email: str | None
