"""Activation with school-issued credentials (DESIGN §3.1, FAQ 2.2 and 7).

One workflow per account, id `activation/<account-id>`:

1. "Gérer mon compte": the guardian gives a new password (its hash waits in
   PostgreSQL), an email address and a child's birthdate. Three wrong
   birthdates block the step until a correction is approved.
2. "Activer votre compte" (the confirmation-link step,
   `workflows.confirmation_link_step`): a confirmation link goes to the
   address. A reminder (with a fresh link) follows after 3 days; after 7 days
   the process expires. Meanwhile the guardian may ask for a new link or
   correct the address; each new link kills the previous one.
3. The click makes the account active with the new password and the address.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from educonnect import policies
from educonnect.errors import ErrorCode, message
from educonnect.models.activation import (
    STEP_LABELS,
    AbandonActivation,
    ActivationInput,
    ActivationResult,
    ActivationStatus,
    ActivationStep,
    BeginActivation,
    BirthdateCheck,
    BirthdateUnblocked,
    CompleteActivation,
    EmailCorrection,
    LinkClicked,
    LinkSent,
    ProfileOutcome,
    ProfileSubmission,
    ResendRequest,
)
from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP

from workflows.confirmation_link_step import ConfirmationLinkStep
from workflows.waiting import wait_until

with workflow.unsafe.imports_passed_through():
    from activities.accounts import AccountActivities
    from activities.email_links import EmailLinkActivities
    from activities.records import RecordActivities

ACTIVITY_OPTIONS = dict(
    start_to_close_timeout=timedelta(seconds=30),
    retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
)


def workflow_id(account_id) -> str:
    return f"activation/{account_id}"


@workflow.defn(name="Activation")
class ActivationWorkflow:
    @workflow.init
    def __init__(self, params: ActivationInput) -> None:
        self._params = params
        self._step = ActivationStep.PROFILE
        self._attempts_left = policies.BIRTHDATE_MAX_ATTEMPTS
        self._profile_accepted = False
        self._link = ConfirmationLinkStep(
            send=EmailLinkActivities.send_activation_link, account_id=params.account_id, on_sent=self._set_details
        )
        self._profile_lock = asyncio.Lock()

    # --- the process ------------------------------------------------------------

    @workflow.run
    async def run(self, params: ActivationInput) -> ActivationResult:
        self._enter(ActivationStep.PROFILE)
        if not await wait_until(lambda: self._profile_accepted, params.credentials_expire_at):
            return await self._expire()

        self._enter(ActivationStep.AWAITING_CONFIRMATION)
        if not await self._link.send_and_wait_for_click():
            return await self._expire()
        return await self._activate()

    # --- step "Gérer mon compte" ------------------------------------------------

    @workflow.update
    async def submit_profile(self, profile: ProfileSubmission) -> ProfileOutcome:
        async with self._profile_lock:
            if self._step != ActivationStep.PROFILE:  # a concurrent submission won
                return self._profile_outcome(error=self._refusal_for_step())
            matches = await workflow.execute_activity_method(
                RecordActivities.check_child_birthdate,
                BirthdateCheck(account_id=self._params.account_id, birthdate=profile.child_birthdate),
                **ACTIVITY_OPTIONS,
            )
            if not matches:
                self._attempts_left -= 1
                if self._attempts_left > 0:
                    return self._profile_outcome(error=ErrorCode.BIRTHDATE_INCORRECT)
                self._enter(ActivationStep.BIRTHDATE_BLOCKED)
                return self._profile_outcome(error=ErrorCode.BIRTHDATE_BLOCKED)
            await workflow.execute_activity_method(
                AccountActivities.begin_activation,
                BeginActivation(
                    account_id=self._params.account_id, process_id=workflow.info().workflow_id, email=profile.email
                ),
                **ACTIVITY_OPTIONS,
            )
            self._link.email = profile.email
            self._profile_accepted = True
            return self._profile_outcome(accepted=True)

    @submit_profile.validator
    def _validate_profile(self, profile: ProfileSubmission) -> None:
        if self._step != ActivationStep.PROFILE or self._profile_accepted:
            code = self._refusal_for_step()
            raise ApplicationError(message(code), type=code)

    @workflow.signal
    def birthdate_unblocked(self, event: BirthdateUnblocked) -> None:
        """The school record was corrected: the birthdate step starts afresh."""
        if self._step == ActivationStep.BIRTHDATE_BLOCKED:
            self._attempts_left = policies.BIRTHDATE_MAX_ATTEMPTS
            self._enter(ActivationStep.PROFILE)

    # --- step "Activer votre compte" --------------------------------------------

    @workflow.update
    async def resend_link(self, request: ResendRequest) -> LinkSent:
        return await self._link.resend()

    @resend_link.validator
    def _validate_resend(self, request: ResendRequest) -> None:
        self._require_awaiting_confirmation()
        self._link.validate_resend()

    @workflow.update
    async def correct_email(self, correction: EmailCorrection) -> LinkSent:
        return await self._link.send_to(correction.email)

    @correct_email.validator
    def _validate_correction(self, correction: EmailCorrection) -> None:
        self._require_awaiting_confirmation()
        self._link.validate_new_link()

    @workflow.signal
    def link_clicked(self, event: LinkClicked) -> None:
        self._link.click(event.link_id)

    @workflow.query
    def status(self) -> ActivationStatus:
        return ActivationStatus(
            step=self._step,
            step_label=STEP_LABELS[self._step],
            identifier=self._params.identifier,
            email=self._link.email,
            attempts_left=self._attempts_left,
            **self._link.status_fields(),
        )

    # --- helpers ----------------------------------------------------------------

    async def _activate(self) -> ActivationResult:
        assert self._link.latest is not None
        await workflow.execute_activity_method(
            AccountActivities.complete_activation,
            CompleteActivation(
                account_id=self._params.account_id,
                process_id=workflow.info().workflow_id,
                link_id=self._link.latest.link_id,
            ),
            **ACTIVITY_OPTIONS,
        )
        return await self._finish(ActivationStep.ACTIVE)

    async def _expire(self) -> ActivationResult:
        await workflow.execute_activity_method(
            AccountActivities.abandon_activation,
            AbandonActivation(account_id=self._params.account_id, process_id=workflow.info().workflow_id),
            **ACTIVITY_OPTIONS,
        )
        return await self._finish(ActivationStep.EXPIRED)

    async def _finish(self, step: ActivationStep) -> ActivationResult:
        self._enter(step)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ActivationResult(step=step, identifier=self._params.identifier, email=self._link.email)

    def _enter(self, step: ActivationStep) -> None:
        self._step = step
        workflow.upsert_search_attributes(
            [PROCESS_STEP.value_set(step.value), ACCOUNT_ID.value_set(str(self._params.account_id))]
        )
        self._set_details()

    def _set_details(self) -> None:
        details = f"**{STEP_LABELS[self._step]}**\n\nCompte : {self._params.identifier}"
        if self._step == ActivationStep.PROFILE and self._attempts_left < policies.BIRTHDATE_MAX_ATTEMPTS:
            details += f"\n\nEssais de date de naissance restants : {self._attempts_left}"
        if self._step == ActivationStep.AWAITING_CONFIRMATION and (links := self._link.details()):
            details += f"\n\n{links}"
        workflow.set_current_details(details)

    def _profile_outcome(self, *, accepted: bool = False, error: ErrorCode | None = None) -> ProfileOutcome:
        return ProfileOutcome(accepted=accepted, error=error, attempts_left=self._attempts_left, step=self._step)

    def _refusal_for_step(self) -> ErrorCode:
        if self._step == ActivationStep.BIRTHDATE_BLOCKED:
            return ErrorCode.BIRTHDATE_BLOCKED
        if self._step in (ActivationStep.ACTIVE, ActivationStep.EXPIRED):
            return ErrorCode.PROCESS_ENDED
        return ErrorCode.WRONG_STEP

    def _require_awaiting_confirmation(self) -> None:
        if self._step != ActivationStep.AWAITING_CONFIRMATION or self._link.clicked:
            code = self._refusal_for_step()
            raise ApplicationError(message(code), type=code)
