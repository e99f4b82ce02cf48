"""Pupil activation with school-issued credentials (DESIGN §3.4, FAQ 2.4).

One workflow per pupil account, id `pupil-activation/<account-id>`:

1. "Gérer mon compte": the pupil gives a new password (its hash waits in
   PostgreSQL), their own birthdate and, if they wish, an email address. Three
   wrong birthdates block the step until a correction is approved (as for a
   guardian: `workflows.steps.account_activation`, `workflows.steps.birthdate_step`).
2. Without an address, the account is active at once, and the pupil is told
   that without a confirmed address they cannot recover their identifier or
   password by themselves.
3. With an address, "Activer votre compte" as for a guardian (the same
   confirmation-link step, `workflows.steps.confirmation_link_step`): a confirmation
   link (reminder with a fresh link after 3 days, expiry after 7 days, a new
   link or a corrected address on request, each new link killing the previous
   one). The click makes the account active with the confirmed address. While
   the link waits, the pupil may also go on without an address.

The link page (`/activation/confirmation`) is shared with the guardian's
activation: it sends `confirm_link` to the process that issued the link and
reads an `ActivationResult`.
"""

from __future__ import annotations

from temporalio import workflow

from educonnect.errors import ErrorCode
from educonnect.models.activation import (
    ENDED_STEPS,
    ActivationResult,
    ActivationStep,
    BirthdateUnblocked,
    EmailCorrection,
    LinkClick,
    LinkClicked,
    LinkSent,
    ResendRequest,
)
from educonnect.models.pupil_activation import (
    NO_RECOVERY_NOTICE,
    STEP_LABELS,
    ActivateWithoutEmail,
    PupilActivationInput,
    PupilActivationStatus,
    PupilProfileOutcome,
    PupilProfileSubmission,
    SkipEmail,
)
from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP
from workflows.steps.account_activation import (
    CREDENTIALS_EXPIRY_SUMMARY,
    AccountActivation,
    refusal_at,
    refusal_for_step,
)
from workflows.steps.activity_options import ACTIVITY_OPTIONS
from workflows.steps.confirmation_link_step import ConfirmationLinkStep
from workflows.steps.waiting import wait_until

with workflow.unsafe.imports_passed_through():
    from activities.pupils import PupilActivities


def workflow_id(account_id) -> str:
    return f"pupil-activation/{account_id}"


