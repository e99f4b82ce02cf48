"""Self-registration by SMS, "Je n'ai pas de compte" (DESIGN §3.2, FAQ 2.1).

One workflow per attempt, id `sms-registration/<uuid>` (the uuid is the
registration id only the person's browser holds):

1. The API matched last name, first name and mobile against the guardian
   records and started the attempt with the record found, or none. A 6-digit
   code goes by SMS to the number on file. Without a match nothing is sent and
   no code can succeed; a guardian who already has an account is told so by
   SMS instead. Either way the screen reads the same (no enumeration).
2. The code (10 minutes, 5 wrong submissions end the attempt, "renvoyer le
   code" after 60 s, 3 codes at most): `workflows.steps.sms_code_step.SmsCodeStep`.
3. A child's birthdate: 3 wrong ones block the attempt until a correction is
   approved (signal `birthdate_unblocked`, as for activation):
   `workflows.steps.birthdate_step.BirthdateStep`. A blocked attempt waits for the
   correction REGISTRATION_BLOCKED_MAX_WAIT at most; once it is approved the
   person has REGISTRATION_RESUME_WINDOW to come back.
4. The password (its hash waits in PostgreSQL): the account is created, active,
   with the guardian's children and the mobile verified; the API signs in.

Thirty minutes without moving to the next step end the attempt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from educonnect import policies
from educonnect.errors import ErrorCode
from educonnect.french_dates import utc_date_time
from educonnect.models.registration import (
    ACCOUNT_EXISTS,
    ENDED_STEPS,
    STEP_LABELS,
    AbandonRegistration,
    AccountCreated,
    BirthdateOutcome,
    BirthdateSubmission,
    BirthdateUnblocked,
    CreateRegisteredAccount,
    ExistingAccountNotice,
    FindRegistrant,
    GuardianBirthdateCheck,
    PasswordReady,
    Registrant,
    RegistrationInput,
    RegistrationResult,
    RegistrationStatus,
    RegistrationStep,
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
from workflows.steps.birthdate_step import BirthdateStep
from workflows.steps.refusals import refusal
from workflows.steps.sms_code_step import SmsCodeStep
from workflows.steps.waiting import wait_until

with workflow.unsafe.imports_passed_through():
    from activities.registration import RegistrationActivities


SUMMARY = "Inscription par SMS (« Je n'ai pas de compte »)"
# The French summary of the timer that ends an attempt left idle.
IDLE_SUMMARY = "Abandon si la démarche reste sans suite"


def workflow_id(registration_id) -> str:
    return f"sms-registration/{registration_id}"


@workflow.defn(name="SmsRegistration")
class SmsRegistrationWorkflow:
    @workflow.init
    def __init__(self, params: RegistrationInput) -> None:
        self._params = params
        self._step = RegistrationStep.AWAITING_CODE
        self._registrant: Registrant | None = None  # a matched guardian without an account
        self._existing_account = False
        self._code: SmsCodeStep | None = None
        self._idle_deadline: datetime | None = None
        self._birthdate = BirthdateStep(
            check=RegistrationActivities.check_registrant_child_birthdate,
            on_blocked=lambda: self._enter(RegistrationStep.BIRTHDATE_BLOCKED),
            on_failed=self._set_details,
        )
        self._account: AccountCreated | None = None
        self._account_exists_meanwhile = False
        self._password_lock = asyncio.Lock()

    # --- the process ------------------------------------------------------------

    @workflow.run
    async def run(self, params: RegistrationInput) -> RegistrationResult:
        self._touch(policies.REGISTRATION_IDLE_TIMEOUT)
        self._enter(RegistrationStep.AWAITING_CODE)
        mobile = await self._number_for_the_code(params)
        self._code = code = SmsCodeStep(purpose=SmsPurpose.REGISTRATION, mobile=mobile)
        await code.send()
        self._set_details()

        if not await self._wait_with_idle_timeout(lambda: code.verified or code.locked):
            return await self._finish(RegistrationStep.EXPIRED)
        if code.locked:
            return await self._finish(RegistrationStep.CODE_LOCKED)

        self._touch(policies.REGISTRATION_IDLE_TIMEOUT)
        self._enter(RegistrationStep.BIRTHDATE)
        while not self._birthdate.confirmed:
            if not await self._wait_with_idle_timeout(
                lambda: self._birthdate.confirmed or self._birthdate.blocked
            ):
                return await self._finish(RegistrationStep.EXPIRED)
            if self._birthdate.blocked:
                # No idle timeout while a correction may be under way (days).
                if not await self._birthdate.wait_for_unblock(
                    policies.REGISTRATION_BLOCKED_MAX_WAIT
                ):
                    return await self._finish(RegistrationStep.EXPIRED)

        self._touch(policies.REGISTRATION_IDLE_TIMEOUT)
        self._enter(RegistrationStep.PASSWORD)
        if not await self._wait_with_idle_timeout(
            lambda: self._account is not None or self._account_exists_meanwhile
        ):
            return await self._finish(RegistrationStep.EXPIRED)
        if self._account is None:
            return await self._finish(RegistrationStep.ACCOUNT_EXISTS)
        workflow.upsert_search_attributes([ACCOUNT_ID.value_set(str(self._account.account_id))])
        return await self._finish(RegistrationStep.COMPLETED)

    async def _number_for_the_code(self, params: RegistrationInput) -> str | None:
        """The number on file of a matched guardian without an account; None
        otherwise (and a guardian with an account is told so by SMS). The
        lookup runs even without a match: the same steps either way."""
        registrant = await workflow.execute_activity_method(
            RegistrationActivities.find_registrant,
            FindRegistrant(guardian_id=params.guardian_id),
            summary="Recherche du responsable dans les fiches de l'établissement",
            **ACTIVITY_OPTIONS,
        )
        if registrant is None:
            return None
        if registrant.existing_account_id is not None:
            self._existing_account = True
            await self._notify_existing_account(registrant)
            return None
        self._registrant = registrant
        return registrant.mobile

    async def _notify_existing_account(self, registrant: Registrant) -> None:
        await workflow.execute_activity_method(
            RegistrationActivities.send_existing_account_notice,
            ExistingAccountNotice(
                process_id=workflow.info().workflow_id,
                guardian_id=registrant.guardian_id,
                mobile=registrant.mobile,
            ),
            summary="SMS au responsable qui a déjà un compte",
            **ACTIVITY_OPTIONS,
        )

    # --- step: the SMS code -----------------------------------------------------

    @workflow.update
    async def submit_code(self, submission: CodeSubmission) -> CodeCheck:
        await workflow.wait_condition(lambda: self._code is not None)
        assert self._code is not None
        check = await self._code.check(submission)
        if check.accepted or self._code.locked:  # answer once the process moved on
            await workflow.wait_condition(lambda: self._step != RegistrationStep.AWAITING_CODE)
        else:
            self._set_details()  # operators see the wrong code counted
        return check

    @submit_code.validator
    def _validate_code(self, submission: CodeSubmission) -> None:
        self._require_step(RegistrationStep.AWAITING_CODE)
        if self._code is not None:
            self._code.validate_submission()

    @workflow.update
    async def resend_code(self, request: ResendCode) -> SmsCodeStatus:
        assert self._code is not None  # the validator refuses a resend before the first code
        await (
            self._code.resend()
        )  # the SMS goes out in the background: same answer time with or without a number
        self._set_details()
        return self._code.status()

    @resend_code.validator
    def _validate_resend(self, request: ResendCode) -> None:
        self._require_step(RegistrationStep.AWAITING_CODE)
        if self._code is None:  # the first code is on its way
            raise refusal(ErrorCode.SMS_RESEND_TOO_SOON)
        self._code.validate_resend()

    # --- step: a child's birthdate ----------------------------------------------

    @workflow.update
    async def submit_birthdate(self, submission: BirthdateSubmission) -> BirthdateOutcome:
        async with self._birthdate.lock:
            if self._step != RegistrationStep.BIRTHDATE:  # a concurrent submission won
                return self._birthdate_outcome(error=self._refusal_for_step())
            assert self._registrant is not None  # the code was verified: the record matched
            if error := await self._birthdate.check(
                GuardianBirthdateCheck(
                    guardian_id=self._registrant.guardian_id, birthdate=submission.birthdate
                )
            ):
                return self._birthdate_outcome(error=error)
            await workflow.wait_condition(
                lambda: self._step != RegistrationStep.BIRTHDATE
            )  # answer once moved on
            return self._birthdate_outcome(accepted=True)

    @submit_birthdate.validator
    def _validate_birthdate(self, submission: BirthdateSubmission) -> None:
        self._require_step(RegistrationStep.BIRTHDATE)

    @workflow.signal
    async def birthdate_unblocked(self, event: BirthdateUnblocked) -> None:
        """The school record was corrected (read back): the birthdate step starts
        afresh, and the person has REGISTRATION_RESUME_WINDOW to come back to it."""
        await self._birthdate.unblock_if_approved(
            event,
            is_blocked=lambda: self._step == RegistrationStep.BIRTHDATE_BLOCKED,
            resume=self._resume_birthdate,
        )

    def _resume_birthdate(self) -> None:
        self._touch(policies.REGISTRATION_RESUME_WINDOW)
        self._enter(RegistrationStep.BIRTHDATE)

    # --- step: the password -----------------------------------------------------

    @workflow.update
    async def submit_password(self, ready: PasswordReady) -> AccountCreated:
        async with self._password_lock:
            if (
                self._account is not None or self._account_exists_meanwhile
            ):  # a concurrent submission won
                code = (
                    ErrorCode.REGISTRATION_COMPLETED
                    if self._account
                    else ErrorCode.REGISTRATION_ACCOUNT_EXISTS
                )
                raise refusal(code)
            assert self._registrant is not None
            try:
                account = await workflow.execute_activity_method(
                    RegistrationActivities.create_registered_account,
                    CreateRegisteredAccount(
                        process_id=workflow.info().workflow_id,
                        guardian_id=self._registrant.guardian_id,
                        mobile=self._registrant.mobile,
                    ),
                    summary="Création du compte",
                    **ACTIVITY_OPTIONS,
                )
            except ActivityError as err:
                cause = err.cause
                if not (isinstance(cause, ApplicationError) and cause.type == ACCOUNT_EXISTS):
                    raise
                # A school import gave the guardian an account meanwhile.
                await self._notify_existing_account(self._registrant)
                self._account_exists_meanwhile = True
                raise refusal(ErrorCode.REGISTRATION_ACCOUNT_EXISTS) from None
            self._account = account
            return account

    @submit_password.validator
    def _validate_password(self, ready: PasswordReady) -> None:
        self._require_step(RegistrationStep.PASSWORD)
        if self._account is not None:  # one account, one sign-in per registration
            raise refusal(ErrorCode.REGISTRATION_COMPLETED)

    @workflow.query
    def status(self) -> RegistrationStatus:
        code_verified = self._code is not None and self._code.verified
        return RegistrationStatus(
            step=self._step,
            step_label=STEP_LABELS[self._step],
            code=self._code.status() if self._code is not None and self._code.sends > 0 else None,
            birthdate_attempts_left=self._birthdate.attempts_left,
            expires_at=None if self._step in ENDED_STEPS else self._current_deadline(),
            identifier=self._account.identifier if self._account else None,
            guardian_id=self._registrant.guardian_id
            if (code_verified and self._registrant)
            else None,
        )

    # --- helpers ----------------------------------------------------------------

    async def _finish(self, step: RegistrationStep) -> RegistrationResult:
        self._enter(step)
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._code is not None:
            await self._code.close()
        if step != RegistrationStep.COMPLETED:
            await workflow.execute_activity_method(
                RegistrationActivities.abandon_registration,
                AbandonRegistration(process_id=workflow.info().workflow_id),
                summary="Abandon de l'inscription : données en attente oubliées",
                **ACTIVITY_OPTIONS,
            )
        return RegistrationResult(
            step=step,
            account_id=self._account.account_id if self._account else None,
            identifier=self._account.identifier if self._account else None,
        )

    def _touch(self, window: timedelta) -> None:
        """Progress: the attempt lives `window` more from now."""
        self._idle_deadline = workflow.now() + window

    def _current_deadline(self) -> datetime | None:
        return None if self._step == RegistrationStep.BIRTHDATE_BLOCKED else self._idle_deadline

    async def _wait_with_idle_timeout(self, condition: Callable[[], bool]) -> bool:
        """Wait for `condition`; False when the idle deadline passed first. The
        deadline may move while waiting (progress, or a correction approved)."""
        while True:
            deadline = self._idle_deadline
            assert deadline is not None
            if await wait_until(
                # (mypy cannot type a lambda's default argument)
                lambda deadline=deadline: condition() or self._idle_deadline != deadline,  # type: ignore[misc]
                deadline,
                IDLE_SUMMARY,
            ):
                if condition():
                    return True
                continue  # the deadline moved
            return False

    def _enter(self, step: RegistrationStep) -> None:
        self._step = step
        workflow.upsert_search_attributes([PROCESS_STEP.value_set(step.value)])
        self._set_details()

    def _set_details(self) -> None:
        details = f"**{STEP_LABELS[self._step]}**\n\n"
        if self._params.guardian_id is None:
            details += "Aucune fiche de responsable ne correspond : aucun code n'est envoyé."
        elif self._existing_account:
            details += (
                "Le responsable a déjà un compte : un SMS l'en a informé, aucun code n'est envoyé."
            )
        elif self._registrant is None:
            details += "Fiche de responsable en cours de lecture."
        else:
            details += f"Fiche de responsable : {self._registrant.guardian_id}"
        code = self._code
        if code is not None and self._step == RegistrationStep.AWAITING_CODE:
            details += (
                f"\n\nCodes envoyés : {code.sends}/{policies.SMS_MAX_SENDS}, "
                f"codes incorrects : {code.failures}/{policies.SMS_CODE_MAX_FAILURES}"
            )
            if code.last_outcome is not None:
                details += f" (dernier envoi : {SEND_OUTCOME_LABELS[code.last_outcome]})"
        if self._step == RegistrationStep.BIRTHDATE and (tries := self._birthdate.details()):
            details += f"\n\n{tries}"
        deadline = self._current_deadline()
        if deadline is not None and self._step not in ENDED_STEPS:
            details += f"\n\nExpiration sans action le {utc_date_time(deadline)}"
        workflow.set_current_details(details)

    def _birthdate_outcome(
        self, *, accepted: bool = False, error: ErrorCode | None = None
    ) -> BirthdateOutcome:
        return BirthdateOutcome(
            accepted=accepted,
            error=error,
            attempts_left=self._birthdate.attempts_left,
            step=self._step,
        )

    def _refusal_for_step(self) -> ErrorCode:
        return {
            RegistrationStep.BIRTHDATE_BLOCKED: ErrorCode.BIRTHDATE_BLOCKED,
            RegistrationStep.COMPLETED: ErrorCode.REGISTRATION_COMPLETED,
            RegistrationStep.CODE_LOCKED: ErrorCode.SMS_CODE_LOCKED,
            RegistrationStep.ACCOUNT_EXISTS: ErrorCode.REGISTRATION_ACCOUNT_EXISTS,
            RegistrationStep.EXPIRED: ErrorCode.REGISTRATION_EXPIRED,
        }.get(self._step, ErrorCode.REGISTRATION_WRONG_STEP)

    def _require_step(self, step: RegistrationStep) -> None:
        if self._step != step:
            code = self._refusal_for_step()
            raise refusal(code)
