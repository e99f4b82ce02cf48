"""What the guardian's and the pupil's activation with school-issued
credentials share (DESIGN §3.1 and §3.4, FAQ 2.2 and 2.4): the same steps
(`ActivationStep`) with the same refusals, and the same account's side of the
process. Deterministic workflow-side code; the activities
(`activities.accounts`) write the account.

- "Gérer mon compte": a birthdate checked against the school records (the
  birthdate step, `workflows.steps.birthdate_step`: 3 tries, then blocked until a
  correction is approved), then the activation begins: the new password,
  whose hash the API stored in PostgreSQL for this process, waits with it,
  and so does the address to confirm (optional for a pupil);
- the process ends with the click on the latest confirmation link (the
  account is active with the new password and the confirmed address) or
  expires (its links die, the new password is forgotten, and the school's
  credentials work again for a later attempt).

A workflow owns one `AccountActivation`: `submit_profile` (under `lock`) checks
the birthdate and keeps the address, `birthdate.unblock_if_approved` resumes a
blocked process, `complete(link_id)` and `abandon()` end it. Validators raise
`refusal_at(step)`; `refusal_for_step` gives the code for a submission that
lost a race.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from uuid import UUID

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from educonnect.errors import ErrorCode
from educonnect.models.activation import (
    AbandonActivation,
    ActivationStep,
    BeginActivation,
    BirthdateCheck,
    CompleteActivation,
)
from workflows.steps.birthdate_step import BirthdateStep
from workflows.steps.refusals import refusal
from workflows.steps.short_steps import run_short_step

with workflow.unsafe.imports_passed_through():
    from activities.accounts import AccountActivities


def refusal_for_step(step: ActivationStep) -> ErrorCode:
    """Why a request does not fit the process's current step."""
    if step == ActivationStep.BIRTHDATE_BLOCKED:
        return ErrorCode.BIRTHDATE_BLOCKED
    if step in (ActivationStep.ACTIVE, ActivationStep.EXPIRED):
        return ErrorCode.PROCESS_ENDED
    return ErrorCode.WRONG_STEP


def refusal_at(step: ActivationStep) -> ApplicationError:
    """The refusal for the current step, as update validators raise it."""
    return refusal(refusal_for_step(step))


# The timer of the first step on the Web UI's timeline.
CREDENTIALS_EXPIRY_SUMMARY = "Expiration des identifiants provisoires"


class AccountActivation:
    def __init__(
        self,
        *,
        account_id: UUID,
        check_birthdate: Callable,
        on_blocked: Callable[[], None],
        on_failed: Callable[[], None],
    ) -> None:
        self._account_id = account_id
        self.birthdate = BirthdateStep(
            check=check_birthdate, on_blocked=on_blocked, on_failed=on_failed
        )
        self.profile_accepted = False

    @property
    def lock(self):
        """One profile submission at a time."""
        return self.birthdate.lock

    async def submit_profile(self, birthdate: date, email: str | None) -> ErrorCode | None:
        """ "Gérer mon compte" (hold `lock`): None once the birthdate matched and
        the activation began; otherwise the birthdate's refusal."""
        if error := await self.birthdate.check(
            BirthdateCheck(account_id=self._account_id, birthdate=birthdate)
        ):
            return error
        await run_short_step(
            AccountActivities.begin_activation,
            BeginActivation(
                account_id=self._account_id, process_id=workflow.info().workflow_id, email=email
            ),
            summary="Début de l'activation : nouveau mot de passe enregistré",
        )
        self.profile_accepted = True
        return None

    async def complete(self, link_id: UUID) -> None:
        """The latest link was clicked: the account is active with the new
        password and the address the link went to."""
        await run_short_step(
            AccountActivities.complete_activation,
            CompleteActivation(
                account_id=self._account_id, process_id=workflow.info().workflow_id, link_id=link_id
            ),
            summary="Activation du compte",
        )

    async def abandon(self) -> None:
        """The process expired: its links die, the new password is forgotten,
        the school's credentials work again for a later attempt."""
        await run_short_step(
            AccountActivities.abandon_activation,
            AbandonActivation(account_id=self._account_id, process_id=workflow.info().workflow_id),
            summary="Abandon de l'activation : liens et mot de passe oubliés",
        )
