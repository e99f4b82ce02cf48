"""The pages opened from an emailed link (DESIGN §4): activation, address
validation, lost password. Their routes share two things.

- `live_link`: the link of a token (only its HMAC is stored) if it can still
  be used; otherwise `LinkRefused`, a French page with the link's own words.
- `confirm`: the button of the page asks the link's process through an update
  (its validator and handler see the link as the workflow recorded it, even
  if the click reaches the worker before the completion of the send), and
  the page says what really happened:
    * the workflow's answer (`done(result)`);
    * its refusal (a replaced link, the process ended...), the link read again
      from PostgreSQL when the process has moved on;
    * no answer in time (no worker running, an overloaded one): the click is
      recorded durably by the process's signal where it has one (it counts
      once a worker looks at it, its link being the latest: "bien reçue",
      202); otherwise the workflow's status says whether it counted (202) or
      not (503: nothing happened, click again);
    * Temporal unreachable: 503, the click can be made again.
  Never a guess that sends the family elsewhere."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from fastapi.responses import HTMLResponse
from temporalio.client import (
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from api import pages
from api.errors import refusal_page, update_failure_code
from api.process_calls import UPDATE_TIMEOUT_S
from educonnect.errors import HTTP_STATUS, MESSAGES, ErrorCode
from educonnect.tokens import token_hash

log = logging.getLogger("educonnect.api")

STATUS_TIMEOUT_S = 5  # the status read after an update that did not answer in time


class LinkRefused(Exception):
    """A link that cannot be used, as the page says it."""

    def __init__(
        self,
        code: ErrorCode,
        status_code: int,
        text: str | None = None,
        title: str = "Lien inutilisable",
    ):
        self.code, self.status_code, self.text, self.title = (
            code,
            status_code,
            text or MESSAGES[code],
            title,
        )

    def page(self) -> HTMLResponse:
        return pages.page(self.title, self.text, status_code=self.status_code, code=self.code)


@dataclass(frozen=True)
class LinkWords:
    """What a link's pages say when it cannot be used (default: the generic messages)."""

    texts: dict[ErrorCode, str] = field(default_factory=dict)
    already_used_title: str = "Lien déjà utilisé"

    def refusal(self, code: ErrorCode, status_code: int) -> LinkRefused:
        title = (
            self.already_used_title if code == ErrorCode.LINK_ALREADY_USED else "Lien inutilisable"
        )
        return LinkRefused(code, status_code, self.texts.get(code), title)


async def live_link(
    pool: asyncpg.Pool, token: str, purpose: str, words: LinkWords
) -> asyncpg.Record:
    """The link of this token and purpose if it can still be used; otherwise
    `LinkRefused` with the words of this kind of link."""
    link = await pool.fetchrow(
        "SELECT id, account_id, process_id, email, used_at, revoked_at, expires_at <= now() AS expired "
        "FROM email_links WHERE token_hash = $1 AND purpose = $2",
        token_hash(token),
        purpose,
    )
    if link is None:
        raise words.refusal(ErrorCode.LINK_INVALID, 404)
    if link["used_at"] is not None:
        raise words.refusal(ErrorCode.LINK_ALREADY_USED, 200)
    if link["revoked_at"] is not None:
        raise words.refusal(ErrorCode.LINK_REPLACED, 410)
    if link["expired"]:
        raise words.refusal(ErrorCode.LINK_EXPIRED, 410)
    return link


@dataclass(frozen=True)
class ClickPage:
    """One click on the button of a link page, and how its page is written."""

    pool: asyncpg.Pool
    token: str
    purpose: str
    words: LinkWords
    pending_title: str  # the click counted, the process is finishing (202)
    pending_text: str

    async def confirm(
        self,
        handle: WorkflowHandle,
        update: UpdateMethodMultiParam[[Any, Any], Any],
        arg: Any,
        *,
        status: Callable,
        counted: Callable[[Any], bool],
        done: Callable[[Any], HTMLResponse],
        signal: tuple[Callable, Any] | None = None,
    ) -> HTMLResponse:
        """Record the click (the workflow reads it back before it counts it),
        run `update(arg)` on the link's process and write the page of what
        happened (`done(result)` when the workflow answered). `signal`: the
        process's durable way to hear of the click when the update is not
        answered in time."""
        await self.pool.execute(
            "UPDATE email_links SET clicked_at = coalesce(clicked_at, now()) WHERE token_hash = $1",
            token_hash(self.token),
        )
        try:
            result = await asyncio.wait_for(handle.execute_update(update, arg), UPDATE_TIMEOUT_S)
        except WorkflowUpdateFailedError as err:
            return await self._refused(update_failure_code(err))
        except RPCError as err:
            if (
                err.status == RPCStatusCode.NOT_FOUND
            ):  # the process ended before the click reached it
                return await self._after_the_end(None)
            log.warning("link click on %s: Temporal unreachable (%s)", handle.id, err.status)
            return refusal_page(ErrorCode.SERVICE_UNAVAILABLE)
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):  # ours, or the server's
            if signal is not None:
                return await self._recorded(handle, *signal)
            return await self._unanswered(handle, status, counted)
        return done(result)

    async def _recorded(self, handle: WorkflowHandle, signal: Callable, arg: Any) -> HTMLResponse:
        try:
            await asyncio.wait_for(handle.signal(signal, arg), STATUS_TIMEOUT_S)
        except (TimeoutError, RPCError) as err:
            log.warning(
                "link click on %s: no answer, not recorded (%s)", handle.id, type(err).__name__
            )
            return refusal_page(ErrorCode.SERVICE_UNAVAILABLE)
        log.warning(
            "link click on %s: no answer in %s s, recorded by signal", handle.id, UPDATE_TIMEOUT_S
        )
        return self._pending()

    def _pending(self) -> HTMLResponse:
        return pages.page(self.pending_title, self.pending_text, status_code=202)

    async def _refused(self, code: ErrorCode) -> HTMLResponse:
        if code == ErrorCode.SERVICE_UNAVAILABLE:
            return refusal_page(ErrorCode.SERVICE_UNAVAILABLE)
        if code == ErrorCode.LINK_REPLACED:
            return self.words.refusal(code, HTTP_STATUS[code]).page()
        return await self._after_the_end(code)

    async def _after_the_end(self, code: ErrorCode | None) -> HTMLResponse:
        """The process moved on without this click: the link as PostgreSQL
        knows it now (used, expired...); if it still looks live, the process's
        own refusal (or, the process being gone, an expired link)."""
        try:
            await live_link(self.pool, self.token, self.purpose, self.words)
        except LinkRefused as refused:
            return refused.page()
        if code is None:
            return self.words.refusal(ErrorCode.LINK_EXPIRED, 410).page()
        return LinkRefused(code, HTTP_STATUS[code]).page()

    async def _unanswered(
        self, handle: WorkflowHandle, status: Callable, counted: Callable[[Any], bool]
    ) -> HTMLResponse:
        try:
            now = await asyncio.wait_for(handle.query(status), STATUS_TIMEOUT_S)
        except (TimeoutError, RPCError, WorkflowQueryFailedError) as err:
            log.warning(
                "link click on %s: no answer, no status (%s)", handle.id, type(err).__name__
            )
            return refusal_page(ErrorCode.SERVICE_UNAVAILABLE)
        if counted(now):
            return self._pending()
        log.warning(
            "link click on %s: no answer in %s s and not counted", handle.id, UPDATE_TIMEOUT_S
        )
        return refusal_page(ErrorCode.SERVICE_UNAVAILABLE)
