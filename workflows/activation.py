"""Activation with school-issued credentials (DESIGN §3.1, FAQ 2.2 and 7).

One workflow per account, id `activation/<account-id>`:

1. "Gérer mon compte": the guardian gives a new password (its hash waits in
   PostgreSQL), an email address and a child's birthdate. Three wrong
   birthdates block the step until a correction is approved (the birthdate
   step, `workflows.steps.birthdate_step`; what the guardian's and the pupil's
   activation share, `workflows.steps.account_activation`).
2. "Activer votre compte" (the confirmation-link step,
   `workflows.steps.confirmation_link_step`): a confirmation link goes to the
   address. A reminder (with a fresh link) follows after 3 days; after 7 days
   the process expires. Meanwhile the guardian may ask for a new link or
   correct the address; each new link kills the previous one.
3. The click makes the account active with the new password and the address.
"""

from __future__ import annotations

from temporalio import workflow

from educonnect.errors import ErrorCode
from educonnect.models.activation import (
    ENDED_STEPS,
    STEP_LABELS,
    ActivationInput,
    ActivationResult,
    ActivationStatus,
    ActivationStep,
    BirthdateUnblocked,
    EmailCorrection,
    LinkClick,
    LinkClicked,
    LinkSent,
    ProfileOutcome,
    ProfileSubmission,
    ResendRequest,
)
from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP
from workflows.steps.account_activation import (
    CREDENTIALS_EXPIRY_SUMMARY,
    AccountActivation,
    refusal_at,
    refusal_for_step,
)
from workflows.steps.confirmation_link_step import ConfirmationLinkStep
from workflows.steps.waiting import wait_until

with workflow.unsafe.imports_passed_through():
    from activities.email_links import EmailLinkActivities
    from activities.records import RecordActivities


# An accepted profile was answered without the status before (the API then
# queried it: one round trip more per activation, issue 14).
PROFILE_ANSWER_WITH_STATUS_PATCH = "profile-answer-with-status"


def workflow_id(account_id) -> str:
    return f"activation/{account_id}"


