"""Messages of the activation process (DESIGN §3.1): ids and facts only.

The new password never travels here: the API stores its hash in PostgreSQL
(`pending_passwords`) before it sends the profile to the workflow.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel

from educonnect.errors import ErrorCode


class ActivationStep(StrEnum):
    PROFILE = "profile"  # "Gérer mon compte": password, email, a child's birthdate
    BIRTHDATE_BLOCKED = "birthdate_blocked"  # 3 wrong birthdates: waits for a correction
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # "Activer votre compte": link sent
    ACTIVE = "active"
    EXPIRED = "expired"


ENDED_STEPS = (ActivationStep.ACTIVE, ActivationStep.EXPIRED)

STEP_LABELS = {
    ActivationStep.PROFILE: "Gérer mon compte : en attente du mot de passe, de l'email et de la date de naissance",
    ActivationStep.BIRTHDATE_BLOCKED: "Bloquée : 3 dates de naissance incorrectes, en attente d'une correction",
    ActivationStep.AWAITING_CONFIRMATION: "Activer votre compte : en attente du clic sur le lien de confirmation",
    ActivationStep.ACTIVE: "Compte activé",
    ActivationStep.EXPIRED: "Expirée : le lien de confirmation n'a pas été utilisé à temps",
}


class ActivationInput(BaseModel):
    account_id: UUID
    identifier: str
    credentials_expire_at: datetime | None = None  # the school's credentials are valid 3 months


class ProfileSubmission(BaseModel):
    """Sent once the API has stored the new password's hash for this process."""

    email: str
    child_birthdate: date


class ProfileOutcome(BaseModel):
    accepted: bool
    error: ErrorCode | None = None
    attempts_left: int
    step: ActivationStep
    # Accepted: the status once the process has moved on to the link, so that
    # the API answers without querying it (None from runs recorded before).
    status: ActivationStatus | None = None


class EmailCorrection(BaseModel):
    email: str


class ResendRequest(BaseModel):
    pass


class LinkSent(BaseModel):
    link_id: UUID
    email: str
    sent_at: datetime


class LinkClick(BaseModel):
    """The click on a confirmation link (the `confirm_link` update): the API
    found its token live in PostgreSQL; only the link's id travels."""

    link_id: UUID


class LinkClicked(BaseModel):
    """The same, as a signal: durable at once, sent by the link page when the
    update is not answered in time (no worker running), and before
    `confirm_link` existed."""

    link_id: UUID


class BirthdateUnblocked(BaseModel):
    """Seam for the birthdate-correction process: the record was corrected.
    A claim: the receiving process reads the correction back (approved and
    joined by it) before it unblocks (`workflows.steps.birthdate_step`)."""

    correction_id: str


class ActivationStatus(BaseModel):
    step: ActivationStep
    step_label: str
    identifier: str
    email: str | None = None
    attempts_left: int
    links_sent: int = 0
    link_clicked: bool = False  # the click counted: the activation is ending
    last_link_sent_at: datetime | None = None
    reminder_due_at: datetime | None = None
    expires_at: datetime | None = None


class ActivationResult(BaseModel):
    step: ActivationStep
    identifier: str
    email: str | None = None


# --- activity arguments -------------------------------------------------------


class BirthdateCheck(BaseModel):
    account_id: UUID
    birthdate: date


class BeginActivation(BaseModel):
    account_id: UUID
    process_id: str
    email: str | None = None  # optional for pupils (DESIGN §3.4)


class LinkRequestKind(StrEnum):
    """Why an emailed link is sent (an activation's email is worded by it)."""

    CONFIRMATION = "confirmation"  # an activation's first link
    REMINDER = "reminder"  # an activation's reminder, with a fresh link
    RESEND = "resend"  # "Renvoyez un email" (activation, email change)
    NEW_ADDRESS = (
        "new_address"  # another address replaced the pending one (activation, email change)
    )
    FIRST = "first"  # an email change's first link
    RESET = "reset"  # lost password


class LinkRequest(BaseModel):
    account_id: UUID
    process_id: str
    email: str
    step: str  # idempotency step name, unique in the run ("link-1", "reminder", ...)
    kind: LinkRequestKind
    expires_at: datetime


class ClickReadBack(BaseModel):
    """Did the API record a click (the token shown) on this link of this process?"""

    process_id: str
    link_id: UUID


class CompleteActivation(BaseModel):
    account_id: UUID
    process_id: str
    link_id: UUID


class AbandonActivation(BaseModel):
    account_id: UUID
    process_id: str
