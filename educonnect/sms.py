"""Send an SMS through the HTTP SMS gateway (`SMS_GATEWAY_URL` + token).

The protocol is documented in `educonnect.devtools.sms_gateway`, whose dev
gateway the stack runs on loopback by default.
"""

from __future__ import annotations

import httpx

from educonnect import metrics
from educonnect.settings import get_settings


class SmsGatewayError(RuntimeError):
    """The gateway refused the message or answered something unexpected."""


async def send_sms(to: str, text: str, idempotency_key: str | None = None) -> str:
    """Hand one SMS to the gateway; return the gateway's message id.

    Pass an `idempotency_key` (e.g. derived from workflow id + step) so that a
    retried activity never sends the SMS twice.
    Raises `httpx.HTTPStatusError` on a non-2xx answer, `httpx.HTTPError` on
    network trouble.
    """
    with metrics.counting(metrics.SMS):  # sent or failed (DESIGN §9)
        return await _send_sms(to, text, idempotency_key)


async def _send_sms(to: str, text: str, idempotency_key: str | None) -> str:
    settings = get_settings()
    headers = {"Authorization": f"Bearer {settings.sms_gateway_token}"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.post(
            settings.sms_gateway_url.rstrip("/") + "/messages",
            json={"to": to, "text": text},
            headers=headers,
        )
        response.raise_for_status()
    try:
        return str(response.json()["id"])
    except (ValueError, KeyError, TypeError) as err:
        # Not the answer's text: a gateway may echo the message, and this error
        # ends up in the activity's failure, in Temporal (a code must not).
        raise SmsGatewayError(
            f"unexpected gateway answer: HTTP {response.status_code}, "
            f"{response.headers.get('content-type', 'no content type')}, {len(response.content)} bytes"
        ) from err


def not_taken(err: BaseException) -> bool:
    """Whether the failure of `send_sms` proves the gateway did not take the
    message: the connection never opened, or the gateway answered a refusal
    (any answer but a 2xx, as the protocol says). A timeout or a connection
    lost after the request went out proves nothing: the SMS may be on its way."""
    return isinstance(err, (httpx.ConnectError, httpx.ConnectTimeout, httpx.HTTPStatusError))
