"""The SMS code step of a workflow (DESIGN §4), shared by SMS self-registration
and the FranceConnect first visit. Deterministic workflow-side code: it keeps
the counts and the timeline, the activities (`activities.sms_codes`) hold the
secrets.

Rules it enforces (numbers in `educonnect.policies`):
- a code is valid SMS_CODE_VALIDITY (10 min) after it was issued, single use;
- SMS_CODE_MAX_FAILURES (5) wrong submissions lock the step for the whole
  process: a new code never resets the count, the 6th submission is refused
  even when correct (it is not even checked);
- a new code ("renvoyer le code") only SMS_RESEND_COOLDOWN (60 s) after the
  previous one, at most SMS_MAX_SENDS (3) codes per process, the first
  included; each new code kills the previous one;
- the number's daily cap is applied by the activity (a capped send still
  counts as a send here, and no code can then match).

A workflow owns one `SmsCodeStep` (mobile None: nothing is ever sent, and every
answer stays the same): `send()` the first code, `check()` in the `submit_code`
update, `resend()` in `resend_code`, each validator calling
`validate_submission()` / `validate_resend()` after its own step check;
`status()` for the status query, `close()` when the process ends. The API
stores the typed code in PostgreSQL and passes only its id
(`CodeSubmission.submission_id`). Activity idempotency steps are
"<step_prefix>-1", "<step_prefix>-2", ...; a step that replaces another (the
FranceConnect first visit's "Modifier le numéro") takes another `step_prefix`
and the `failures` so far.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow

from educonnect import policies
from educonnect.errors import ErrorCode
from educonnect.models.sms_codes import (
    CheckCodeRequest,
    CloseCodes,
    CodeCheck,
    CodeSubmission,
    SendCodeRequest,
    SendOutcome,
    SmsCodeStatus,
    SmsPurpose,
)
from workflows.steps.activity_options import ACTIVITY_OPTIONS
from workflows.steps.refusals import refusal

with workflow.unsafe.imports_passed_through():
    from activities.sms_codes import SmsCodeActivities


class SmsCodeStep:
    def __init__(
        self,
        *,
        purpose: SmsPurpose,
        mobile: str | None,
        step_prefix: str = "sms-code",
        failures: int = 0,
    ) -> None:
        """`failures`: wrong codes already typed in this process (a step that
        replaces another, for another number, keeps counting them)."""
        self._purpose = purpose
        self._mobile = mobile
        self._step_prefix = step_prefix
        self.sends = 0
        self.failures = failures
        self.verified = False
        self.last_sent_at: datetime | None = None  # workflow time
        self.code_expires_at: datetime | None = None
        self.last_outcome: SendOutcome | None = None
        self._code_id = None
        self._lock = asyncio.Lock()
        self._deliveries: list[asyncio.Task] = []

    # --- state ------------------------------------------------------------------

    @property
    def locked(self) -> bool:
        return self.failures >= policies.SMS_CODE_MAX_FAILURES

    @property
    def attempts_left(self) -> int:
        return max(0, policies.SMS_CODE_MAX_FAILURES - self.failures)

    @property
    def sends_left(self) -> int:
        return max(0, policies.SMS_MAX_SENDS - self.sends)

    @property
    def resend_available_at(self) -> datetime | None:
        if self.last_sent_at is None or self.sends_left == 0 or self.verified or self.locked:
            return None
        return self.last_sent_at + policies.SMS_RESEND_COOLDOWN

    def code_expired(self) -> bool:
        return self.code_expires_at is None or workflow.now() >= self.code_expires_at

    def status(self) -> SmsCodeStatus:
        return SmsCodeStatus(
            sends=self.sends,
            sends_left=self.sends_left,
            attempts_left=self.attempts_left,
            verified=self.verified,
            locked=self.locked,
            last_sent_at=self.last_sent_at,
            resend_available_at=self.resend_available_at,
            code_expires_at=self.code_expires_at,
        )

    # --- refusals (for update validators; re-checked under the lock) -------------

    def submission_refusal(self) -> ErrorCode | None:
        if self.verified:
            return ErrorCode.SMS_CODE_ALREADY_USED
        if self.locked:
            return ErrorCode.SMS_CODE_LOCKED
        if self.code_expired():
            return ErrorCode.SMS_CODE_EXPIRED
        return None

    def resend_refusal(self) -> ErrorCode | None:
        if self.verified:
            return ErrorCode.SMS_CODE_ALREADY_USED
        if self.locked:
            return ErrorCode.SMS_CODE_LOCKED
        if self.sends >= policies.SMS_MAX_SENDS:
            return ErrorCode.SMS_SEND_LIMIT
        if (
            self.last_sent_at is not None
            and workflow.now() - self.last_sent_at < policies.SMS_RESEND_COOLDOWN
        ):
            return ErrorCode.SMS_RESEND_TOO_SOON
        return None

    def validate_submission(self) -> None:
        if (code := self.submission_refusal()) is not None:
            raise refusal(code)

    def validate_resend(self) -> None:
        if (code := self.resend_refusal()) is not None:
            raise refusal(code)

    # --- actions ----------------------------------------------------------------

    async def send(self) -> None:
        """Issue and send a new code and wait until it went out; the previous
        one dies. For the first code; for "renvoyer le code" use `resend()`."""
        self._count_send()
        assert self.code_expires_at is not None  # set by _count_send
        await self._deliver(self.sends, self.code_expires_at)

    async def resend(self) -> None:
        """A new code at the person's request, if the rules allow it now
        (raises the refusal as an ApplicationError otherwise).

        Returns at once, the SMS goes out in the background: the answer takes
        the same time whether or not there is a number to send to (no
        enumeration by timing). A submission checked meanwhile waits for it."""
        self.validate_resend()
        self._count_send()
        assert self.code_expires_at is not None  # set by _count_send
        self._deliveries.append(
            asyncio.create_task(self._deliver(self.sends, self.code_expires_at))
        )

    async def close(self) -> None:
        """The process ends: wait for SMS on their way, then the live code dies
        (call it on every ending; harmless after a success)."""
        await workflow.wait_condition(self.all_sent)
        async with self._lock:
            await workflow.execute_activity_method(
                SmsCodeActivities.close_codes,
                CloseCodes(process_id=workflow.info().workflow_id),
                summary="Fin du code SMS en cours",
                **ACTIVITY_OPTIONS,
            )

    def all_sent(self) -> bool:
        """No SMS on its way: wait for this before the workflow completes."""
        return all(task.done() for task in self._deliveries)

    async def check(self, submission: CodeSubmission) -> CodeCheck:
        """Compare a submitted code (by its row id) with the live code."""
        await workflow.wait_condition(self.all_sent)  # the latest code must be issued first
        async with self._lock:
            refused = self.submission_refusal()
            if refused is not None:
                return CodeCheck(accepted=False, error=refused, attempts_left=self.attempts_left)
            matched = await workflow.execute_activity_method(
                SmsCodeActivities.check_code_submission,
                CheckCodeRequest(
                    process_id=workflow.info().workflow_id,
                    submission_id=submission.submission_id,
                    code_id=self._code_id,
                ),
                summary="Vérification du code saisi",
                **ACTIVITY_OPTIONS,
            )
            if matched:
                self.verified = True
                return CodeCheck(accepted=True, attempts_left=self.attempts_left)
            self.failures += 1
            error = ErrorCode.SMS_CODE_LOCKED if self.locked else ErrorCode.SMS_CODE_INCORRECT
            return CodeCheck(accepted=False, error=error, attempts_left=self.attempts_left)

    def _count_send(self) -> None:
        # Synchronous (no await): a concurrent resend's validator already sees it.
        self.sends += 1
        now = workflow.now()
        self.last_sent_at = now
        self.code_expires_at = now + policies.SMS_CODE_VALIDITY
        self._code_id = None  # the previous code dies now

    async def _deliver(self, n: int, expires_at: datetime) -> None:
        # The lock orders deliveries and checks: a check waits for the code in flight.
        async with self._lock:
            issued = await workflow.execute_activity_method(
                SmsCodeActivities.send_code,
                SendCodeRequest(
                    process_id=workflow.info().workflow_id,
                    step=f"{self._step_prefix}-{n}",
                    purpose=self._purpose,
                    mobile=self._mobile,
                    expires_at=expires_at,
                ),
                summary=f"Envoi du code par SMS (n° {n})",
                **ACTIVITY_OPTIONS,
            )
            if n == self.sends:  # still the latest code
                self._code_id = issued.code_id
            self.last_outcome = issued.outcome
