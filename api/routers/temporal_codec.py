"""The codec endpoint (DESIGN §9): Temporal's codec-server contract, through which
the Web UI and the CLI of an authorised operator read the encrypted payloads.

    POST /staff/temporal-codec/decode   {"payloads": [...]} -> {"payloads": [...]}
    POST /staff/temporal-codec/encode   the same, the other way

Payloads in protobuf JSON (base64 metadata and data), the namespace in the
`X-Namespace` header (only EduConnect's, TEMPORAL_NAMESPACE). Allowed: a
bearer token equal to CODEC_OPERATOR_TOKEN (operators, the CLI's
`--codec-auth`), or the session cookie of an académie-support staff member (the
Web UI sends it with `--ui-codec-include-credentials`). Anything else gets
`codec_access_refused` (401), written to the audit log. On the development
stack only (CODEC_OPEN_TO_WEB_UI), the Web UI's origins need no credentials. A browser may call it
from the Web UI's origins only (TEMPORAL_UI_ORIGINS): the CORS answers name
no other.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, Request, Response
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload, Payloads

from api.deps import STAFF_COOKIE, Pool, request_client_ip
from api.errors import error_response
from educonnect import audit
from educonnect import staff as staff_accounts
from educonnect.errors import ErrorCode
from educonnect.models.corrections import StaffRole
from educonnect.payload_codec import CODEC_PATH, EncryptionCodec, PayloadKeysError, parse_key_ring
from educonnect.settings import get_settings

log = logging.getLogger("educonnect.api")

ALLOWED_HEADERS = "authorization, content-type, x-namespace"
AUDIT_ACTION = "temporal_codec"

router = APIRouter(prefix=CODEC_PATH, tags=["opérateurs"], include_in_schema=False)


def cors_headers(request: Request) -> dict[str, str]:
    """CORS for the Web UI's origins, nothing for any other."""
    origin = (request.headers.get("origin") or "").rstrip("/")
    if origin not in get_settings().temporal_ui_origin_list:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _authorised(request: Request, pool) -> str | None:
    """Who may read: "operator" (the token) or the staff login; None: refused, audited."""
    settings = get_settings()
    if settings.codec_open_to_web_ui and cors_headers(request):
        return "web-ui"  # development stack only (production mode refuses the setting)
    expected = settings.codec_operator_token
    token = _bearer_token(request)
    if token is not None and expected and hmac.compare_digest(token.encode(), expected.encode()):
        return "operator"
    session = request.cookies.get(STAFF_COOKIE)
    member = await staff_accounts.find_session(pool, session) if session else None
    if member is not None and member.role == StaffRole.ACADEMIE_SUPPORT:
        return member.login
    actor = (
        member.actor
        if member is not None
        else audit.Actor("anonymous", None, f"Appel anonyme ({request_client_ip(request)})")
    )
    await audit.record(
        pool,
        actor,
        AUDIT_ACTION,
        "temporal_namespace",
        request.headers.get("x-namespace") or get_settings().temporal_namespace,
        outcome=audit.REFUSED,
        details={
            "code": ErrorCode.CODEC_ACCESS_REFUSED.value,
            "path": request.url.path,
            "token": "wrong" if request.headers.get("authorization") else "missing",
        },
    )
    return None


def _refusal(code: ErrorCode, cors: dict[str, str]) -> Response:
    """The refusal with its CORS headers, so that the Web UI can read it."""
    response = error_response(code)
    response.headers.update(cors)
    return response


async def _apply(
    request: Request,
    pool,
    transform: Callable[[EncryptionCodec, Sequence[Payload]], Awaitable[list[Payload]]],
) -> Response:
    cors = cors_headers(request)
    if await _authorised(request, pool) is None:
        return _refusal(ErrorCode.CODEC_ACCESS_REFUSED, cors)
    settings = get_settings()
    namespace = request.headers.get("x-namespace")
    if namespace and namespace != settings.temporal_namespace:
        return _refusal(ErrorCode.CODEC_NAMESPACE_UNKNOWN, cors)
    try:
        payloads = json_format.Parse(await request.body(), Payloads(), ignore_unknown_fields=True)
        codec = EncryptionCodec(parse_key_ring(settings.temporal_payload_keys))
        converted = await transform(codec, payloads.payloads)
    except (json_format.ParseError, DecodeError, PayloadKeysError, UnicodeDecodeError) as err:
        log.warning("codec endpoint: %s refused (%s)", request.url.path, type(err).__name__)
        return _refusal(ErrorCode.INVALID_INPUT, cors)
    return Response(
        json_format.MessageToJson(Payloads(payloads=converted)),
        media_type="application/json",
        headers=cors,
    )


@router.options("/{action}")
async def preflight(action: str, request: Request) -> Response:
    return Response(status_code=204, headers=cors_headers(request))


@router.post("/decode")
async def decode(request: Request, pool: Pool) -> Response:
    return await _apply(request, pool, lambda codec, payloads: codec.decode(payloads))


@router.post("/encode")
async def encode(request: Request, pool: Pool) -> Response:
    return await _apply(request, pool, lambda codec, payloads: codec.encode(payloads))
