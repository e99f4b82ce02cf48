"""Argon2id hashing of passwords (DESIGN §4)."""

from __future__ import annotations

import argon2
import pytest

from educonnect import passwords
from educonnect.passwords import (
    hash_password,
    hash_password_async,
    needs_rehash,
    reset_hasher_cache,
    verify_password,
    verify_password_async,
)
from educonnect.settings import get_settings


@pytest.fixture
def argon2_env(monkeypatch):
    """Change Argon2 settings for one test; caches are cleared before and after."""

    def set_env(**values: int) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, str(value))
        get_settings.cache_clear()
        reset_hasher_cache()

    yield set_env
    monkeypatch.undo()
    get_settings.cache_clear()
    reset_hasher_cache()


def test_hash_is_argon2id_with_default_parameters(argon2_env):
    argon2_env(ARGON2_TIME_COST=2, ARGON2_MEMORY_KIB=19456, ARGON2_PARALLELISM=1)
    h = hash_password("Secret2024")
    assert h.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_hash_carries_configured_parameters():
    s = get_settings()
    h = hash_password("Secret2024")
    assert h.startswith(
        f"$argon2id$v=19$m={s.argon2_memory_kib},t={s.argon2_time_cost},p={s.argon2_parallelism}$"
    )
    assert "Secret2024" not in h


def test_hashes_are_salted():
    assert hash_password("Secret2024") != hash_password("Secret2024")


def test_verify():
    h = hash_password("Secret2024")
    assert verify_password(h, "Secret2024") is True
    assert verify_password(h, "secret2024") is False
    assert verify_password(h, "Secret2025") is False
    assert verify_password(h, "") is False


@pytest.mark.parametrize("bad_hash", ["", "not a hash", "$argon2id$v=19$m=19456,t=2,p=1$xx$yy"])
def test_verify_invalid_hash_is_false(bad_hash):
    assert verify_password(bad_hash, "Secret2024") is False


def test_verify_none_is_false_and_still_costs_a_verification(monkeypatch):
    calls = []
    original = argon2.PasswordHasher.verify

    def spy(self, hash, password):
        calls.append(hash)
        return original(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", spy)
    assert verify_password(None, "Secret2024") is False
    assert verify_password(None, "") is False
    assert len(calls) == 2
    # The dummy hash is a real Argon2id hash with the current parameters.
    assert calls[0] == calls[1]
    assert calls[0].startswith("$argon2id$")
    assert not needs_rehash(calls[0])


def test_needs_rehash_when_settings_change(argon2_env):
    old = hash_password("Secret2024")
    assert needs_rehash(old) is False

    argon2_env(ARGON2_TIME_COST=3)
    assert needs_rehash(old) is True
    new = hash_password("Secret2024")
    assert ",t=3," in new
    assert needs_rehash(new) is False
    # Old hashes still verify after a parameter change.
    assert verify_password(old, "Secret2024") is True
    assert verify_password(new, "Secret2024") is True


def test_needs_rehash_of_invalid_hash():
    assert needs_rehash("not a hash") is True


async def test_async_variants():
    h = await hash_password_async("Secret2024")
    assert h.startswith("$argon2id$")
    assert await verify_password_async(h, "Secret2024") is True
    assert await verify_password_async(h, "Secret2025") is False
    assert await verify_password_async(None, "Secret2024") is False
    assert passwords.verify_password(h, "Secret2024") is True
