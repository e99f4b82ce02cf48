"""Email-link tokens and SMS codes (DESIGN §4)."""

from __future__ import annotations

import re
import secrets

import pytest

from educonnect import tokens
from educonnect.settings import get_settings
from educonnect.tokens import (
    code_hash,
    hashes_equal,
    new_link_token,
    new_numeric_code,
    token_hash,
)


@pytest.fixture
def secret_key(monkeypatch):
    """Set SECRET_KEY for one test; settings are re-read before and after."""

    def set_key(value: str) -> None:
        monkeypatch.setenv("SECRET_KEY", value)
        get_settings.cache_clear()

    yield set_key
    monkeypatch.undo()
    get_settings.cache_clear()


def test_link_token_length_and_alphabet():
    for _ in range(200):
        token = new_link_token()
        assert len(token) >= 43  # 32 bytes in base64url without padding
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token)


def test_link_tokens_are_distinct():
    drawn = {new_link_token() for _ in range(5000)}
    assert len(drawn) == 5000


def test_token_hash_is_stable_and_is_hmac_sha256():
    token = new_link_token()
    h = token_hash(token)
    assert isinstance(h, bytes) and len(h) == 32
    assert token_hash(token) == h
    assert token_hash(token + "x") != h
    import hashlib
    import hmac

    key = get_settings().secret_key.encode()
    assert h == hmac.new(key, token.encode(), hashlib.sha256).digest()
    assert h != hashlib.sha256(token.encode()).digest()


def test_token_hash_depends_on_secret_key(secret_key):
    token = "fixed-token"
    secret_key("first-key-0123456789")
    first = token_hash(token)
    assert token_hash(token) == first
    secret_key("second-key-0123456789")
    assert token_hash(token) != first
    secret_key("first-key-0123456789")
    assert token_hash(token) == first


def test_numeric_code_format():
    for _ in range(500):
        code = new_numeric_code()
        assert re.fullmatch(r"[0-9]{6}", code)
    assert re.fullmatch(r"[0-9]{4}", new_numeric_code(4))
    with pytest.raises(ValueError):
        new_numeric_code(0)


def test_numeric_code_keeps_leading_zeros(monkeypatch):
    drawn_bounds = []

    def fake_randbelow(n):
        drawn_bounds.append(n)
        return 42

    monkeypatch.setattr(secrets, "randbelow", fake_randbelow)
    assert new_numeric_code() == "000042"
    assert new_numeric_code(8) == "00000042"
    assert drawn_bounds == [10**6, 10**8]


def test_numeric_code_covers_small_values():
    # P(no value < 100000 in 2000 draws) = 0.9**2000, i.e. never.
    codes = [new_numeric_code() for _ in range(2000)]
    assert any(c.startswith("0") for c in codes)
    assert len(set(codes)) > 1900


def test_code_hash_is_salted_by_process():
    assert code_hash("123456", salt="process-a") == code_hash("123456", salt="process-a")
    assert code_hash("123456", salt="process-a") != code_hash("123456", salt="process-b")
    assert code_hash("123456", salt="process-a") != code_hash("123457", salt="process-a")
    # The separator keeps (salt, code) pairs apart.
    assert code_hash("23456", salt="p1") != code_hash("123456", salt="p")
    assert len(code_hash("000000", salt="p")) == 32


def test_code_hash_depends_on_secret_key(secret_key):
    secret_key("first-key-0123456789")
    first = code_hash("123456", salt="p")
    secret_key("second-key-0123456789")
    assert code_hash("123456", salt="p") != first


def test_hashes_equal():
    h = token_hash("abc")
    assert hashes_equal(h, token_hash("abc"))
    assert not hashes_equal(h, token_hash("abd"))
    assert not hashes_equal(h, h[:-1])
    assert not hashes_equal(h, b"")


def test_module_uses_policy_constant():
    assert tokens.LINK_TOKEN_BYTES * 8 >= 128
