"""Lost password, "Mot de passe perdu" (DESIGN §3.6, §4, FAQ 5).

One workflow per request, id `password-reset/<uuid>`. The person typed the
identifier and either the validated address (email way) or the verified
mobile number (SMS way); the API answered the same thing whether or not they
matched an account, then started this workflow:

1. The account with this identifier and this address (or number) is looked
   up (`find_reset_target`).
2. Email way: a single-use link, valid 1 hour, goes to the address; nothing
   goes anywhere when nothing matched. SMS way: a 6-digit code goes to the
   number (`workflows.steps.sms_code_step.SmsCodeStep`: 10 minutes, 5 wrong codes
   end the request, "renvoyer le code" after 60 s, 3 codes at most); when
   nothing matched no code is sent and every code is wrong, with the same
   answers. The SMS way lasts 30 minutes at most.
3. The new password (its hash waits in PostgreSQL): it becomes the account's,
   every session of the account ends, a sign-in lock is lifted, a
   notification is sent. The person is not signed in: they sign in with the
   new password.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError

from educonnect import policies
from educonnect.errors import ErrorCode
from educonnect.french_dates import utc_date_time
from educonnect.models.activation import LinkSent
from educonnect.models.recovery import (
    RESET_ENDED_STEPS,
    RESET_LABELS,
    ApplyPasswordChange,
    CloseReset,
    FindResetTarget,
    NewPasswordReady,
    PasswordNotice,
    PasswordNoticeKind,
    PasswordResetDone,
    PasswordResetInput,
    PasswordResetResult,
    PasswordResetStatus,
    PasswordResetStep,
    RecoveryChannel,
    ResetLinkRequest,
    ResetTarget,
)
from educonnect.models.sms_codes import (
    SEND_OUTCOME_LABELS,
    CodeCheck,
    CodeSubmission,
    ResendCode,
    SmsCodeStatus,
    SmsPurpose,
)
from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP
from workflows.steps.activity_options import ACTIVITY_OPTIONS
from workflows.steps.refusals import refusal
from workflows.steps.sms_code_step import SmsCodeStep
from workflows.steps.waiting import wait_until

with workflow.unsafe.imports_passed_through():
    from activities.account_management import AccountManagementActivities


SUMMARY = {
    RecoveryChannel.EMAIL: "Mot de passe perdu : réinitialisation par courriel",
    RecoveryChannel.SMS: "Mot de passe perdu : réinitialisation par SMS",
}


# The French summary of the timer up to the end of the link's or the code's validity.
EXPIRY_SUMMARY = "Expiration de la réinitialisation"


def workflow_id(reset_id) -> str:
    return f"password-reset/{reset_id}"


@workflow.defn(name="PasswordReset")
class PasswordResetWorkflow:
    @workflow.init
    def __init__(self, params: PasswordResetInput) -> None:
        self._params = params
        sms = params.channel == RecoveryChannel.SMS
        self._step = PasswordResetStep.AWAITING_CODE if sms else PasswordResetStep.LOOKING_UP
        self._target: ResetTarget | None = None
        self._link: LinkSent | None = None
        self._link_on_its_way = False  # the link may be clicked before its send is seen complete
        self._code: SmsCodeStep | None = None
        self._expires_at: datetime | None = None
        self._applying = False
        self._done: PasswordResetDone | None = None
        self._lock = asyncio.Lock()

    # --- the process ----------------------------------------------------------------

    @workflow.run
    async def run(self, params: PasswordResetInput) -> PasswordResetResult:
        if params.channel == RecoveryChannel.SMS:
            # The code step reads the same from the start, account or not.
            self._expires_at = workflow.now() + policies.PASSWORD_RESET_SMS_VALIDITY
            self._enter(PasswordResetStep.AWAITING_CODE)
        else:
            self._enter(PasswordResetStep.LOOKING_UP)
        self._target = await self._find_target(params)

        by_email = params.channel == RecoveryChannel.EMAIL
        ended = await (
            self._send_link(self._target) if by_email else self._check_code(self._target)
        )
        if ended is not None:
            return ended
        return await self._apply_new_password(self._target)

    async def _find_target(self, params: PasswordResetInput) -> ResetTarget:
        """The account with this identifier and this address or number (or none)."""
        target = await workflow.execute_activity_method(
            AccountManagementActivities.find_reset_target,
            FindResetTarget(
                channel=params.channel, identifier=params.identifier, contact=params.contact
            ),
            summary="Recherche du compte à réinitialiser",
            **ACTIVITY_OPTIONS,
        )
        if target.account_id is not None:
            workflow.upsert_search_attributes([ACCOUNT_ID.value_set(str(target.account_id))])
        return target

    async def _send_link(self, target: ResetTarget) -> PasswordResetResult | None:
        """Email way: one single-use link to the validated address; the end of the
        process when nothing matched (nothing goes anywhere)."""
        if target.account_id is None or target.email is None:
            return await self._finish(PasswordResetStep.NO_MATCH)
        self._expires_at = workflow.now() + policies.PASSWORD_RESET_LINK_VALIDITY
        self._link_on_its_way = True
        self._link = await workflow.execute_activity_method(
            AccountManagementActivities.send_reset_link,
            ResetLinkRequest(
                account_id=target.account_id,
                process_id=workflow.info().workflow_id,
                email=target.email,
                step="reset-link",
                expires_at=self._expires_at,
            ),
            summary="Envoi du lien de réinitialisation",
            **ACTIVITY_OPTIONS,
        )
        self._link_on_its_way = False
        self._enter(PasswordResetStep.AWAITING_LINK)
        return None

    async def _check_code(self, target: ResetTarget) -> PasswordResetResult | None:
        """SMS way: a code to the verified number (none when nothing matched, every
        answer the same); the end of the process when it expires or locks."""
        self._code = code = SmsCodeStep(purpose=SmsPurpose.PASSWORD_RESET, mobile=target.mobile)
        await code.send()
        self._set_details()
        if not await wait_until(
            lambda: code.verified or code.locked, self._expires_at, EXPIRY_SUMMARY
        ):
            return await self._expire()
        if code.locked:
            return await self._finish(PasswordResetStep.CODE_LOCKED)
        self._enter(PasswordResetStep.NEW_PASSWORD)
        return None

    async def _apply_new_password(self, target: ResetTarget) -> PasswordResetResult:
        """The new password (typed on the link's page or after the code) becomes the
        account's, then the account hears of it."""
        while self._done is None:
            if not await wait_until(
                lambda: self._applying or self._done is not None, self._expires_at, EXPIRY_SUMMARY
            ):
                return await self._expire()
            # Being applied: wait for the outcome (a failure lets the person try again).
            await workflow.wait_condition(lambda: self._done is not None or not self._applying)

        assert target.account_id is not None  # a new password was applied to this account
        await workflow.execute_activity_method(
            AccountManagementActivities.send_password_notice,
            PasswordNotice(
                account_id=target.account_id,
                process_id=workflow.info().workflow_id,
                step="reset-notice",
                kind=PasswordNoticeKind.RESET,
            ),
            summary="Avis de réinitialisation du mot de passe",
            **ACTIVITY_OPTIONS,
        )
        return await self._finish(PasswordResetStep.COMPLETED)

    # --- SMS way: the code ----------------------------------------------------------

    @workflow.update
    async def submit_code(self, submission: CodeSubmission) -> CodeCheck:
        await workflow.wait_condition(lambda: self._code is not None)
        assert self._code is not None
        check = await self._code.check(submission)
        if check.accepted or self._code.locked:  # answer once the process moved on
            await workflow.wait_condition(lambda: self._step != PasswordResetStep.AWAITING_CODE)
        else:
            self._set_details()  # operators see the wrong code counted
        return check

    @submit_code.validator
    def _validate_code(self, submission: CodeSubmission) -> None:
        self._require_step(PasswordResetStep.AWAITING_CODE)
        if self._code is not None:
            self._code.validate_submission()

    @workflow.update
    async def resend_code(self, request: ResendCode) -> SmsCodeStatus:
        assert self._code is not None
        await self._code.resend()
        self._set_details()
        return self._code.status()

    @resend_code.validator
    def _validate_resend(self, request: ResendCode) -> None:
        self._require_step(PasswordResetStep.AWAITING_CODE)
        if self._code is None:  # the first code is on its way
            raise refusal(ErrorCode.SMS_RESEND_TOO_SOON)
        self._code.validate_resend()

    # --- the new password -------------------------------------------------------------

    @workflow.update
    async def submit_new_password(self, ready: NewPasswordReady) -> PasswordResetDone:
        # The link can be used before the workflow has seen its send complete.
        await workflow.wait_condition(lambda: not self._link_on_its_way)
        async with self._lock:
            self._check_new_password(ready)  # again: a concurrent submission may have won
            assert self._target is not None and self._target.account_id is not None
            self._applying = True
            try:
                applied = await workflow.execute_activity_method(
                    AccountManagementActivities.apply_new_password,
                    ApplyPasswordChange(
                        account_id=self._target.account_id,
                        process_id=workflow.info().workflow_id,
                        kind=PasswordNoticeKind.RESET,
                        link_id=ready.link_id,
                    ),
                    summary="Enregistrement du mot de passe réinitialisé",
                    **ACTIVITY_OPTIONS,
                )
            except ActivityError:
                self._applying = False
                raise refusal(ErrorCode.SERVICE_UNAVAILABLE) from None
            self._done = PasswordResetDone(identifier=applied.identifier)
            return self._done

    @submit_new_password.validator
    def _validate_new_password(self, ready: NewPasswordReady) -> None:
        if not self._link_on_its_way:  # else the handler looks once it is sent
            self._check_new_password(ready)

    @workflow.query
    def status(self) -> PasswordResetStatus:
        verified = self._step in (PasswordResetStep.NEW_PASSWORD, PasswordResetStep.COMPLETED) and (
            self._params.channel == RecoveryChannel.SMS
        )
        return PasswordResetStatus(
            step=self._step,
            step_label=RESET_LABELS[self._step],
            code=self._code.status() if self._code is not None and self._code.sends > 0 else None,
            expires_at=None if self._step in RESET_ENDED_STEPS else self._expires_at,
            account_id=self._target.account_id if (verified and self._target) else None,
        )

    # --- helpers ----------------------------------------------------------------------

    def _check_new_password(self, ready: NewPasswordReady) -> None:
        if self._done is not None:
            raise refusal(ErrorCode.RESET_COMPLETED)
        if self._applying:
            raise refusal(ErrorCode.RESET_WRONG_STEP)
        if self._params.channel == RecoveryChannel.EMAIL:
            self._require_step(PasswordResetStep.AWAITING_LINK)
            if self._link is None or ready.link_id != self._link.link_id:
                raise refusal(ErrorCode.RESET_WRONG_STEP)
        else:
            self._require_step(PasswordResetStep.NEW_PASSWORD)
        if self._expires_at is not None and workflow.now() >= self._expires_at:
            raise refusal(ErrorCode.RESET_EXPIRED)

    def _require_step(self, step: PasswordResetStep) -> None:
        if self._step == step:
            return
        code = {
            PasswordResetStep.COMPLETED: ErrorCode.RESET_COMPLETED,
            PasswordResetStep.CODE_LOCKED: ErrorCode.SMS_CODE_LOCKED,
            PasswordResetStep.EXPIRED: ErrorCode.RESET_EXPIRED,
            PasswordResetStep.NO_MATCH: ErrorCode.RESET_EXPIRED,
        }.get(self._step, ErrorCode.RESET_WRONG_STEP)
        raise refusal(code)

    async def _expire(self) -> PasswordResetResult:
        await workflow.execute_activity_method(
            AccountManagementActivities.close_password_reset,
            CloseReset(
                process_id=workflow.info().workflow_id,
                account_id=self._target.account_id if self._target else None,
            ),
            summary="Clôture de la réinitialisation expirée",
            **ACTIVITY_OPTIONS,
        )
        return await self._finish(PasswordResetStep.EXPIRED)

    async def _finish(self, step: PasswordResetStep) -> PasswordResetResult:
        self._enter(step)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return PasswordResetResult(step=step)

    def _enter(self, step: PasswordResetStep) -> None:
        self._step = step
        workflow.upsert_search_attributes([PROCESS_STEP.value_set(step.value)])
        self._set_details()

    def _set_details(self) -> None:
        details = f"**{RESET_LABELS[self._step]}**\n\nIdentifiant saisi : {self._params.identifier}"
        target = self._target
        if target is not None:
            details += (
                f"\n\nCompte : {target.account_id}"
                if target.account_id
                else "\n\nAucun compte ne correspond à la demande."
            )
        code = self._code
        if code is not None and self._step == PasswordResetStep.AWAITING_CODE:
            details += (
                f"\n\nCodes envoyés : {code.sends}/{policies.SMS_MAX_SENDS}, "
                f"erreurs : {code.failures}/{policies.SMS_CODE_MAX_FAILURES}"
            )
            if code.last_outcome is not None:
                details += f" (dernier envoi : {SEND_OUTCOME_LABELS[code.last_outcome]})"
        if self._expires_at is not None and self._step not in RESET_ENDED_STEPS:
            details += f"\n\nExpiration le {utc_date_time(self._expires_at)}"
        workflow.set_current_details(details)