@workflow.defn(name="PupilActivation")
class PupilActivationWorkflow:
    @workflow.init
    def __init__(self, params: PupilActivationInput) -> None:
        self._params = params
        self._step = ActivationStep.PROFILE
        self._activation = AccountActivation(
            account_id=params.account_id,
            check_birthdate=PupilActivities.check_pupil_birthdate,
            on_blocked=lambda: self._enter(ActivationStep.BIRTHDATE_BLOCKED),
            on_failed=self._set_details,
        )
        self._link = ConfirmationLinkStep(
            send=PupilActivities.send_pupil_activation_link,
            account_id=params.account_id,
            on_sent=self._set_details,
        )
        self._skip_email = False
        self._confirmed_email: str | None = None

    # --- the process ------------------------------------------------------------

    @workflow.run
    async def run(self, params: PupilActivationInput) -> ActivationResult:
        self._enter(ActivationStep.PROFILE)
        if not await wait_until(
            lambda: self._activation.profile_accepted,
            params.credentials_expire_at,
            CREDENTIALS_EXPIRY_SUMMARY,
        ):
            return await self._expire()
        if self._link.email is None:
            return await self._activate_without_email()

        self._enter(ActivationStep.AWAITING_CONFIRMATION)
        if not await self._link.send_and_wait_for_click(or_when=lambda: self._skip_email):
            return await self._expire()
        if self._link.clicked:
            return await self._activate_with_link()
        return await self._activate_without_email()

    # --- step "Gérer mon compte" ------------------------------------------------

    @workflow.update
    async def submit_profile(self, profile: PupilProfileSubmission) -> PupilProfileOutcome:
        async with self._activation.lock:
            if self._step != ActivationStep.PROFILE:  # a concurrent submission won
                return self._profile_outcome(error=refusal_for_step(self._step))
            if error := await self._activation.submit_profile(profile.birthdate, profile.email):
                return self._profile_outcome(error=error)
            self._link.email = profile.email
        # The answer tells where the process went: active (no address) or
        # awaiting the click.
        await workflow.wait_condition(lambda: self._step != ActivationStep.PROFILE)
        return self._profile_outcome(accepted=True)

    @submit_profile.validator
    def _validate_profile(self, profile: PupilProfileSubmission) -> None:
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

    # --- step "Activer votre compte" (only with an address) ----------------------

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
    async def skip_email(self, request: SkipEmail) -> PupilActivationStatus:
        """Go on without an address: the account becomes active now."""
        self._skip_email = True
        await workflow.wait_condition(
            lambda: self._step in (ActivationStep.ACTIVE, ActivationStep.EXPIRED)
        )
        return self.status()

    @skip_email.validator
    def _validate_skip(self, request: SkipEmail) -> None:
        self._require_awaiting_confirmation()

    @workflow.update
    async def confirm_link(self, click: LinkClick) -> ActivationResult:
        """Same name and argument as the guardian's activation (the link page
        is shared): answered once the process ended."""
        await self._link.confirm(click.link_id)
        await workflow.wait_condition(lambda: self._step in ENDED_STEPS)
        return self._result()

    @confirm_link.validator
    def _validate_click(self, click: LinkClick) -> None:
        if not self._link.clicked:
            self._require_awaiting_confirmation()  # none once skipped
        self._link.validate_click(click.link_id)

    @workflow.signal
    async def link_clicked(self, event: LinkClicked) -> None:
        """The click, durable at once: the link page's way when `confirm_link`
        is not answered in time, and before it existed. Only the latest link
        counts, and none once skipped."""
        if not self._skip_email:
            await self._link.click_by_signal(event.link_id)

    @classmethod
    def status_at_start(cls, params: PupilActivationInput) -> PupilActivationStatus:
        """The status of a process just started, from the workflow's own
        state at start: the API answers the sign-in that started it without
        a query (issue 14). Pure: no workflow call is made."""
        return cls(params).status()

    @workflow.query
    def status(self) -> PupilActivationStatus:
        without_email = self._step == ActivationStep.ACTIVE and self._confirmed_email is None
        return PupilActivationStatus(
            step=self._step,
            step_label=self._label(),
            identifier=self._params.identifier,
            email=None if without_email else self._confirmed_email or self._link.email,
            email_confirmed=self._confirmed_email is not None,
            attempts_left=self._activation.birthdate.attempts_left,
            **self._link.status_fields(),
            recovery_notice=NO_RECOVERY_NOTICE if without_email else None,
        )

    # --- helpers ----------------------------------------------------------------

    async def _activate_with_link(self) -> ActivationResult:
        link = self._link.clicked_link
        assert link is not None
        await self._activation.complete(link.link_id)
        self._confirmed_email = link.email
        return await self._finish(ActivationStep.ACTIVE)

    async def _activate_without_email(self) -> ActivationResult:
        await workflow.execute_activity_method(
            PupilActivities.activate_without_email,
            ActivateWithoutEmail(
                account_id=self._params.account_id, process_id=workflow.info().workflow_id
            ),
            summary="Activation du compte sans adresse électronique",
            **ACTIVITY_OPTIONS,
        )
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
            step=self._step, identifier=self._params.identifier, email=self._confirmed_email
        )

    def _label(self) -> str:
        if self._step == ActivationStep.ACTIVE and self._confirmed_email is None:
            return "Compte activé sans adresse électronique confirmée"
        return STEP_LABELS[self._step]

    def _enter(self, step: ActivationStep) -> None:
        self._step = step
        workflow.upsert_search_attributes(
            [PROCESS_STEP.value_set(step.value), ACCOUNT_ID.value_set(str(self._params.account_id))]
        )
        self._set_details()

    def _set_details(self) -> None:
        details = f"**{self._label()}**\n\nCompte élève : {self._params.identifier}"
        if self._step == ActivationStep.PROFILE and (tries := self._activation.birthdate.details()):
            details += f"\n\n{tries}"
        if self._step == ActivationStep.AWAITING_CONFIRMATION and (links := self._link.details()):
            details += f"\n\n{links}"
        workflow.set_current_details(details)

    def _profile_outcome(
        self, *, accepted: bool = False, error: ErrorCode | None = None
    ) -> PupilProfileOutcome:
        return PupilProfileOutcome(
            accepted=accepted,
            error=error,
            attempts_left=self._activation.birthdate.attempts_left,
            step=self._step,
        )

    def _require_awaiting_confirmation(self) -> None:
        if (
            self._step != ActivationStep.AWAITING_CONFIRMATION
            or self._link.clicked
            or self._skip_email
        ):
            raise refusal_at(self._step)
