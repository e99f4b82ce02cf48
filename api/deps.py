"""Shared dependencies: the database pool, the Temporal client, the session."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import Cookie, Depends, Request, Response
from temporalio.client import Client

from educonnect import sessions
from educonnect.errors import DomainError, ErrorCode
from educonnect.settings import get_settings

SESSION_COOKIE = "educonnect_session"


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
        session = await sessions.find_session(pool, educonnect_session) if educonnect_session else None
        if session is None or session.scope != scope:
            raise DomainError(ErrorCode.SESSION_REQUIRED)
        return session

    return dependency


ActivationSession = Annotated[sessions.Session, Depends(require_session("activation"))]
