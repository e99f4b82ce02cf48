"""FranceConnect first visit (DESIGN §3.3, FAQ 2.3).

The person signed in with FranceConnect, but their FranceConnect identity is
not linked to an EduConnect account yet. One workflow per first visit, id
`franceconnect-link/<uuid>`:

1. They enter the mobile number given on the school's form. When it is on
   file for a guardian whose names are the FranceConnect identity's, a code
   goes to it by SMS; the answer is the same either way (no enumeration).
2. They enter the code (the SMS code step: 10 minutes, single use, 5 wrong
   codes end the process, "renvoyer le code" after 60 s, 3 codes at most).
   A mistyped number: "Modifier le numéro" (`change_mobile`, an update whose
   validator refuses at once what the rules forbid) matches the new number
   the same way, kills the previous code and sends a new one; wrong codes
   still count (5 for the whole process). 3 numbers per process, and a daily
   limit per FranceConnect identity over all its first visits (the match
   activity counts them).
3. They confirm a child's birthdate; 3 wrong tries block the step until a
   correction is approved (`birthdate_unblocked`), with the way to the
   assistance form (the birthdate step, `workflows.steps.birthdate_step`).
4. The FranceConnect identity is linked to the guardian's account (created
   if none); from then on FranceConnect signs them in directly.

Without progress for 30 minutes the process expires. Coming back through
FranceConnect before the code was verified starts a fresh first visit and
ends this one (`replaced`, `person_returned` with `fresh_start`); after it,
the person resumes here. The tokens of the OpenID Connect exchange never
come here: the API keeps the verified identity in PostgreSQL and gives its id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from educonnect import policies
from educonnect.errors import ErrorCode
from educonnect.french_dates import utc_date_time
from educonnect.models.franceconnect import (
    STEP_LABELS,
    BirthdateOutcome,
    BirthdateSubmission,
    BirthdateUnblocked,
    ChildBirthdateCheck,
    CloseLink,
    GuardianMatch,
    LinkedAccount,
    LinkIdentity,
    LinkInput,
    LinkResult,
    LinkStatus,
    LinkStep,
    MatchGuardian,
    MobileOutcome,
    MobileSubmission,
    PersonReturned,
)
from educonnect.models.sms_codes import (
    CodeCheck,
    CodeSubmission,
    ResendCode,
    SmsCodeStatus,
    SmsPurpose,
)
from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP
from workflows.steps.activity_options import ACTIVITY_OPTIONS
from workflows.steps.birthdate_step import BLOCKED_SUMMARY, BirthdateStep
from workflows.steps.refusals import refusal
from workflows.steps.sms_code_step import SmsCodeStep

with workflow.unsafe.imports_passed_through():
    from activities.franceconnect import FranceConnectActivities

# Steps the person is expected to move on from within the idle timeout.
_WAITING_ON_PERSON = (LinkStep.AWAITING_MOBILE, LinkStep.AWAITING_CODE, LinkStep.AWAITING_BIRTHDATE)


def workflow_id(link_id) -> str:
    return f"franceconnect-link/{link_id}"


def summary(link_id) -> str:
    return f"Première connexion avec FranceConnect ({link_id})"


@workflow.defn(name="FranceConnectLink")
class FranceConnectLinkWorkflow:
    @workflow.init
    def __init__(self, params: LinkInput) -> None:
        self._params = params
        self._step = LinkStep.AWAITING_MOBILE
        self._deadline: datetime = workflow.now() + policies.FRANCECONNECT_LINK_IDLE_TIMEOUT
        self._guardian: GuardianMatch | None = None
        self._code: SmsCodeStep | None = None
        self._birthdate = BirthdateStep(
            check=FranceConnectActivities.check_child_birthdate,
            on_blocked=lambda: self._enter(LinkStep.BIRTHDATE_BLOCKED),
            on_failed=self._set_details,
        )
        self._account: LinkedAccount | None = None
        self._mobile_lock = asyncio.Lock()
        self._mobiles_tried: list[str] = []  # numbers entered (E.164), first one included
        self._replaced = False

    # --- the process ------------------------------------------------------------

    @workflow.run
    async def run(self, params: LinkInput) -> LinkResult:
        self._enter(LinkStep.AWAITING_MOBILE)
        if not await self._wait(
            lambda: self._step != LinkStep.AWAITING_MOBILE or self._replaced,
            "Délai pour saisir le numéro de mobile",
        ):
            return await self._end(LinkStep.EXPIRED)
        if self._replaced:
            return await self._end(LinkStep.REPLACED)
        if not await self._wait(
            lambda: self._step != LinkStep.AWAITING_CODE or self._replaced,
            "Délai pour saisir le code SMS",
        ):
            return await self._end(LinkStep.EXPIRED)
        if self._replaced and self._step == LinkStep.AWAITING_CODE:
            return await self._end(LinkStep.REPLACED)
        if self._step == LinkStep.CODE_LOCKED:
            return await self._end(LinkStep.CODE_LOCKED)

        while self._account is None:
            if not await self._wait(
                lambda: self._step != LinkStep.AWAITING_BIRTHDATE,
                "Délai pour saisir la date de naissance",
            ):
                return await self._end(LinkStep.EXPIRED)
            if self._step == LinkStep.BIRTHDATE_BLOCKED:
                # Waits for an approved correction; the person then has a while
                # to come back through FranceConnect and continue here.
                if not await self._wait(
                    lambda: self._step != LinkStep.BIRTHDATE_BLOCKED,
                    BLOCKED_SUMMARY,
                ):
                    return await self._end(LinkStep.EXPIRED)
        return await self._end(LinkStep.LINKED)

    # --- step 1: the mobile on file ---------------------------------------------

    @workflow.update
    async def submit_mobile(self, submission: MobileSubmission) -> MobileOutcome:
        async with self._mobile_lock:
            if self._step != LinkStep.AWAITING_MOBILE:  # a concurrent submission won
                raise self._refusal()
            self._guardian = await self._match(submission.mobile)
            # No match: no number, nothing is sent and no code can succeed, but
            # every count and answer is the same as with a match.
            self._code = SmsCodeStep(
                purpose=SmsPurpose.FRANCECONNECT, mobile=self._guardian.mobile_on_file
            )
            await self._code.send()
            self._enter(LinkStep.AWAITING_CODE)
            return MobileOutcome(step=self._step, code=self._code.status())

    @submit_mobile.validator
    def _validate_mobile(self, submission: MobileSubmission) -> None:
        if self._step != LinkStep.AWAITING_MOBILE:
            raise self._refusal()

    @workflow.update
    async def change_mobile(self, submission: MobileSubmission) -> MobileOutcome:
        """ "Modifier le numéro": the new number is matched like the first one
        (same answer either way), the previous code dies and a new one goes to
        the new number. The wrong codes typed so far still count."""
        async with self._mobile_lock:
            self._validate_change(submission)  # again: a concurrent change may have won
            previous = self._code
            assert previous is not None
            match = await self._match(submission.mobile)
            if self._step != LinkStep.AWAITING_CODE or previous is not self._code:
                raise self._refusal()  # the code was verified or the process ended meanwhile
            await previous.close()  # waits for an SMS on its way, then kills the live code
            if self._step != LinkStep.AWAITING_CODE or previous.verified or previous.locked:
                raise self._refusal()  # a code check finished meanwhile
            self._guardian = match
            self._code = SmsCodeStep(
                purpose=SmsPurpose.FRANCECONNECT,
                mobile=match.mobile_on_file,
                step_prefix=f"sms-code-number-{len(self._mobiles_tried)}",
                failures=previous.failures,
            )
            await self._code.send()
            self._deadline = workflow.now() + policies.FRANCECONNECT_LINK_IDLE_TIMEOUT  # progress
            self._set_details()
            return MobileOutcome(step=self._step, code=self._code.status())

    @change_mobile.validator
    def _validate_change(self, submission: MobileSubmission) -> None:
        if (
            self._step != LinkStep.AWAITING_CODE
            or self._code is None
            or self._code.verified
            or self._replaced
        ):
            raise self._refusal()
        if self._code.locked:
            raise refusal(ErrorCode.SMS_CODE_LOCKED)
        if len(self._mobiles_tried) >= policies.FRANCECONNECT_MOBILES_PER_LINK:
            raise refusal(ErrorCode.FRANCECONNECT_MOBILE_LIMIT)

    async def _match(self, mobile: str) -> GuardianMatch:
        """The guardian of this number (or none); refused past the identity's
        daily limit of numbers. Counts the number as tried by this process."""
        match = await workflow.execute_activity_method(
            FranceConnectActivities.match_guardian,
            MatchGuardian(
                identity_id=self._params.identity_id, mobile=mobile, link_id=self._params.link_id
            ),
            summary="Recherche du responsable de ce numéro de mobile",
            **ACTIVITY_OPTIONS,
        )
        if match.daily_limit_reached:
            raise refusal(ErrorCode.FRANCECONNECT_MOBILE_DAILY_LIMIT)
        self._mobiles_tried.append(mobile)
        return match

    # --- step 2: the SMS code ---------------------------------------------------

    @workflow.update
    async def submit_code(self, submission: CodeSubmission) -> CodeCheck:
        code = self._code  # the number may change while the check runs
        assert code is not None
        check = await code.check(submission)
        current = self._code
        assert current is not None
        if code is not current:  # "Modifier le numéro" meanwhile: this code died
            current.failures = max(current.failures, code.failures)
            if current.locked and self._step == LinkStep.AWAITING_CODE:
                self._enter(LinkStep.CODE_LOCKED)
            return check
        if self._step == LinkStep.AWAITING_CODE:
            if code.verified:
                self._enter(LinkStep.AWAITING_BIRTHDATE)
            elif code.locked:
                self._enter(LinkStep.CODE_LOCKED)
            else:
                self._set_details()
        return check

    @submit_code.validator
    def _validate_code(self, submission: CodeSubmission) -> None:
        if self._step != LinkStep.AWAITING_CODE or self._code is None:
            raise self._refusal()
        self._code.validate_submission()

    @workflow.update
    async def resend_code(self, request: ResendCode) -> SmsCodeStatus:
        assert self._code is not None
        await self._code.resend()
        self._set_details()
        return self._code.status()

    @resend_code.validator
    def _validate_resend(self, request: ResendCode) -> None:
        if self._step != LinkStep.AWAITING_CODE or self._code is None:
            raise self._refusal()
        self._code.validate_resend()

    # --- step 3: a child's birthdate, then the link -----------------------------

    @workflow.update
    async def submit_birthdate(self, submission: BirthdateSubmission) -> BirthdateOutcome:
        async with self._birthdate.lock:
            if self._step != LinkStep.AWAITING_BIRTHDATE:  # a concurrent submission won
                return self._birthdate_outcome(error=self._refusal_code())
            assert self._guardian is not None and self._guardian.guardian_id is not None
            if error := await self._birthdate.check(
                ChildBirthdateCheck(
                    guardian_id=self._guardian.guardian_id, birthdate=submission.birthdate
                )
            ):
                return self._birthdate_outcome(error=error)
            self._account = await workflow.execute_activity_method(
                FranceConnectActivities.link_identity,
                LinkIdentity(
                    link_id=self._params.link_id,
                    identity_id=self._params.identity_id,
                    guardian_id=self._guardian.guardian_id,
                ),
                summary="Liaison de l'identité FranceConnect au compte",
                **ACTIVITY_OPTIONS,
            )
            self._enter(LinkStep.LINKED)
            return self._birthdate_outcome(accepted=True)

    @submit_birthdate.validator
    def _validate_birthdate(self, submission: BirthdateSubmission) -> None:
        if self._step != LinkStep.AWAITING_BIRTHDATE:
            raise self._refusal()

    @workflow.signal
    async def birthdate_unblocked(self, event: BirthdateUnblocked) -> None:
        """The school record was corrected (read back): the birthdate step starts afresh."""
        await self._birthdate.unblock_if_approved(
            event,
            is_blocked=lambda: self._step == LinkStep.BIRTHDATE_BLOCKED,
            resume=lambda: self._enter(
                LinkStep.AWAITING_BIRTHDATE, idle=policies.FRANCECONNECT_RESUME_WINDOW
            ),
        )

    @workflow.signal
    def person_returned(self, event: PersonReturned) -> None:
        """Back through FranceConnect: the person gets a fresh idle timeout; or,
        before the code was verified, a fresh first visit replaces this one."""
        if event.fresh_start and self._step in (LinkStep.AWAITING_MOBILE, LinkStep.AWAITING_CODE):
            self._replaced = True
            return
        if self._step in _WAITING_ON_PERSON:
            self._deadline = max(
                self._deadline, workflow.now() + policies.FRANCECONNECT_LINK_IDLE_TIMEOUT
            )
            self._set_details()

    @workflow.query
    def status(self) -> LinkStatus:
        verified = self._code is not None and self._code.verified and self._guardian is not None
        return LinkStatus(
            step=self._step,
            step_label=STEP_LABELS[self._step],
            code=self._code.status() if self._code else None,
            birthdate_attempts_left=self._birthdate.attempts_left,
            expires_at=self._deadline
            if self._step in (*_WAITING_ON_PERSON, LinkStep.BIRTHDATE_BLOCKED)
            else None,
            guardian_id=self._guardian.guardian_id
            if verified and self._guardian is not None
            else None,
        )

    # --- helpers ----------------------------------------------------------------

    async def _end(self, step: LinkStep) -> LinkResult:
        self._enter(step)  # first: from now on every update is refused
        if step != LinkStep.LINKED:
            await workflow.execute_activity_method(
                FranceConnectActivities.close_link,
                CloseLink(link_id=self._params.link_id, step=step),
                summary=f"Clôture de la démarche : {STEP_LABELS[step]}",
                **ACTIVITY_OPTIONS,
            )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return LinkResult(step=step, account_id=self._account.account_id if self._account else None)

    async def _wait(self, condition: Callable[[], bool], summary: str) -> bool:
        """Wait for `condition` until the current deadline (which handlers may
        move); False if the deadline passed first. `summary`: the timer's French
        summary on the Web UI's timeline."""
        while not condition():
            remaining = self._deadline - workflow.now()
            if remaining <= timedelta(0):
                return False
            try:
                await workflow.wait_condition(condition, timeout=remaining, timeout_summary=summary)
            except TimeoutError:
                pass
        return True

    def _enter(
        self, step: LinkStep, idle: timedelta = policies.FRANCECONNECT_LINK_IDLE_TIMEOUT
    ) -> None:
        if step != self._step:
            if step in _WAITING_ON_PERSON:
                self._deadline = workflow.now() + idle
            elif step == LinkStep.BIRTHDATE_BLOCKED:
                self._deadline = workflow.now() + policies.FRANCECONNECT_BLOCKED_MAX_WAIT
        self._step = step
        attributes = [PROCESS_STEP.value_set(step.value)]
        if self._account is not None:
            attributes.append(ACCOUNT_ID.value_set(str(self._account.account_id)))
        workflow.upsert_search_attributes(attributes)
        self._set_details()

    def _set_details(self) -> None:
        details = (
            f"**{STEP_LABELS[self._step]}**\n\nIdentité FranceConnect : {self._params.identity_id}"
        )
        if self._code is not None and self._step == LinkStep.AWAITING_CODE:
            details += (
                f"\n\nCodes envoyés : {self._code.sends}/{policies.SMS_MAX_SENDS}, "
                f"codes incorrects : {self._code.failures}/{policies.SMS_CODE_MAX_FAILURES}"
            )
            if len(self._mobiles_tried) > 1:
                details += (
                    f", numéros essayés : {len(self._mobiles_tried)}/"
                    f"{policies.FRANCECONNECT_MOBILES_PER_LINK}"
                )
        if self._step == LinkStep.AWAITING_BIRTHDATE and (tries := self._birthdate.details()):
            details += f"\n\n{tries}"
        if self._step in _WAITING_ON_PERSON:
            details += f"\n\nExpire sans action le {utc_date_time(self._deadline)}"
        if self._account is not None:
            details += f"\n\nCompte : {self._account.account_id}"
        workflow.set_current_details(details)

    def _birthdate_outcome(
        self, *, accepted: bool = False, error: ErrorCode | None = None
    ) -> BirthdateOutcome:
        return BirthdateOutcome(
            accepted=accepted,
            error=error,
            attempts_left=self._birthdate.attempts_left,
            step=self._step,
            account_id=self._account.account_id if self._account else None,
        )

    def _refusal_code(self) -> ErrorCode:
        if self._step == LinkStep.BIRTHDATE_BLOCKED:
            return ErrorCode.BIRTHDATE_BLOCKED
        if self._step == LinkStep.CODE_LOCKED:
            return ErrorCode.SMS_CODE_LOCKED
        if self._step == LinkStep.EXPIRED:
            return ErrorCode.FRANCECONNECT_LINK_EXPIRED
        if self._step in (LinkStep.LINKED, LinkStep.REPLACED) or self._replaced:
            return ErrorCode.FRANCECONNECT_LINK_NOT_FOUND
        return ErrorCode.FRANCECONNECT_LINK_WRONG_STEP

    def _refusal(self) -> ApplicationError:
        code = self._refusal_code()
        return refusal(code)
