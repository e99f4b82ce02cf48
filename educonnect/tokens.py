"""Random email-link tokens and SMS codes, and their keyed hashes (DESIGN §4).

Only the HMAC of a token or code is stored; comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from educonnect.policies import LINK_TOKEN_BYTES
from educonnect.settings import get_settings


def _key() -> bytes:
    return get_settings().secret_key.encode("utf-8")


def new_link_token() -> str:
    """A url-safe token of LINK_TOKEN_BYTES random bytes (256 bits)."""
    return secrets.token_urlsafe(LINK_TOKEN_BYTES)


def token_hash(token: str) -> bytes:
    """HMAC-SHA256 of the token, keyed with the secret key."""
    return hmac.new(_key(), token.encode("utf-8"), hashlib.sha256).digest()


def new_numeric_code(digits: int = 6) -> str:
    """A uniformly random code of `digits` decimal digits (leading zeros kept)."""
    if digits < 1:
        raise ValueError(f"digits must be >= 1, got {digits}")
    return str(secrets.randbelow(10**digits)).zfill(digits)


def code_hash(code: str, *, salt: str) -> bytes:
    """HMAC-SHA256 of salt + ":" + code; the salt is the process id, so the
    same code in two processes gives two different hashes."""
    return hmac.new(_key(), f"{salt}:{code}".encode(), hashlib.sha256).digest()


def hashes_equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(a, b)
