"""Messages of the SMS code step (DESIGN §4), shared by SMS self-registration
and the FranceConnect first visit: ids and facts only.

The code itself never travels here. The activity that issues a code keeps
only its HMAC in PostgreSQL (`sms_codes`); the code a person types is stored
hashed by the API (`sms_code_submissions`) and reaches the workflow as a row id.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel

from educonnect.errors import ErrorCode


class SmsPurpose(StrEnum):
    REGISTRATION = "registration"
    FRANCECONNECT = "franceconnect"
    PASSWORD_RESET = "password_reset"  # lost password by SMS (DESIGN §3.6)


class SendOutcome(StrEnum):
    SENT = "sent"  # a code went to the number
    NO_NUMBER = "no_number"  # no number to send to (no record matched): nothing sent
    DAILY_CAP = "daily_cap"  # the number's daily SMS cap is reached: nothing sent


# For operators (Web UI details), never for the person: it would tell a match.
SEND_OUTCOME_LABELS = {
    SendOutcome.SENT: "code envoyé",
    SendOutcome.NO_NUMBER: "aucun numéro : rien n'est envoyé",
    SendOutcome.DAILY_CAP: "plafond quotidien de SMS du numéro atteint : rien n'est envoyé",
}


# --- update argument / result (API <-> workflow) --------------------------------


class CodeSubmission(BaseModel):
    """A code the person typed: the API stored its HMAC under this id
    (`educonnect.sms_codes.store_code_submission`)."""

    submission_id: UUID


class CodeCheck(BaseModel):
    accepted: bool
    error: ErrorCode | None = None  # SMS_CODE_INCORRECT, or SMS_CODE_LOCKED on the last failure
    attempts_left: int


class ResendCode(BaseModel):
    pass


class SmsCodeStatus(BaseModel):
    """What the person may see of the step. Identical whether a code really
    went out or not (no enumeration): the delivery outcome is not here."""

    sends: int
    sends_left: int
    attempts_left: int
    verified: bool
    locked: bool
    last_sent_at: datetime | None = None
    resend_available_at: datetime | None = None
    code_expires_at: datetime | None = None


# --- activity arguments / results ----------------------------------------------


class SendCodeRequest(BaseModel):
    process_id: str
    step: str  # idempotency step, unique in the run ("sms-code-1", "sms-code-2", ...)
    purpose: SmsPurpose
    mobile: str | None  # E.164 number on file; None: nothing is sent
    expires_at: datetime


class CodeIssued(BaseModel):
    code_id: UUID | None  # None when nothing was sent (no number, daily cap)
    outcome: SendOutcome


class CheckCodeRequest(BaseModel):
    process_id: str
    submission_id: UUID
    code_id: UUID | None  # the live code of the process; None: nothing can match


class CloseCodes(BaseModel):
    process_id: str
