"""Messages of the account merge, "regroupement de comptes" (DESIGN §3.10,
FAQ 12-13): ids and facts only.

The other account's password is checked by the API (under that account's
sign-in limits) and never travels here: the workflow gets the id of the
`account_merges` row the API wrote after the check.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel

from educonnect.errors import ErrorCode


class MergeStep(StrEnum):
    CHECKING = "checking"  # same person? mergeable?
    MOVING_CHILDREN = "moving_children"
    NOTIFYING = "notifying"
    MERGED = "merged"
    REFUSED = "refused"


STEP_LABELS = {
    MergeStep.CHECKING: "Vérification des deux comptes",
    MergeStep.MOVING_CHILDREN: "Rattachement des enfants au compte conservé",
    MergeStep.NOTIFYING: "Information des deux adresses électroniques",
    MergeStep.MERGED: "Comptes regroupés",
    MergeStep.REFUSED: "Regroupement refusé",
}


class MergeInput(BaseModel):
    merge_id: UUID
    kept_account_id: UUID
    other_account_id: UUID


class MergeRef(BaseModel):
    merge_id: UUID


class MergeCheck(BaseModel):
    refusal: ErrorCode | None = None
    already_merged_by_this_request: bool = False
    kept_identifier: str = ""
    other_identifier: str = ""


class MergeOutcome(BaseModel):
    children_moved: int
    changed: bool  # False when an earlier run already did it
    # The other account signed in with its school-issued credentials: an
    # activation workflow may be waiting for it.
    activation_started: bool = False


class MergeResult(BaseModel):
    step: MergeStep
    refusal: ErrorCode | None = None
    kept_identifier: str = ""
    other_identifier: str = ""
    children_moved: int = 0


class MergeStatus(BaseModel):
    step: MergeStep
    step_label: str
    merge_id: UUID
    refusal: ErrorCode | None = None
    children_moved: int = 0


class CancelActivation(BaseModel):
    account_id: UUID
