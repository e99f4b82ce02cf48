"""Messages of password change (DESIGN §3.9, FAQ 10), lost password and lost
identifier (DESIGN §3.6, FAQ 4–5): ids and facts only.

No password, hash, SMS code or link token travels here: the API stores the
new password's hash in `pending_passwords` and a typed code's HMAC in
`sms_code_submissions`, and hands the workflow row ids or a "ready" event.
The address or number a person typed to recover an account is not a secret
(like the email of the activation process), but the workflows never say
whether it matched an account to anyone but the operators.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel

from educonnect.models.sms_codes import SmsCodeStatus


class RecoveryChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


# --- password change ("Modifier mon mot de passe", FAQ 10) -----------------------


class PasswordChangeInput(BaseModel):
    """The new password's hash waits in `pending_passwords` under this process id."""

    account_id: UUID
    identifier: str
    keep_session_id: UUID  # the session that asked: every other session ends


class PasswordChangeStep(StrEnum):
    APPLYING = "applying"
    NOTIFYING = "notifying"
    COMPLETED = "completed"


PASSWORD_CHANGE_LABELS = {
    PasswordChangeStep.APPLYING: "Enregistrement du nouveau mot de passe, fin des autres sessions",
    PasswordChangeStep.NOTIFYING: "Envoi de la notification de changement de mot de passe",
    PasswordChangeStep.COMPLETED: "Mot de passe modifié, notification envoyée",
}


class PasswordChangeStatus(BaseModel):
    step: PasswordChangeStep
    step_label: str
    sessions_ended: int | None = None


class WaitApplied(BaseModel):
    """Update argument: answer once the new password is in force."""


class PasswordChangeResult(BaseModel):
    sessions_ended: int


# --- lost password ("Mot de passe perdu", FAQ 5) -----------------------------------


class PasswordResetStep(StrEnum):
    LOOKING_UP = "looking_up"  # the request is being matched (nothing said to the person)
    AWAITING_LINK = "awaiting_link"  # email way: the single-use link was sent
    AWAITING_CODE = "awaiting_code"  # SMS way: the code was sent (if the request matched)
    NEW_PASSWORD = "new_password"  # SMS way: code verified, waiting for the new password
    COMPLETED = "completed"  # new password set, sessions ended, notification sent
    CODE_LOCKED = "code_locked"  # 5 wrong codes
    EXPIRED = "expired"  # the link or the request expired
    NO_MATCH = "no_match"  # email way: no account matched, nothing was sent


RESET_ENDED_STEPS = frozenset(
    {
        PasswordResetStep.COMPLETED,
        PasswordResetStep.CODE_LOCKED,
        PasswordResetStep.EXPIRED,
        PasswordResetStep.NO_MATCH,
    }
)

RESET_LABELS = {
    PasswordResetStep.LOOKING_UP: "Recherche du compte correspondant à la demande",
    PasswordResetStep.AWAITING_LINK: "En attente du clic sur le lien de réinitialisation (valable 1 heure)",
    PasswordResetStep.AWAITING_CODE: "En attente du code reçu par SMS",
    PasswordResetStep.NEW_PASSWORD: "Code vérifié : en attente du nouveau mot de passe",
    PasswordResetStep.COMPLETED: "Mot de passe réinitialisé, sessions fermées, notification envoyée",
    PasswordResetStep.CODE_LOCKED: "Terminée : trop de codes incorrects",
    PasswordResetStep.EXPIRED: "Expirée : la demande n'a pas abouti à temps",
    PasswordResetStep.NO_MATCH: "Terminée : aucun compte ne correspond, rien n'a été envoyé",
}


class PasswordResetInput(BaseModel):
    reset_id: UUID
    channel: RecoveryChannel
    identifier: str  # as typed, normalised
    contact: str  # the email address or the E.164 number typed


class NewPasswordReady(BaseModel):
    """The API stored the new password's hash in `pending_passwords` for this
    process; `link_id`: the reset link used (email way)."""

    link_id: UUID | None = None


class PasswordResetDone(BaseModel):
    identifier: str


class PasswordResetStatus(BaseModel):
    """What the person may see (SMS way). Identical whether or not the request
    matched an account, until the code is verified."""

    step: PasswordResetStep
    step_label: str
    code: SmsCodeStatus | None = None
    expires_at: datetime | None = None
    # Set only once the code was verified (the person proved the number).
    account_id: UUID | None = None


class PasswordResetResult(BaseModel):
    step: PasswordResetStep


# --- lost identifier ("Identifiant perdu", FAQ 4) ----------------------------------


class IdentifierRecoveryInput(BaseModel):
    channel: RecoveryChannel
    contact: str


class IdentifierRecoveryStep(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    NO_MATCH = "no_match"


IDENTIFIER_RECOVERY_LABELS = {
    IdentifierRecoveryStep.SENDING: "Recherche des comptes et envoi de l'identifiant",
    IdentifierRecoveryStep.SENT: "Identifiant envoyé",
    IdentifierRecoveryStep.NO_MATCH: "Aucun compte ne correspond : rien n'a été envoyé",
}


class IdentifierRecoveryStatus(BaseModel):
    step: IdentifierRecoveryStep
    step_label: str


# --- activity arguments / results -----------------------------------------------------


class PasswordNoticeKind(StrEnum):
    CHANGED = "changed"  # "Modifier mon mot de passe"
    RESET = "reset"  # "Mot de passe perdu"


class ApplyPasswordChange(BaseModel):
    account_id: UUID
    process_id: str
    kind: PasswordNoticeKind
    keep_session_id: UUID | None = None  # None: every session ends (lost password)
    link_id: UUID | None = None  # the reset link, used up in the same transaction


class PasswordApplied(BaseModel):
    identifier: str
    sessions_ended: int


class PasswordNotice(BaseModel):
    account_id: UUID
    process_id: str
    step: str
    kind: PasswordNoticeKind


class FindResetTarget(BaseModel):
    channel: RecoveryChannel
    identifier: str
    contact: str


class ResetTarget(BaseModel):
    account_id: UUID | None = None
    email: str | None = None  # email way: the validated address
    mobile: str | None = None  # SMS way: the verified number


class ResetLinkRequest(BaseModel):
    account_id: UUID
    process_id: str
    email: str
    step: str
    expires_at: datetime


class CloseReset(BaseModel):
    process_id: str
    account_id: UUID | None = None


class IdentifierReminder(BaseModel):
    process_id: str
    channel: RecoveryChannel
    contact: str
