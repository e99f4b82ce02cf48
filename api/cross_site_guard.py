"""Changes asked from another site are refused (cross-site request forgery).

A browser says where a request comes from: `Sec-Fetch-Site` (every current
browser) and `Origin` (on every POST). A request that changes something (any
method but GET, HEAD, OPTIONS) is refused with `cross_site_request` (403)
when the browser says it comes from another site (`cross-site`, or
`same-site`: a neighbouring sub-domain is another site too) or from an origin
that is not ours (PUBLIC_BASE_URL, or the address the request was sent to).
Session cookies are SameSite; this holds even where SameSite does not (older
browsers, a sub-domain), and also keeps other sites from signing a visitor in
to an account of theirs. Requests without these headers (API clients,
integrators' servers, tests) are not browsers' and go on; so do the Temporal
Web UI's calls to the codec endpoint from its own origins (TEMPORAL_UI_ORIGINS,
`api.routers.temporal_codec`), which read and change nothing."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import refusal_at
from api.routers.temporal_codec import CODEC_PATH
from educonnect.errors import ErrorCode
from educonnect.settings import get_settings

log = logging.getLogger("educonnect.api")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FOREIGN_SITES = frozenset({"cross-site", "same-site"})
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def origin_of(url: str) -> str:
    """scheme://host[:port] of `url`, lower-case, without the scheme's default port."""
    text = url.strip().lower()
    try:
        parts = urlsplit(text)
        port = str(parts.port) if parts.port is not None else ""
    except ValueError:  # a broken address or port: an origin that matches none of ours
        return text
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if port and port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{port}"
    return f"{parts.scheme}://{host}"


def our_origins(scope: Scope, headers: Headers) -> set[str]:
    origins = {origin_of(get_settings().public_base_url)}
    host = headers.get("host")
    if host:
        origins.add(origin_of(f"{scope.get('scheme', 'http')}://{host}"))
    return origins


def codec_call_from_the_web_ui(scope: Scope, headers: Headers) -> bool:
    origin = headers.get("origin")
    return (
        scope["path"].startswith(CODEC_PATH + "/")
        and origin is not None
        and origin_of(origin) in {origin_of(o) for o in get_settings().temporal_ui_origin_list}
    )


def from_another_site(scope: Scope, headers: Headers) -> bool:
    site = headers.get("sec-fetch-site", "").lower()
    if site in FOREIGN_SITES:
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    if origin.strip().lower() == "null":
        # A form of a page under `Referrer-Policy: no-referrer` (the pages of an
        # email link) posts with `Origin: null`; the browser's Sec-Fetch-Site
        # then says whether it comes from our own page.
        return site != "same-origin"
    return origin_of(origin) not in our_origins(scope, headers)


class CrossSiteGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            headers = Headers(scope=scope)
            if from_another_site(scope, headers) and not codec_call_from_the_web_ui(scope, headers):
                log.warning(
                    "cross-site %s %s refused (Origin %r, Sec-Fetch-Site %r)",
                    scope["method"], scope["path"], headers.get("origin"), headers.get("sec-fetch-site"),
                )  # fmt: skip
                await refusal_at(scope, ErrorCode.CROSS_SITE_REQUEST)(scope, receive, send)
                return
        await self.app(scope, receive, send)