@workflow.defn(name="Activation")
class ActivationWorkflow:
    @workflow.init
    def __init__(self, params: ActivationInput) -> None:
        self._params = params
        self._step = ActivationStep.PROFILE
        self._activation = AccountActivation(
            account_id=params.account_id,
            check_birthdate=RecordActivities.check_child_birthdate,
            on_blocked=lambda: self._enter(ActivationStep.BIRTHDATE_BLOCKED),
            on_failed=self._set_details,
        )
        self._link = ConfirmationLinkStep(
            send=EmailLinkActivities.send_activation_link,
            account_id=params.account_id,
            on_sent=self._set_details,
        )

    # --- the process ------------------------------------------------------------

    @workflow.run
    async def run(self, params: ActivationInput) -> ActivationResult:
        self._enter(ActivationStep.PROFILE)
        if not await wait_until(
            lambda: self._activation.profile_accepted,
            params.credentials_expire_at,
            CREDENTIALS_EXPIRY_SUMMARY,
        ):
            return await self._expire()

        self._enter(ActivationStep.AWAITING_CONFIRMATION)
        if not await self._link.send_and_wait_for_click():
            return await self._expire()
        return await self._activate()

    # --- step "Gérer mon compte" ------------------------------------------------

    @workflow.update
    async def submit_profile(self, profile: ProfileSubmission) -> ProfileOutcome:
        async with self._activation.lock:
            if self._step != ActivationStep.PROFILE:  # a concurrent submission won
                return self._profile_outcome(error=refusal_for_step(self._step))
            if error := await self._activation.submit_profile(
                profile.child_birthdate, profile.email
            ):
                return self._profile_outcome(error=error)
            self._link.email = profile.email
            if not workflow.patched(PROFILE_ANSWER_WITH_STATUS_PATCH):
                return self._profile_outcome(accepted=True)
        # The answer carries the step the person lands on: the API needs no query.
        await workflow.wait_condition(lambda: self._step != ActivationStep.PROFILE)
        return self._profile_outcome(accepted=True, status=self.status())

    @submit_profile.validator
    def _validate_profile(self, profile: ProfileSubmission) -> None:
        if self._step != ActivationStep.PROFILE or self._activation.profile_accepted:
            raise refusal_at(self._step)

    @workflow.signal
    async def birthdate_unblocked(self, event: BirthdateUnblocked) -> None:
        """The school record was corrected (read back): the birthdate step starts afresh."""
        await self._activation.birthdate.unblock_if_approved(
            event,
            is_blocked=lambda: self._step == ActivationStep.BIRTHDATE_BLOCKED,
            resume=lambda: self._enter(ActivationStep.PROFILE),
        )

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

    @workflow.update
    async def confirm_link(self, click: LinkClick) -> ActivationResult:
        """The click on a confirmation link, answered with what became of the
        process (the account active) once it ended."""
        await self._link.confirm(click.link_id)
        await workflow.wait_condition(lambda: self._step in ENDED_STEPS)
        return self._result()

    @confirm_link.validator
    def _validate_click(self, click: LinkClick) -> None:
        if not self._link.clicked:
            self._require_awaiting_confirmation()
        self._link.validate_click(click.link_id)

    @workflow.signal
    async def link_clicked(self, event: LinkClicked) -> None:
        """The click, durable at once: the link page's way when `confirm_link`
        is not answered in time (no worker running), and before it existed."""
        await self._link.click_by_signal(event.link_id)

    @classmethod
    def status_at_start(cls, params: ActivationInput) -> ActivationStatus:
        """The status of a process just started, from the workflow's own
        state at start: the API answers the sign-in that started it without
        a query (issue 14). Pure: no workflow call is made."""
        return cls(params).status()

    @workflow.query
    def status(self) -> ActivationStatus:
        return ActivationStatus(
            step=self._step,
            step_label=STEP_LABELS[self._step],
            identifier=self._params.identifier,
            email=self._link.email,
            attempts_left=self._activation.birthdate.attempts_left,
            **self._link.status_fields(),
        )

    # --- helpers ----------------------------------------------------------------

    async def _activate(self) -> ActivationResult:
        assert self._link.clicked_link is not None
        await self._activation.complete(self._link.clicked_link.link_id)
        return await self._finish(ActivationStep.ACTIVE)

    async def _expire(self) -> ActivationResult:
        await self._activation.abandon()
        return await self._finish(ActivationStep.EXPIRED)

    async def _finish(self, step: ActivationStep) -> ActivationResult:
        self._enter(step)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._result()

    def _result(self) -> ActivationResult:
        return ActivationResult(
            step=self._step, identifier=self._params.identifier, email=self._link.email
        )

    def _enter(self, step: ActivationStep) -> None:
        self._step = step
        workflow.upsert_search_attributes(
            [PROCESS_STEP.value_set(step.value), ACCOUNT_ID.value_set(str(self._params.account_id))]
        )
        self._set_details()

    def _set_details(self) -> None:
        details = f"**{STEP_LABELS[self._step]}**\n\nCompte : {self._params.identifier}"
        if self._step == ActivationStep.PROFILE and (tries := self._activation.birthdate.details()):
            details += f"\n\n{tries}"
        if self._step == ActivationStep.AWAITING_CONFIRMATION and (links := self._link.details()):
            details += f"\n\n{links}"
        workflow.set_current_details(details)

    def _profile_outcome(
        self,
        *,
        accepted: bool = False,
        error: ErrorCode | None = None,
        status: ActivationStatus | None = None,
    ) -> ProfileOutcome:
        return ProfileOutcome(
            accepted=accepted,
            error=error,
            attempts_left=self._activation.birthdate.attempts_left,
            step=self._step,
            status=status,
        )

    def _require_awaiting_confirmation(self) -> None:
        if self._step != ActivationStep.AWAITING_CONFIRMATION or self._link.clicked:
            raise refusal_at(self._step)
