"""Messages of SMS self-registration, "Je n'ai pas de compte" (DESIGN §3.2,
FAQ 2.1): ids and facts only.

Neither the SMS code nor the new password travels here: the API stores the
typed code's HMAC (`sms_code_submissions`) and the password's hash
(`registrations`) in PostgreSQL and sends the workflow row ids / a "ready" event.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel

from educonnect.errors import ErrorCode
from educonnect.models.activation import (
    BirthdateUnblocked,  # the correction process's event, shared
)
from educonnect.models.sms_codes import SmsCodeStatus

__all__ = [
    "BirthdateUnblocked",
    "RegistrationStep",
    "STEP_LABELS",
    "ENDED_STEPS",
    "RegistrationInput",
    "BirthdateSubmission",
    "BirthdateOutcome",
    "PasswordReady",
    "AccountCreated",
    "RegistrationStatus",
    "RegistrationResult",
    "FindRegistrant",
    "Registrant",
    "GuardianBirthdateCheck",
    "ExistingAccountNotice",
    "CreateRegisteredAccount",
    "AbandonRegistration",
    "ACCOUNT_EXISTS",
]

# Error type when the guardian got an account (e.g. a school import) while
# registering: the activity raises it, the workflow tells the person by SMS instead.
ACCOUNT_EXISTS = "account_exists"


class RegistrationStep(StrEnum):
    AWAITING_CODE = "awaiting_code"  # the code was sent by SMS (if the record matched)
    BIRTHDATE = "birthdate"  # confirm a child's birthdate
    BIRTHDATE_BLOCKED = "birthdate_blocked"  # 3 wrong birthdates: waits for a correction
    PASSWORD = "password"  # create the password
    COMPLETED = "completed"  # account created, person signed in
    CODE_LOCKED = "code_locked"  # 5 wrong codes
    ACCOUNT_EXISTS = "account_exists"  # the guardian got an account meanwhile (told by SMS)
    EXPIRED = "expired"  # 30 minutes without progress


STEP_LABELS = {
    RegistrationStep.AWAITING_CODE: "En attente du code reçu par SMS",
    RegistrationStep.BIRTHDATE: "En attente de la date de naissance d'un enfant",
    RegistrationStep.BIRTHDATE_BLOCKED: "Bloquée : 3 dates de naissance incorrectes, en attente d'une correction",
    RegistrationStep.PASSWORD: "En attente du choix du mot de passe",
    RegistrationStep.COMPLETED: "Compte créé",
    RegistrationStep.CODE_LOCKED: "Terminée : trop de codes incorrects",
    RegistrationStep.ACCOUNT_EXISTS: "Terminée : le responsable a déjà un compte (informé par SMS)",
    RegistrationStep.EXPIRED: "Expirée : 30 minutes sans action",
}

ENDED_STEPS = frozenset(
    {
        RegistrationStep.COMPLETED,
        RegistrationStep.CODE_LOCKED,
        RegistrationStep.ACCOUNT_EXISTS,
        RegistrationStep.EXPIRED,
    }
)


class RegistrationInput(BaseModel):
    registration_id: UUID
    # The guardian record matched by last name, first name and mobile; None:
    # nothing matched (the attempt runs the same way, no code can succeed).
    guardian_id: UUID | None = None


class BirthdateSubmission(BaseModel):
    birthdate: date


class BirthdateOutcome(BaseModel):
    accepted: bool
    error: ErrorCode | None = None
    attempts_left: int
    step: RegistrationStep


class PasswordReady(BaseModel):
    """Sent once the API has stored the new password's hash for this process."""


class AccountCreated(BaseModel):
    account_id: UUID
    identifier: str


class RegistrationStatus(BaseModel):
    step: RegistrationStep
    step_label: str
    code: SmsCodeStatus | None = None  # None until the first code went out
    birthdate_attempts_left: int
    expires_at: datetime | None = None  # without progress by then, the attempt expires
    identifier: str | None = None  # once the account is created
    # Internal (the API needs it for the password policy; never shown): set
    # only once the code was verified, so it reveals nothing before.
    guardian_id: UUID | None = None


class RegistrationResult(BaseModel):
    step: RegistrationStep
    account_id: UUID | None = None
    identifier: str | None = None


# --- activity arguments / results -------------------------------------------------


class FindRegistrant(BaseModel):
    guardian_id: UUID | None  # None: no record matched (the lookup finds nothing)


class Registrant(BaseModel):
    guardian_id: UUID
    mobile: str  # E.164, on file
    existing_account_id: UUID | None = None


class GuardianBirthdateCheck(BaseModel):
    guardian_id: UUID
    birthdate: date


class ExistingAccountNotice(BaseModel):
    process_id: str
    guardian_id: UUID
    mobile: str


class CreateRegisteredAccount(BaseModel):
    process_id: str
    guardian_id: UUID
    mobile: str


class AbandonRegistration(BaseModel):
    process_id: str
