"""Security headers on every answer (one ASGI middleware, outermost of the app's own).

- `Content-Security-Policy` with `frame-ancestors 'none'` (no page of ours
  inside another site's frame), plus `X-Frame-Options: DENY` for older
  browsers. Pages get a policy that allows only what they load from us (their
  inline style included); JSON gets `default-src 'none'`; the API's
  documentation pages (`/docs`, `/redoc`: scripts from a CDN) keep what they
  load but not the frames.
- `X-Content-Type-Options: nosniff`.
- `Referrer-Policy`: `no-referrer` on the pages opened from an email link
  (their address holds the token, which must not leave in a Referer header),
  which are also never stored by a cache; `strict-origin-when-cross-origin`
  elsewhere.
- `Strict-Transport-Security` in production mode.

A route that sets one of these headers itself keeps its own."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from educonnect import policies
from educonnect.settings import get_settings

# The pages whose address holds an email link's token (`?jeton=`); pupil
# activation's link opens the guardian's page. `tests/test_security_headers.py`
# checks that every route taking a `jeton` is here.
TOKEN_PAGES = frozenset(
    {"/activation/confirmation", "/recovery/password/link", "/account/email/validation"}
)
DOCS_PREFIXES = ("/docs", "/redoc")

PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_CSP = "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
DATA_CSP = "default-src 'none'; frame-ancestors 'none'"


def headers_for(path: str, content_type: str, production: bool) -> dict[str, str]:
    """The security headers of an answer to `path` of this content type."""
    if path.startswith(DOCS_PREFIXES):
        csp = DOCS_CSP
    elif content_type.startswith("text/html"):
        csp = PAGE_CSP
    else:
        csp = DATA_CSP
    token_page = path in TOKEN_PAGES
    headers = {
        "content-security-policy": csp,
        "x-frame-options": "DENY",
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer" if token_page else "strict-origin-when-cross-origin",
    }
    if token_page:
        headers["cache-control"] = "no-store"
    if production:
        headers["strict-transport-security"] = (
            f"max-age={int(policies.HSTS_MAX_AGE.total_seconds())}; includeSubDomains"
        )
    return headers


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        production = get_settings().production

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in headers_for(
                    scope["path"], headers.get("content-type", ""), production
                ).items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
