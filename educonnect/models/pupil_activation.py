"""Messages of the pupil activation process (DESIGN §3.4, FAQ 2.4): ids and
facts only, never the password (its hash waits in `pending_passwords`).

The process has the steps of the guardian's activation (`ActivationStep`) and
shares its link messages (`LinkSent`, `LinkClick`, ...): the confirmation page
of the email link serves both processes (it sends `confirm_link` to the
process that issued the link and reads an `ActivationResult`).
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel

from educonnect.errors import ErrorCode
from educonnect.models.activation import ActivationStep

PupilActivationStep = ActivationStep

STEP_LABELS = {
    ActivationStep.PROFILE: (
        "Gérer mon compte : en attente du mot de passe, de la date de naissance "
        "et, si l'élève le souhaite, d'une adresse électronique"
    ),
    ActivationStep.BIRTHDATE_BLOCKED: "Bloquée : 3 dates de naissance incorrectes, en attente d'une correction",
    ActivationStep.AWAITING_CONFIRMATION: "Activer votre compte : en attente du clic sur le lien de confirmation",
    ActivationStep.ACTIVE: "Compte activé",
    ActivationStep.EXPIRED: "Expirée : le lien de confirmation n'a pas été utilisé à temps",
}

NO_RECOVERY_NOTICE = (
    "Votre compte est activé sans adresse électronique confirmée : en cas d'oubli de votre identifiant "
    "ou de votre mot de passe, vous ne pourrez pas les récupérer seul. Adressez-vous alors à votre "
    "établissement. Vous pourrez ajouter une adresse électronique depuis « Gérer mon compte »."
)


class PupilActivationInput(BaseModel):
    account_id: UUID
    identifier: str
    credentials_expire_at: datetime


class PupilProfileSubmission(BaseModel):
    """Sent once the API has stored the new password's hash for this process."""

    birthdate: date
    email: str | None = None  # optional: confirmed by a link when given


class SkipEmail(BaseModel):
    """While the link waits: go on without an email address."""


class PupilActivationStatus(BaseModel):
    step: ActivationStep
    step_label: str
    identifier: str
    email: str | None = None
    email_confirmed: bool = False
    attempts_left: int
    links_sent: int = 0
    link_clicked: bool = False  # the click counted: the activation is ending
    last_link_sent_at: datetime | None = None
    reminder_due_at: datetime | None = None
    expires_at: datetime | None = None
    # Set once active without a confirmed email (FAQ 2.4).
    recovery_notice: str | None = None


class PupilProfileOutcome(BaseModel):
    accepted: bool
    error: ErrorCode | None = None
    attempts_left: int
    step: ActivationStep


# --- activity arguments -------------------------------------------------------


class ActivateWithoutEmail(BaseModel):
    account_id: UUID
    process_id: str
