"""Text nobody types, refused at the door: NUL and other control characters,
and lone UTF-16 surrogates ("\\ud800" in JSON), anywhere in the address, the
query, a JSON body or a form. PostgreSQL and UTF-8 cannot store them, so
without this guard they would fail deep inside a route; here they get the
usual French refusal (invalid_input, 422) before any route runs.

Uploaded files (multipart) are not inspected: their bytes are the file's own
business, checked by the code that reads them.

Bodies are bounded here too, before the framework buffers them: a JSON or form
body over MAX_INSPECTED_BODY, or any other body over MAX_BODY (the school's
export file and its multipart wrapping), is refused with request_too_large
(413), and a JSON body nested too deeply to decode gets invalid_input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import FIELD_MESSAGES, refusal_at
from educonnect.csv_import import MAX_FILE_BYTES
from educonnect.errors import ErrorCode

# C0 controls but tab, line feed and carriage return; DEL; lone surrogates.
FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
FIELD_MESSAGE = "Ce champ contient des caractères non autorisés."
INSPECTED_BODIES = ("application/json", "application/x-www-form-urlencoded")
MAX_INSPECTED_BODY = 1_000_000  # bytes; no JSON or form of the API comes near
MAX_BODY = MAX_FILE_BYTES + 1_000_000  # bytes; any other body (an uploaded export file)
_JSON_TYPE = re.compile(r"application/([\w.\-]+\+)?json\b")


def is_json(content_type: str) -> bool:
    """A body the framework decodes as JSON: declared so, or not declared at all."""
    return not content_type or _JSON_TYPE.match(content_type) is not None


class TooDeep(ValueError):
    """A JSON body nested deeper than Python decodes."""


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """(field path, text) of every string in a decoded JSON value, keys included."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, where)
            yield from _strings(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{where}.{i}" if where else str(i))


def _pairs(text: str) -> Iterator[tuple[str, str]]:
    for key, value in parse_qsl(text, keep_blank_values=True):
        yield key, key
        yield key, value


def forbidden_fields(scope: Scope, content_type: str, body: bytes) -> list[str]:
    """The fields holding a forbidden character (empty: the request may go on)."""
    found: list[str] = []
    path = unquote(scope.get("path", ""))
    if FORBIDDEN.search(path):
        found.append("path")
    query = scope.get("query_string", b"").decode("latin-1")
    found += [name for name, text in _pairs(query) if FORBIDDEN.search(text)]
    if is_json(content_type):
        try:
            decoded = json.loads(body) if body else None
            found += [
                name or "body" for name, text in _strings(decoded, "") if FORBIDDEN.search(text)
            ]
        except (ValueError, UnicodeDecodeError):
            return found  # malformed JSON: the framework answers json_invalid
        except RecursionError:
            raise TooDeep() from None
    elif content_type.startswith("application/x-www-form-urlencoded"):
        found += [name for name, text in _pairs(body.decode("latin-1")) if FORBIDDEN.search(text)]
    return list(dict.fromkeys(found))


class InputGuard:
    """ASGI middleware: refuses requests carrying forbidden characters."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        inspected = is_json(content_type) or content_type.startswith(INSPECTED_BODIES)
        limit = MAX_INSPECTED_BODY if inspected else MAX_BODY
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await refusal_at(scope, ErrorCode.REQUEST_TOO_LARGE)(scope, receive, send)
            return
        body, replay = b"", _limited(receive, limit)
        if inspected:
            body, more = await _read_body(receive)
            if more:
                await refusal_at(scope, ErrorCode.REQUEST_TOO_LARGE)(scope, receive, send)
                return
            replay = _replaying(body, receive, False)
        try:
            fields = forbidden_fields(scope, content_type, body)
        except TooDeep:
            details = [{"field": "body", "message": FIELD_MESSAGES["json_invalid"]}]
            await refusal_at(scope, ErrorCode.INVALID_INPUT, details)(scope, replay, send)
            return
        if fields:
            details = [{"field": f, "message": FIELD_MESSAGE} for f in fields]
            await refusal_at(scope, ErrorCode.INVALID_INPUT, details)(scope, replay, send)
            return
        await self.app(scope, replay, send)


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The body; True when it is larger than MAX_INSPECTED_BODY (then not read to its end)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_INSPECTED_BODY:
            return b"", True
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _limited(receive: Receive, limit: int) -> Receive:
    """A receive() that refuses (413) a body growing past `limit` bytes, for
    bodies sent without a length (chunked) or longer than announced."""
    size = 0

    async def limited() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise HTTPException(status_code=413)
        return message

    return limited


def _replaying(body: bytes, receive: Receive, more: bool) -> Receive:
    """A receive() that gives the body already read, then the rest."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replay
