"""Email change with resend (DESIGN §3.8, FAQ 7–11).

One workflow per account and pending change, id `email-change/<account-id>`,
started or joined by the API with update-with-start (`request_change`), so
that an account never has two pending changes:

1. "Modifier mon adresse mail": the signed-in person typed the new address
   twice. The new address gets a single-use validation link, valid 72 hours;
   the old (validated) address is told of the change. An account without a
   validated address (FAQ 7: asked at sign-in to check it) gets the email FAQ 9
   describes, and may validate its current address as it is.
2. While the link waits: "Renvoyez un email de validation" sends a new link
   (not within 60 s of the previous one) and kills the old one; typing another
   address replaces the pending one, whose link dies; the person may cancel.
3. The click on the live link: the address changes and is verified, the old
   address is told it was changed. 72 hours after the last link without a
   click: nothing changes, and the person is told at the next sign-in.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from uuid import UUID

from temporalio import workflow

from educonnect import policies
from educonnect.email_addresses import email_key
from educonnect.errors import ErrorCode
from educonnect.french_dates import utc_date_time
from educonnect.models.activation import LinkClick, LinkSent
from educonnect.models.email_change import (
    ENDED_STEPS,
    STEP_LABELS,
    AccountEmailFacts,
    ApplyEmailChange,
    CancelEmailChange,
    ChangeNotice,
    ChangeNoticeKind,
    CloseEmailChange,
    EmailChangeInput,
    EmailChangeRequest,
    EmailChangeResult,
    EmailChangeStatus,
    EmailChangeStep,
    LinkKind,
    LoadAccountEmail,
    ResendValidation,
    ValidationLinkClicked,
    ValidationLinkRequest,
)
from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP
from workflows.steps.activity_options import ACTIVITY_OPTIONS
from workflows.steps.link_clicks import CLICK_READ_BACK_PATCH, click_was_made
from workflows.steps.refusals import refusal
from workflows.steps.waiting import wait_until

with workflow.unsafe.imports_passed_through():
    from activities.account_management import AccountManagementActivities


# The first address comes with the start; a start whose first link never went
# out (its update failed) ends quietly after this.
FIRST_REQUEST_TIMEOUT = timedelta(minutes=10)

# Without a validated address the change is told by SMS to the verified number.
NOTICE_BY_SMS_PATCH = "email-change-notice-by-sms"

# The French summaries of the activities and timers on the Web UI's timeline.
FIRST_REQUEST_SUMMARY = "Attente du premier envoi du lien"
LINK_EXPIRY_SUMMARY = f"Expiration du lien de validation ({policies.EMAIL_CHANGE_LINK_VALIDITY // timedelta(hours=1)} h)"
LINK_SUMMARIES = {
    LinkKind.FIRST: "Envoi du lien de validation",
    LinkKind.RESEND: "Nouvel envoi du lien de validation",
    LinkKind.NEW_ADDRESS: "Envoi du lien de validation à la nouvelle adresse",
}
NOTICE_SUMMARIES = {
    ChangeNoticeKind.REQUESTED: "Avis à l'ancien contact : changement demandé",
    ChangeNoticeKind.CHANGED: "Avis à l'ancien contact : adresse modifiée",
}


def workflow_id(account_id) -> str:
    return f"email-change/{account_id}"


def summary(identifier: str) -> str:
    return f"Modification de l'adresse électronique du compte {identifier}"


@workflow.defn(name="EmailChange")
class EmailChangeWorkflow:
    @workflow.init
    def __init__(self, params: EmailChangeInput) -> None:
        self._params = params
        self._step = EmailChangeStep.AWAITING_REQUEST
        self._facts: AccountEmailFacts | None = None  # the account's address when the change began
        self._email: str | None = None  # the pending (new) address
        self._addresses = 0  # distinct addresses asked for
        self._links_asked = 0  # links whose sending began (the cap, the activity steps)
        self._links_sent = 0  # links that went out
        self._current_link: LinkSent | None = None  # the only live link
        self._last_link_at: datetime | None = None  # workflow time, for the resend cooldown
        self._expires_at: datetime | None = None
        self._click: UUID | None = None  # a click waiting to be looked at
        self._clicked_link: UUID | None = None  # the click of `confirm_link` that counted
        self._cancel_requested = False
        self._ending = False  # decided to end: no more requests
        self._lock = asyncio.Lock()

    # --- the process ----------------------------------------------------------------

    @workflow.run
    async def run(self, params: EmailChangeInput) -> EmailChangeResult:
        self._enter(EmailChangeStep.AWAITING_REQUEST)
        first_deadline = workflow.now() + FIRST_REQUEST_TIMEOUT
        if not await wait_until(
            lambda: self._current_link is not None or self._cancel_requested,
            first_deadline,
            FIRST_REQUEST_SUMMARY,
        ):
            return await self._close(EmailChangeStep.EXPIRED)

        while True:
            deadline = self._expires_at
            await wait_until(
                lambda deadline=deadline: (  # type: ignore[misc]  # mypy cannot type a lambda's default argument
                    self._click is not None
                    or self._cancel_requested
                    or self._expires_at != deadline
                ),
                deadline,
                LINK_EXPIRY_SUMMARY,
            )
            async with self._lock:  # a link on its way is sent first
                ending = await self._settle(deadline)
            if ending is not None:
                break

        if ending != EmailChangeStep.VALIDATED:
            return await self._close(ending)
        assert self._current_link is not None
        await self._tell_old_address(
            ChangeNoticeKind.CHANGED, self._current_link.email, "changed-notice"
        )
        return await self._finish(EmailChangeStep.VALIDATED)

    async def _settle(self, deadline: datetime | None) -> EmailChangeStep | None:
        """What the latest event means: the end of the process, or None (wait on)."""
        if self._click is not None:
            link_id, self._click = self._click, None
            if self._current_link is None or link_id != self._current_link.link_id:
                return None  # an older link: only the latest counts
            if link_id != self._clicked_link and workflow.patched(CLICK_READ_BACK_PATCH):
                if not await click_was_made(link_id):  # a signal nobody's click made
                    return None
            self._ending = True
            await workflow.execute_activity_method(
                AccountManagementActivities.apply_email_change,
                ApplyEmailChange(
                    account_id=self._params.account_id,
                    process_id=workflow.info().workflow_id,
                    link_id=link_id,
                ),
                summary="Enregistrement de la nouvelle adresse",
                **ACTIVITY_OPTIONS,
            )
            return EmailChangeStep.VALIDATED
        if self._cancel_requested:
            self._ending = True
            return EmailChangeStep.CANCELLED
        if self._expires_at == deadline and deadline is not None and workflow.now() >= deadline:
            self._ending = True
            return EmailChangeStep.EXPIRED
        return None

    # --- "Modifier mon adresse mail" (also the start of the process) ------------------

    @workflow.update
    async def request_change(self, request: EmailChangeRequest) -> EmailChangeStatus:
        async with self._lock:
            self._check_request(request)  # again: the state may have moved while waiting
            if self._facts is None:
                self._facts = await workflow.execute_activity_method(
                    AccountManagementActivities.load_account_email,
                    LoadAccountEmail(account_id=self._params.account_id),
                    summary="Lecture de l'adresse actuelle du compte",
                    **ACTIVITY_OPTIONS,
                )
            if request.email == self._email:  # the same address typed again: a resend (FAQ 8)
                await self._send_link(request.email, LinkKind.RESEND)
            else:
                kind = LinkKind.FIRST if self._email is None else LinkKind.NEW_ADDRESS
                self._addresses += 1
                await self._send_link(request.email, kind)
                await self._tell_old_address(
                    ChangeNoticeKind.REQUESTED, request.email, f"requested-notice-{self._addresses}"
                )
            if self._step == EmailChangeStep.AWAITING_REQUEST:
                self._enter(EmailChangeStep.AWAITING_VALIDATION)
            return self.status()

    @request_change.validator
    def _validate_request(self, request: EmailChangeRequest) -> None:
        self._check_request(request)

    # --- "Renvoyez un email de validation" --------------------------------------------

    @workflow.update
    async def resend_link(self, request: ResendValidation) -> EmailChangeStatus:
        async with self._lock:
            self._check_resend()
            assert self._email is not None
            await self._send_link(self._email, LinkKind.RESEND)
            return self.status()

    @resend_link.validator
    def _validate_resend(self, request: ResendValidation) -> None:
        if self._lock.locked():  # a link is on its way (a slow mail server): not queued behind it
            raise refusal(ErrorCode.RESEND_TOO_SOON)
        self._check_resend()

    # --- cancel -------------------------------------------------------------------------

    @workflow.update
    async def cancel(self, request: CancelEmailChange) -> EmailChangeStatus:
        self._require_open()
        self._cancel_requested = True
        await workflow.wait_condition(lambda: self._step in ENDED_STEPS)
        return self.status()

    @cancel.validator
    def _validate_cancel(self, request: CancelEmailChange) -> None:
        self._require_open()

    # --- the click on the link ------------------------------------------------------

    @workflow.update
    async def confirm_link(self, click: LinkClick) -> EmailChangeResult:
        """The click on a validation link, looked at once any link on its way
        is sent (only the latest counts), answered once the process ended."""
        if not await click_was_made(click.link_id):
            raise refusal(ErrorCode.LINK_INVALID)
        async with self._lock:
            self._check_click(click)
            if self._clicked_link is None:
                self._clicked_link = self._click = click.link_id
                self._ending = True  # nothing may replace the address being validated
        await workflow.wait_condition(lambda: self._step in ENDED_STEPS)
        return EmailChangeResult(step=self._step, email=self._email)

    @confirm_link.validator
    def _validate_click(self, click: LinkClick) -> None:
        if not self._lock.locked():  # else a link is on its way: the handler looks once it is sent
            self._check_click(click)
        elif self._clicked_link != click.link_id:
            self._require_open()

    @workflow.signal
    def link_clicked(self, event: ValidationLinkClicked) -> None:
        """The click, durable at once: the link page's way when `confirm_link`
        is not answered in time, and before it existed; looked at once any
        link on its way is sent."""
        if not self._ending:
            self._click = event.link_id

    @workflow.query
    def status(self) -> EmailChangeStatus:
        open_ = self._step not in ENDED_STEPS and not self._ending
        links_left = max(0, policies.EMAIL_CHANGE_MAX_LINKS - self._links_asked)
        resend_at = None
        if open_ and self._last_link_at is not None and links_left > 0:
            resend_at = self._last_link_at + policies.LINK_RESEND_COOLDOWN
        return EmailChangeStatus(
            step=self._step,
            step_label=STEP_LABELS[self._step],
            email=self._email,
            first_validation=self._facts is not None and not self._facts.verified,
            links_sent=self._links_sent,
            links_left=links_left,
            link_clicked=self._clicked_link is not None,
            last_link_sent_at=self._current_link.sent_at if self._current_link else None,
            resend_available_at=resend_at,
            expires_at=self._expires_at if open_ else None,
        )

    # --- helpers ------------------------------------------------------------------------

    async def _send_link(self, email: str, kind: LinkKind) -> None:
        """A new link to `email`; the previous ones die (in PostgreSQL, and here:
        only `_current_link` counts)."""
        assert self._facts is not None
        self._links_asked += 1  # counted first, so that a concurrent validator sees it
        expires_at = workflow.now() + policies.EMAIL_CHANGE_LINK_VALIDITY
        link = await workflow.execute_activity_method(
            AccountManagementActivities.send_email_validation_link,
            ValidationLinkRequest(
                account_id=self._params.account_id,
                process_id=workflow.info().workflow_id,
                email=email,
                step=f"link-{self._links_asked}",
                kind=kind,
                first_validation=not self._facts.verified,
                expires_at=expires_at,
            ),
            summary=LINK_SUMMARIES[kind],
            **ACTIVITY_OPTIONS,
        )
        self._links_sent += 1
        self._email = email
        self._current_link = link
        self._last_link_at = workflow.now()
        self._expires_at = expires_at
        self._set_details()

    async def _tell_old_address(self, kind: ChangeNoticeKind, new_email: str, step: str) -> None:
        """The old address hears of the change if it was validated (an address
        never validated may not be the person's: FAQ 7's typo) and differs.
        Without a validated address, the verified number hears of it by SMS
        (DESIGN §4: a sensitive change is told to the previous contact)."""
        old = self._facts
        if old is None or (old.email and email_key(old.email) == email_key(new_email)):
            return
        if old.verified and old.email:
            to = old.email
        elif workflow.patched(NOTICE_BY_SMS_PATCH):  # runs recorded before it sent nothing here
            to = None
        else:
            return
        await workflow.execute_activity_method(
            AccountManagementActivities.send_change_notice,
            ChangeNotice(
                account_id=self._params.account_id, step=step, kind=kind, to=to, new_email=new_email
            ),
            summary=NOTICE_SUMMARIES[kind],
            **ACTIVITY_OPTIONS,
        )

    async def _close(self, step: EmailChangeStep) -> EmailChangeResult:
        await workflow.execute_activity_method(
            AccountManagementActivities.close_email_change,
            CloseEmailChange(
                account_id=self._params.account_id,
                process_id=workflow.info().workflow_id,
                step=step,
                # A notice at the next sign-in only for a link that really went out.
                pending_email=self._current_link.email if self._current_link else None,
            ),
            summary=f"Clôture de la démarche : {STEP_LABELS[step]}",
            **ACTIVITY_OPTIONS,
        )
        return await self._finish(step)

    async def _finish(self, step: EmailChangeStep) -> EmailChangeResult:
        self._ending = True
        self._enter(step)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return EmailChangeResult(step=step, email=self._email)

    def _require_open(self) -> None:
        if self._ending or self._step in ENDED_STEPS:
            raise refusal(ErrorCode.EMAIL_CHANGE_ENDED)

    def _check_request(self, request: EmailChangeRequest) -> None:
        self._require_open()
        if self._links_asked >= policies.EMAIL_CHANGE_MAX_LINKS:
            raise refusal(ErrorCode.TOO_MANY_EMAIL_LINKS)
        if request.email == self._email:
            self._require_cooldown()

    def _check_click(self, click: LinkClick) -> None:
        if self._clicked_link == click.link_id:
            return  # a second click on the link that counted: harmless
        self._require_open()
        if self._current_link is None or click.link_id != self._current_link.link_id:
            raise refusal(ErrorCode.LINK_REPLACED)

    def _check_resend(self) -> None:
        self._require_open()
        if self._current_link is None:  # the first link is on its way
            raise refusal(ErrorCode.RESEND_TOO_SOON)
        if self._links_asked >= policies.EMAIL_CHANGE_MAX_LINKS:
            raise refusal(ErrorCode.TOO_MANY_EMAIL_LINKS)
        self._require_cooldown()

    def _require_cooldown(self) -> None:
        last = self._last_link_at
        if last is not None and workflow.now() - last < policies.LINK_RESEND_COOLDOWN:
            raise refusal(ErrorCode.RESEND_TOO_SOON)

    def _enter(self, step: EmailChangeStep) -> None:
        self._step = step
        workflow.upsert_search_attributes(
            [PROCESS_STEP.value_set(step.value), ACCOUNT_ID.value_set(str(self._params.account_id))]
        )
        self._set_details()

    def _set_details(self) -> None:
        details = f"**{STEP_LABELS[self._step]}**\n\nCompte : {self._params.identifier}"
        if self._facts is not None:
            current = self._facts.email or "aucune"
            state = "validée" if self._facts.verified else "non validée"
            details += f"\n\nAdresse actuelle : {current} ({state})"
        if self._email:
            details += f"\n\nNouvelle adresse demandée : {self._email}"
        if (
            self._current_link is not None
            and self._step == EmailChangeStep.AWAITING_VALIDATION
            and self._last_link_at is not None
            and self._expires_at is not None
        ):
            details += (
                f"\n\nLiens envoyés : {self._links_sent}, le dernier le {utc_date_time(self._last_link_at)} ; "
                f"expiration le {utc_date_time(self._expires_at)}"
            )
        workflow.set_current_details(details)
