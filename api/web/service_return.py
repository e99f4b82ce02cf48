"""The way back to a school service (DESIGN §10): a person a service sent to
EduConnect who must first sign in (or activate their account) comes back to
it afterwards. The authorization request they came with waits in a signed,
HttpOnly cookie; the portal, where every sign-in lands, sends them on to it."""

from __future__ import annotations

import base64
import hashlib
import hmac

from fastapi import Request, Response

from educonnect.policies import SERVICE_RETURN_VALIDITY
from educonnect.settings import get_settings

RETURN_COOKIE = "educonnect_service"
AUTHORIZE_PATH = "/oidc/authorize"


def _mac(value: str) -> str:
    key = get_settings().secret_key.encode()
    digest = hmac.new(key, f"service-return|{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def remember_service(response: Response, authorize_url: str) -> None:
    """`authorize_url`: the path and query of the authorization request."""
    response.set_cookie(
        RETURN_COOKIE,
        f"{_mac(authorize_url)}.{base64.urlsafe_b64encode(authorize_url.encode()).decode()}",
        max_age=int(SERVICE_RETURN_VALIDITY.total_seconds()),
        httponly=True,
        secure=get_settings().secure_cookies,
        samesite="lax",
    )


def pending_service(request: Request) -> str | None:
    """The authorization request waiting for this browser, if one (signed by us)."""
    raw = request.cookies.get(RETURN_COOKIE)
    if not raw or "." not in raw:
        return None
    mac, encoded = raw.split(".", 1)
    try:
        url = base64.urlsafe_b64decode(encoded.encode()).decode()
    except ValueError:
        return None
    if not hmac.compare_digest(mac, _mac(url)) or not url.startswith(AUTHORIZE_PATH + "?"):
        return None
    return url


def forget_service(response: Response) -> None:
    response.delete_cookie(
        RETURN_COOKIE, httponly=True, secure=get_settings().secure_cookies, samesite="lax"
    )
