"""Shared dependencies: the database pool, the Temporal client, the family's
session, and the staff member signed in (with the audited refusal of what is
out of their scope)."""

from __future__ import annotations

from typing import Annotated, NoReturn

import asyncpg
from fastapi import Cookie, Depends, Request, Response
from temporalio.client import Client

from educonnect import audit, sessions
from educonnect import staff as staff_accounts
from educonnect.errors import DomainError, ErrorCode
from educonnect.policies import RECENT_SIGN_IN_MAX_AGE
from educonnect.settings import get_settings
from educonnect.sign_in_limits import client_ip
from educonnect.staff import StaffMember

SESSION_COOKIE = "educonnect_session"
STAFF_COOKIE = "educonnect_staff_session"
# The most rows a staff list (corrections, tickets) answers at once.
QUEUE_LIMIT = 500


def get_pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


def get_temporal(request: Request) -> Client:
    return request.app.state.temporal


Pool = Annotated[asyncpg.Pool, Depends(get_pool)]
Temporal = Annotated[Client, Depends(get_temporal)]


def set_session_cookie(response: Response, token: str, scope: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(sessions.SESSION_TTL[scope].total_seconds()),
        httponly=True,
        secure=get_settings().secure_cookies,
        samesite="lax",
    )


def require_session(scope: str):
    async def dependency(
        pool: Pool, educonnect_session: Annotated[str | None, Cookie()] = None
    ) -> sessions.Session:
        session = (
            await sessions.find_session(pool, educonnect_session) if educonnect_session else None
        )
        if session is None or session.scope != scope:
            raise DomainError(ErrorCode.SESSION_REQUIRED)
        return session

    return dependency


ActivationSession = Annotated[sessions.Session, Depends(require_session("activation"))]
PortalSession = Annotated[sessions.Session, Depends(require_session("portal"))]


async def require_recent_sign_in(session: PortalSession, pool: Pool) -> sessions.Session:
    """A portal session opened less than RECENT_SIGN_IN_MAX_AGE ago (15 min):
    sensitive changes (email, password) need a recent sign-in (DESIGN §4)."""
    if not await sessions.opened_since(pool, session.id, RECENT_SIGN_IN_MAX_AGE):
        raise DomainError(ErrorCode.RECENT_SIGN_IN_REQUIRED)
    return session


RecentPortalSession = Annotated[sessions.Session, Depends(require_recent_sign_in)]


async def start_portal_session(
    response: Response, pool: asyncpg.Pool, account_id, *, replaces: str | None = None
) -> str:
    """Sign the person in to the portal: a new server-side session (fresh random
    token, only its HMAC stored) and its cookie (HttpOnly, SameSite=Lax, Secure
    when `secure_cookies`). Used by every way of signing in (password, SMS
    registration, FranceConnect). `replaces`: the session cookie the browser
    already had, revoked so that a sign-in never keeps an older session alive.
    The session's creation time is the sign-in time ("recent sign-in" checks).
    Returns the session's token (FranceConnect keeps its ID token with it)."""
    if replaces:
        await sessions.revoke_session(pool, replaces)
    token = await sessions.open_session(pool, account_id, "portal")
    set_session_cookie(response, token, "portal")
    return token


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, secure=get_settings().secure_cookies, samesite="lax"
    )


def request_client_ip(request: Request) -> str:
    """The client address the per-IP limits count: the TCP peer, or what
    FORWARDED_FOR_TRUSTED_HOPS says to believe (`sign_in_limits.client_ip`)."""
    peer = request.client.host if request.client else None
    return client_ip(
        peer, request.headers.get("x-forwarded-for"), get_settings().forwarded_for_trusted_hops
    )


# --- staff -------------------------------------------------------------------------------------


async def current_staff(
    pool: Pool, educonnect_staff_session: Annotated[str | None, Cookie()] = None
) -> StaffMember:
    member = (
        await staff_accounts.find_session(pool, educonnect_staff_session)
        if educonnect_staff_session
        else None
    )
    if member is None:
        raise DomainError(ErrorCode.STAFF_SESSION_REQUIRED)
    return member


Staff = Annotated[StaffMember, Depends(current_staff)]


async def refuse_audited(
    pool, member: StaffMember, action: str, target_kind: str, target_id, code: ErrorCode,
    answer: ErrorCode | None = None, **details,
) -> NoReturn:  # fmt: skip
    """Audit a refused staff action, then refuse it with its stable code.

    `answer`: the code the staff member gets when it is not the audited one;
    something out of scope answers like something unknown (staff learn
    nothing about other schools' families), the log keeps the real reason."""
    await audit.record(
        pool,
        member.actor,
        action,
        target_kind,
        target_id,
        outcome=audit.REFUSED,
        details={"code": code.value, **details},
    )
    raise DomainError(answer or code)


async def audit_listing(pool, member: StaffMember, action: str, count: int, **details) -> None:
    """Audit a staff member's look at a list of their scope (queue, tickets, disputes)."""
    await audit.record(
        pool, member.actor, action, "staff_scope", member.uai or member.academie,
        details={"count": count, **details},
    )  # fmt: skip
