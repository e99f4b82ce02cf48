"""Comparing two answers of the API as a person would (no enumeration)."""

from __future__ import annotations

import re

import httpx

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def answer_headers(response: httpx.Response) -> dict[str, str]:
    """The headers of an answer but its date and length, with the random token
    and the process id of a cookie binding the process to the browser
    (`api.process_binding`) blanked: the rest must not differ between a
    request that matched someone and one that matched nobody."""
    headers = {k: v for k, v in response.headers.items() if k not in ("content-length", "date")}
    if "set-cookie" in headers:
        headers["set-cookie"] = _UUID.sub(
            "<id>", re.sub(r"^([^=]+)=[^;]*", r"\1=<jeton>", headers["set-cookie"])
        )
    return headers
