"""Single-use email links (DESIGN §4): a fresh random token per link, only its
HMAC stored, one live link per process (issuing one revokes the others)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import asyncpg
from temporalio import activity

from activities.idempotency import idempotency_key
from educonnect.emails import Email
from educonnect.emails import activation as activation_emails
from educonnect.emails.sender import send_email
from educonnect.models.activation import ClickReadBack, LinkRequest, LinkSent
from educonnect.settings import get_settings
from educonnect.tokens import new_link_token, token_hash

ACTIVATION_CONFIRM_PATH = "/activation/confirmation"


def confirmation_url(token: str, path: str = ACTIVATION_CONFIRM_PATH) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}{path}?jeton={token}"


class EmailLinkActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn
    async def send_activation_link(self, request: LinkRequest) -> LinkSent:
        """Issue the link of this step and email it, at most once per step."""
        return await send_confirmation_link(self._pool, request, activation_emails.GUARDIAN)

    @activity.defn
    async def click_recorded(self, request: ClickReadBack) -> bool:
        """Whether the API recorded a click on this link of this process (the
        person showed its token): a click message nobody made counts for nothing."""
        return bool(
            await self._pool.fetchval(
                "SELECT clicked_at IS NOT NULL FROM email_links WHERE id = $1 AND process_id = $2",
                request.link_id,
                request.process_id,
            )
        )


async def send_confirmation_link(
    pool: asyncpg.Pool, request: LinkRequest, wording: activation_emails.LinkEmailWording
) -> LinkSent:
    """The confirmation link of an activation (the guardian's or the pupil's:
    the email's `wording` says which), at most once per step."""
    return await issue_and_send_link(
        pool,
        request,
        lambda to, identifier, url: activation_emails.confirmation(
            to=to,
            identifier=identifier,
            url=url,
            expires_at=request.expires_at,
            kind=request.kind,
            wording=wording,
        ),
    )


async def issue_and_send_link(
    pool: asyncpg.Pool,
    request: LinkRequest,
    compose: Callable[[str, str, str], Email],
    *,
    purpose: str = "activation",
    path: str = ACTIVATION_CONFIRM_PATH,
) -> LinkSent:
    """Issue the link of this step and email it (built by
    `compose(to, identifier, url)`), at most once per step. Shared by the
    activation processes (guardian and pupil) and, with their own `purpose`
    and page `path`, email change and lost password; call it from an activity.

    A retry after the email went out returns the first link. A retry before
    it went out replaces the token (nobody can hold the unsent one)."""
    key = idempotency_key(request.step)
    token = new_link_token()
    async with pool.acquire() as conn, conn.transaction():
        link = await conn.fetchrow(
            """
            INSERT INTO email_links (id, idempotency_key, account_id, process_id, purpose, email,
                                     token_hash, expires_at)
            VALUES ($1, $2, $3, $4, $8, $5, $6, $7)
            ON CONFLICT (idempotency_key) DO UPDATE
                SET token_hash = CASE WHEN email_links.sent_at IS NULL
                                      THEN excluded.token_hash ELSE email_links.token_hash END
            RETURNING id, email, sent_at
            """,
            uuid.uuid4(),
            key,
            request.account_id,
            request.process_id,
            request.email,
            token_hash(token),
            request.expires_at,
            purpose,
        )
        await conn.execute(
            "UPDATE email_links SET revoked_at = now() "
            "WHERE process_id = $1 AND id <> $2 AND used_at IS NULL AND revoked_at IS NULL",
            request.process_id,
            link["id"],
        )
    if link["sent_at"] is not None:
        return LinkSent(link_id=link["id"], email=link["email"], sent_at=link["sent_at"])

    identifier = await pool.fetchval(
        "SELECT identifier FROM accounts WHERE id = $1", request.account_id
    )
    await send_email(compose(link["email"], identifier, confirmation_url(token, path)))
    sent_at = await pool.fetchval(
        "UPDATE email_links SET sent_at = now() WHERE id = $1 RETURNING sent_at", link["id"]
    )
    return LinkSent(link_id=link["id"], email=link["email"], sent_at=sent_at)
