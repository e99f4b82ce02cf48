"""Messages of the FranceConnect first visit (DESIGN §3.3, FAQ 2.3): ids and
facts only.

The OpenID Connect exchange happens in the API; neither the ID token nor the
access token ever reaches Temporal. The API keeps the verified identity in
PostgreSQL (`franceconnect_identities`) and starts the workflow with the row
ids. The SMS code a person types reaches the workflow as a row id
(`educonnect.models.sms_codes.CodeSubmission`).
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
    "LinkStep",
    "STEP_LABELS",
    "ENDED_STEPS",
    "RESUMED_STEPS",
    "LinkInput",
    "MobileSubmission",
    "MobileOutcome",
    "BirthdateSubmission",
    "BirthdateOutcome",
    "PersonReturned",
    "LinkStatus",
    "LinkResult",
    "MatchGuardian",
    "GuardianMatch",
    "ChildBirthdateCheck",
    "LinkIdentity",
    "LinkedAccount",
    "CloseLink",
]


class LinkStep(StrEnum):
    AWAITING_MOBILE = "awaiting_mobile"  # the mobile given on the school's form
    AWAITING_CODE = "awaiting_code"  # the code sent by SMS (if the mobile matched)
    AWAITING_BIRTHDATE = "awaiting_birthdate"  # a child's birthdate
    BIRTHDATE_BLOCKED = "birthdate_blocked"  # 3 wrong birthdates: waits for a correction
    LINKED = "linked"  # the FranceConnect identity is linked to the guardian's account
    CODE_LOCKED = "code_locked"  # 5 wrong codes
    EXPIRED = "expired"  # 30 minutes without progress
    REPLACED = "replaced"  # back through FranceConnect before the code: a fresh one started


STEP_LABELS = {
    LinkStep.AWAITING_MOBILE: "En attente du numéro de téléphone mobile",
    LinkStep.AWAITING_CODE: "En attente du code reçu par SMS",
    LinkStep.AWAITING_BIRTHDATE: "En attente de la date de naissance d'un enfant",
    LinkStep.BIRTHDATE_BLOCKED: "Bloquée : 3 dates de naissance incorrectes, en attente d'une correction",
    LinkStep.LINKED: "Identité FranceConnect associée au compte",
    LinkStep.CODE_LOCKED: "Terminée : trop de codes incorrects",
    LinkStep.EXPIRED: "Expirée : 30 minutes sans action",
    LinkStep.REPLACED: "Remplacée : la personne est revenue par FranceConnect et a recommencé",
}

ENDED_STEPS = frozenset(
    {LinkStep.LINKED, LinkStep.CODE_LOCKED, LinkStep.EXPIRED, LinkStep.REPLACED}
)
# Coming back through FranceConnect resumes a first visit in these steps (past
# the SMS code); in the others (mobile, code) it starts a fresh one.
RESUMED_STEPS = frozenset({LinkStep.AWAITING_BIRTHDATE, LinkStep.BIRTHDATE_BLOCKED})


class LinkInput(BaseModel):
    link_id: UUID  # franceconnect_links.id, the <uuid> of the workflow id
    identity_id: UUID  # franceconnect_identities.id


class MobileSubmission(BaseModel):
    mobile: str  # E.164, normalised by the API


class MobileOutcome(BaseModel):
    """The same whether or not the mobile matched a guardian (no enumeration)."""

    step: LinkStep
    code: SmsCodeStatus


class BirthdateSubmission(BaseModel):
    birthdate: date


class BirthdateOutcome(BaseModel):
    accepted: bool
    error: ErrorCode | None = None
    attempts_left: int
    step: LinkStep
    account_id: UUID | None = None  # once linked: the API opens the portal session


class PersonReturned(BaseModel):
    """Signal: the person came back through FranceConnect (same identity).
    `fresh_start`: the API starts a fresh first visit; this one, if still at
    the mobile or the code, ends (`replaced`)."""

    fresh_start: bool = False


class LinkStatus(BaseModel):
    step: LinkStep
    step_label: str
    code: SmsCodeStatus | None = None
    birthdate_attempts_left: int
    expires_at: datetime | None = None  # without progress by then, the process expires
    # Internal (the API needs it for the correction request; never shown): set
    # only once the code was verified, so it reveals nothing before.
    guardian_id: UUID | None = None


class LinkResult(BaseModel):
    step: LinkStep
    account_id: UUID | None = None


# --- activity arguments / results ----------------------------------------------


class MatchGuardian(BaseModel):
    identity_id: UUID
    mobile: str  # E.164
    link_id: UUID | None = None  # the first visit trying it (counted for the daily limit)


class GuardianMatch(BaseModel):
    guardian_id: UUID | None = None  # None: no guardian with these names and this mobile
    mobile_on_file: str | None = None
    # The identity tried too many numbers today: nothing matched, nothing sent.
    daily_limit_reached: bool = False


class ChildBirthdateCheck(BaseModel):
    guardian_id: UUID
    birthdate: date


class LinkIdentity(BaseModel):
    link_id: UUID
    identity_id: UUID
    guardian_id: UUID


class LinkedAccount(BaseModel):
    account_id: UUID
    created: bool  # the account was created by this link


class CloseLink(BaseModel):
    link_id: UUID
    step: LinkStep
