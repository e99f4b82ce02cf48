"""A process whose steps are addressed by a bare id in the URL, bound to the
browser that started it (as the FranceConnect first visit is): the id shows
in the address bar, the history, a shared screen or a log, so it must not be
enough to read the process or act on it.

Starting the process sets an HttpOnly cookie holding a random token, scoped
to the process's own path (`<prefix>/<id>`: several processes in one browser
each keep theirs); PostgreSQL keeps only the token's HMAC and the cookie's
end (`process_bindings`), past which the binding opens nothing. Every step checks it; another browser gets the answer
for an unknown id. The token never enters Temporal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from fastapi import Response

from educonnect import process_bindings
from educonnect.errors import DomainError, ErrorCode
from educonnect.settings import get_settings
from educonnect.tokens import new_link_token


@dataclass(frozen=True)
class BrowserBinding:
    cookie: str  # the cookie's name
    prefix: str  # the routes of a process are `<prefix>/<id>...`
    max_age: timedelta  # as long as the process may be driven
    not_found: ErrorCode  # the answer for an unknown id

    async def bind(
        self,
        pool: asyncpg.Pool,
        response: Response,
        key: object,
        process_id: str,
        *,
        also_under: tuple[str, ...] = (),
    ) -> None:
        """Bind the process `process_id` (routes `<prefix>/<key>`) to this
        browser; the same cookie also under `<other>/<key>` for each prefix of
        `also_under` (the pages of the process, `api.web`)."""
        token = new_link_token()
        await process_bindings.bind(pool, process_id, token, self.max_age)
        for prefix in (self.prefix, *also_under):
            response.set_cookie(
                self.cookie,
                token,
                max_age=int(self.max_age.total_seconds()),
                path=f"{prefix}/{key}",
                httponly=True,
                secure=get_settings().secure_cookies,
                samesite="lax",
            )

    async def require(self, pool: asyncpg.Pool, process_id: str, token: str | None) -> None:
        """Refuse, as for an unknown id, unless this browser started the process."""
        if not token or not await process_bindings.is_bound(pool, process_id, token):
            raise DomainError(self.not_found)
