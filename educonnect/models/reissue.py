"""Messages of the reissue of provisional credentials by staff (DESIGN §2),
and of the first credentials of a guardian who has no account yet: ids and
facts only. The new provisional password is generated, hashed and
delivered inside one activity; it never travels here."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel

from educonnect.errors import ErrorCode


class ReissueStep(StrEnum):
    ISSUING = "issuing"  # new password, old credentials and sessions ended, email or letter
    ENDING_ACTIVATION = "ending_activation"  # an activation started with the old credentials
    DONE = "done"
    REFUSED = "refused"  # the account changed meanwhile (activated, merged)


STEP_LABELS = {
    ReissueStep.ISSUING: "Émission des nouveaux identifiants provisoires",
    ReissueStep.ENDING_ACTIVATION: "Arrêt de l'activation commencée avec les anciens identifiants",
    ReissueStep.DONE: "Nouveaux identifiants remis",
    ReissueStep.REFUSED: "Nouveaux identifiants refusés",
}

CHANNEL_LABELS = {"email": "par courriel", "letter": "par courrier à imprimer"}


class ReissueInput(BaseModel):
    reissue_id: UUID
    uai: str
    account_id: UUID | None = None  # the account whose credentials are replaced...
    guardian_id: UUID | None = None  # ...or the guardian whose first account is created


class ReissueRef(BaseModel):
    reissue_id: UUID


class ReissueOutcome(BaseModel):
    refusal: ErrorCode | None = None
    account_id: UUID | None = None
    created: bool = False  # the guardian's first account, created now
    channel: str | None = None  # 'email' | 'letter'
    kind: str = "guardian"  # the account's kind: which activation to end
    was_activating: bool = False  # the old credentials had started an activation


class ReissueResult(BaseModel):
    step: ReissueStep
    refusal: ErrorCode | None = None
    account_id: UUID | None = None
    created: bool = False
    channel: str | None = None
