"""Activation with school-issued credentials (DESIGN §3.1, FAQ 2.2 and 7).

One workflow per account, id `activation/<account-id>`:

1. "Gérer mon compte": the guardian gives a new password (its hash waits in
   PostgreSQL), an email address and a child's birthdate. Three wrong
   birthdates block the step until a correction is approved.
2. "Activer votre compte": a confirmation link goes to the address. A reminder
   (with a fresh link) follows after 3 days; after 7 days the process expires.
   Meanwhile the guardian may ask for a new link or correct the address; each
   new link kills the previous one.
3. The click makes the account active with the new password and the address.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

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
    LinkRequest,
    LinkSent,
    ProfileOutcome,
    ProfileSubmission,
    ResendRequest,
)
from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP

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
        self._email: str | None = None
        self._profile_accepted = False
        self._current_link: LinkSent | None = None
        self._links_sent = 0
        self._last_link_at: datetime | None = None  # workflow time, for the resend cooldown
        self._clicked = False
        self._reminder_due_at: datetime | None = None
        self._expires_at: datetime | None = None
        self._profile_lock = asyncio.Lock()
        self._link_lock = asyncio.Lock()

    # --- the process ------------------------------------------------------------

    @workflow.run
    async def run(self, params: ActivationInput) -> ActivationResult:
        self._enter(ActivationStep.PROFILE)
        if not await wait_until(lambda: self._profile_accepted, params.credentials_expire_at):
            return await self._expire()

        self._reminder_due_at = workflow.now() + policies.ACTIVATION_REMINDER_AFTER
        self._expires_at = workflow.now() + policies.ACTIVATION_LINK_VALIDITY
        self._enter(ActivationStep.AWAITING_CONFIRMATION)
        await self._send_link("confirmation")

        if not await wait_until(lambda: self._clicked, self._reminder_due_at):
            await self._send_link("reminder")
            if not await wait_until(lambda: self._clicked, self._expires_at):
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
            self._email = profile.email
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
        return await self._send_link("resend")

    @resend_link.validator
    def _validate_resend(self, request: ResendRequest) -> None:
        self._require_awaiting_confirmation()
        last = self._last_link_at
        if last and workflow.now() - last < policies.LINK_RESEND_COOLDOWN:
            raise ApplicationError(message(ErrorCode.RESEND_TOO_SOON), type=ErrorCode.RESEND_TOO_SOON)

    @workflow.update
    async def correct_email(self, correction: EmailCorrection) -> LinkSent:
        self._email = correction.email
        return await self._send_link("new_address")

    @correct_email.validator
    def _validate_correction(self, correction: EmailCorrection) -> None:
        self._require_awaiting_confirmation()

    @workflow.signal
    def link_clicked(self, event: LinkClicked) -> None:
        """Only the latest link counts: every new link kills the previous ones."""
        if self._current_link and event.link_id == self._current_link.link_id:
            self._clicked = True

    @workflow.query
    def status(self) -> ActivationStatus:
        return ActivationStatus(
            step=self._step,
            step_label=STEP_LABELS[self._step],
            identifier=self._params.identifier,
            email=self._email,
            attempts_left=self._attempts_left,
            links_sent=self._links_sent,
            last_link_sent_at=self._current_link.sent_at if self._current_link else None,
            reminder_due_at=self._reminder_due_at,
            expires_at=self._expires_at,
        )

    # --- helpers ----------------------------------------------------------------

    async def _send_link(self, kind: str) -> LinkSent:
        async with self._link_lock:
            assert self._email is not None and self._expires_at is not None
            self._links_sent += 1
            self._current_link = await workflow.execute_activity_method(
                EmailLinkActivities.send_activation_link,
                LinkRequest(
                    account_id=self._params.account_id,
                    process_id=workflow.info().workflow_id,
                    email=self._email,
                    step=f"link-{self._links_sent}",
                    kind=kind,
                    expires_at=self._expires_at,
                ),
                **ACTIVITY_OPTIONS,
            )
            self._last_link_at = workflow.now()
            self._set_details()
            return self._current_link

    async def _activate(self) -> ActivationResult:
        assert self._current_link is not None
        await workflow.execute_activity_method(
            AccountActivities.complete_activation,
            CompleteActivation(
                account_id=self._params.account_id,
                process_id=workflow.info().workflow_id,
                link_id=self._current_link.link_id,
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
        return ActivationResult(step=step, identifier=self._params.identifier, email=self._email)

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
        if self._current_link and self._step == ActivationStep.AWAITING_CONFIRMATION:
            details += (
                f"\n\nLiens envoyés : {self._links_sent}, le dernier le "
                f"{self._current_link.sent_at:%d/%m/%Y à %H:%M} UTC ; expiration le {self._expires_at:%d/%m/%Y à %H:%M} UTC"
            )
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
        if self._step != ActivationStep.AWAITING_CONFIRMATION or self._clicked:
            code = self._refusal_for_step()
            raise ApplicationError(message(code), type=code)
        if self._links_sent >= policies.ACTIVATION_MAX_LINKS:
            raise ApplicationError(message(ErrorCode.TOO_MANY_LINKS), type=ErrorCode.TOO_MANY_LINKS)
