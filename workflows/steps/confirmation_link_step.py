"""The confirmation-link step of a workflow ("Activer votre compte", DESIGN
§3.1 and §4), shared by the guardian's and the pupil's activation.
Deterministic workflow-side code: it keeps the count and the timeline of the
links, the activities (`activities.email_links`) hold the tokens (only their
HMAC, in PostgreSQL) and send the emails; Temporal only sees link ids.

Rules it enforces (numbers in `educonnect.policies`):
- the first link goes out when the step starts; a reminder with a fresh link
  ACTIVATION_REMINDER_AFTER (3 days) later; the step expires
  ACTIVATION_LINK_VALIDITY (7 days) after it started;
- one live link per process: every new link kills the previous ones, and
  only a click on the latest link counts;
- a new link on request ("renvoyer le lien") only LINK_RESEND_COOLDOWN (60 s)
  after the previous one; a corrected address gets a new link at once;
- no new link on request once ACTIVATION_MAX_LINKS (10) links went out (the
  first and the reminder included), counted as soon as asked for, and no
  new link on request while one is on its way: the cap and the cooldown hold
  against a burst of clicks or a script, even with a slow mail server.

A workflow owns one `ConfirmationLinkStep`: `send_and_wait_for_click()` in
run() (False: the step expired), `resend()` / `send_to(email)` /
`confirm(link_id)` from its updates, each validator calling `validate_resend()` /
`validate_new_link()` / `validate_click()` after its own step check, and
`click_by_signal()` from the `link_clicked` signal (the page's durable way when
the update is not answered in time). A click on a link not yet known while a
link is on its way is looked at once that send completed, so it is never lost.
Activity idempotency steps are "link-1", "link-2", ... (one per link).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from temporalio import workflow

from educonnect import policies
from educonnect.errors import ErrorCode
from educonnect.french_dates import utc_date_time
from educonnect.models.activation import LinkRequest, LinkRequestKind, LinkSent
from workflows.steps.activity_options import ACTIVITY_OPTIONS
from workflows.steps.link_clicks import CLICK_READ_BACK_PATCH, click_was_made
from workflows.steps.refusals import refusal
from workflows.steps.waiting import wait_until

# What the Web UI's timeline says of each send and deadline (user metadata,
# through the payload codec like every payload).
SEND_SUMMARIES = {
    LinkRequestKind.CONFIRMATION: "Envoi du lien de confirmation",
    LinkRequestKind.REMINDER: "Envoi du rappel avec un nouveau lien",
    LinkRequestKind.RESEND: "Nouvel envoi du lien, à la demande de la famille",
    LinkRequestKind.NEW_ADDRESS: "Envoi du lien à l'adresse corrigée",
}
REMINDER_SUMMARY = f"Rappel à J+{policies.ACTIVATION_REMINDER_AFTER.days}"
EXPIRY_SUMMARY = f"Expiration à J+{policies.ACTIVATION_LINK_VALIDITY.days}"

# A click by signal on a link whose send the workflow had not seen complete
# was ignored before: runs recorded then replay without it.
EARLY_CLICK_PATCH = "early-click-waits-for-its-link"


class ConfirmationLinkStep:
    def __init__(self, *, send: Callable, account_id: UUID, on_sent: Callable[[], None]) -> None:
        self._send_activity = send
        self._account_id = account_id
        self._on_sent = on_sent
        self.email: str | None = None  # the address to confirm
        self.latest: LinkSent | None = None  # the only live link
        self.clicked_link: LinkSent | None = None  # the link whose click counted
        self.sent = 0  # links that went out
        self._issued = 0  # links whose sending began: the activity steps "link-1", "link-2"...
        self.last_sent_at: datetime | None = None  # workflow time, for the resend cooldown
        self.clicked = False
        self.reminder_due_at: datetime | None = None
        self.expires_at: datetime | None = None
        self._lock = asyncio.Lock()
        # Links asked for (counted as soon as asked, before the lock) and links
        # not yet out: a request arriving while a link is on its way (a slow
        # mail server) is refused by the validators, so the cap and the cooldown
        # hold under concurrent requests and nothing extra reaches the history.
        self._requested = 0
        self._on_their_way = 0
        # Clicks (by signal) on links not yet known while one is on its way.
        self._early_clicks: set[UUID] = set()

    # --- the step ----------------------------------------------------------------

    async def send_and_wait_for_click(self, *, or_when: Callable[[], bool] = lambda: False) -> bool:
        """Send the first link now and the reminder later, and wait for the click
        on the latest link (or for `or_when()`, the workflow's other way out).
        True once clicked (or `or_when()`); False when the step expired."""
        self.reminder_due_at = workflow.now() + policies.ACTIVATION_REMINDER_AFTER
        self.expires_at = workflow.now() + policies.ACTIVATION_LINK_VALIDITY
        await self._send(LinkRequestKind.CONFIRMATION)

        decided = lambda: self.clicked or or_when()  # noqa: E731
        if await wait_until(decided, self.reminder_due_at, REMINDER_SUMMARY):
            return True
        await self._send(LinkRequestKind.REMINDER)
        return await wait_until(decided, self.expires_at, EXPIRY_SUMMARY)

    async def click_by_signal(self, link_id: UUID) -> None:
        """The `link_clicked` signal: read back (runs recorded before did not), then `click`."""
        if workflow.patched(CLICK_READ_BACK_PATCH) and not await click_was_made(link_id):
            return
        self.click(link_id)

    def click(self, link_id: UUID) -> None:
        """Only the latest link counts: every new link killed the previous ones.
        A click on a link not yet known while one is on its way waits for it."""
        if self.latest and link_id == self.latest.link_id:
            self._count(self.latest)
        elif self._on_their_way and workflow.patched(
            EARLY_CLICK_PATCH
        ):  # runs before it ignored such a click
            self._early_clicks.add(link_id)

    async def confirm(self, link_id: UUID) -> None:
        """The click of `confirm_link`: counted if the API recorded it and
        `link_id` is the latest link, once every link on its way went out;
        otherwise LINK_INVALID (nobody showed its token) or LINK_REPLACED."""
        if not await click_was_made(link_id):
            raise refusal(ErrorCode.LINK_INVALID)
        if not (self.latest and link_id == self.latest.link_id):
            await workflow.wait_condition(lambda: not self._on_their_way)
        if self.clicked_link is not None and self.clicked_link.link_id == link_id:
            return  # a second click on the link that counted: harmless
        if self.clicked or not (self.latest and link_id == self.latest.link_id):
            raise refusal(ErrorCode.LINK_REPLACED)
        self._count(self.latest)

    def _count(self, link: LinkSent) -> None:
        if not self.clicked:
            self.clicked = True
            self.clicked_link = link

    async def resend(self) -> LinkSent:
        """A new link to the same address, at the person's request."""
        return await self._send(LinkRequestKind.RESEND)

    async def send_to(self, email: str) -> LinkSent:
        """The person corrected the address: a new link goes to the new one."""
        self.email = email
        return await self._send(LinkRequestKind.NEW_ADDRESS)

    # --- refusals (for update validators) -----------------------------------------

    def validate_new_link(self) -> None:
        if self._requested >= policies.ACTIVATION_MAX_LINKS:
            raise refusal(ErrorCode.TOO_MANY_LINKS)

    def validate_resend(self) -> None:
        self.validate_new_link()
        if self._on_their_way or (
            self.last_sent_at and workflow.now() - self.last_sent_at < policies.LINK_RESEND_COOLDOWN
        ):
            raise refusal(ErrorCode.RESEND_TOO_SOON)

    def validate_click(self, link_id: UUID) -> None:
        """A click on the latest link, on the one that counted, or on a link
        that may be the one on its way; anything else was replaced."""
        known = (self.latest, self.clicked_link)
        if not (self._on_their_way or any(link and link.link_id == link_id for link in known)):
            raise refusal(ErrorCode.LINK_REPLACED)

    # --- what people and operators see -------------------------------------------

    def status_fields(self) -> dict[str, Any]:
        return dict(
            links_sent=self.sent,
            link_clicked=self.clicked,
            last_link_sent_at=self.latest.sent_at if self.latest else None,
            reminder_due_at=self.reminder_due_at,
            expires_at=self.expires_at,
        )

    def details(self) -> str | None:
        if self.latest is None or self.expires_at is None:
            return None
        return (
            f"Liens envoyés : {self.sent}, le dernier le "
            f"{utc_date_time(self.latest.sent_at)} ; expiration le {utc_date_time(self.expires_at)}"
        )

    # --- sending -------------------------------------------------------------------

    async def _send(self, kind: LinkRequestKind) -> LinkSent:
        # Synchronous (no await before): a concurrent request's validator sees it.
        self._requested += 1
        self._on_their_way += 1
        try:
            return await self._send_in_turn(kind)
        finally:
            self._on_their_way -= 1

    async def _send_in_turn(self, kind: LinkRequestKind) -> LinkSent:
        async with self._lock:
            assert self.email is not None and self.expires_at is not None
            self._issued += 1
            sent = await workflow.execute_activity_method(
                self._send_activity,
                LinkRequest(
                    account_id=self._account_id,
                    process_id=workflow.info().workflow_id,
                    email=self.email,
                    step=f"link-{self._issued}",
                    kind=kind,
                    expires_at=self.expires_at,
                ),
                summary=SEND_SUMMARIES[kind],
                **ACTIVITY_OPTIONS,
            )
            self.sent += 1
            self.latest = sent
            self.last_sent_at = workflow.now()
            if sent.link_id in self._early_clicks:
                self._count(sent)
            self._on_sent()
            return sent
