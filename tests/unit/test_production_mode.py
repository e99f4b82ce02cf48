"""Production mode (EDUCONNECT_ENV): the API and the worker refuse to start on
any development default and name it; development mode takes them all."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from educonnect.production_mode import (
    ProductionSettingsError,
    development_defaults,
    require_production_ready,
)
from educonnect.settings import PROJECT_ROOT, Environment, Settings

# A production configuration with nothing left at its development default.
PRODUCTION = dict(
    EDUCONNECT_ENV="production",
    SECRET_KEY="k" * 48,
    FRANCECONNECT_CLIENT_SECRET="fc-secret-from-the-partner-space",
    FRANCECONNECT_CLIENT_ID="educonnect-production",
    FRANCECONNECT_DISCOVERY_URL="https://oidc.franceconnect.gouv.fr/api/v2/.well-known/openid-configuration",
    SMS_GATEWAY_TOKEN="sms-token-of-the-operator",
    SMS_GATEWAY_URL="https://sms.example.fr",
    SMTP_URL="smtp+starttls://educonnect:pw@relay.example.fr:587",
    DATABASE_URL="postgresql://educonnect:pw@db.example.fr:5432/educonnect",
    SECURE_COOKIES="true",
    PUBLIC_BASE_URL="https://educonnect.example.fr",
    TEMPORAL_PAYLOAD_KEYS="2026-12:" + "A" * 43,
)

# Each development default, how it is put back, and the name the refusal gives.
DEFAULTS = [
    ({"SECRET_KEY": None}, "SECRET_KEY"),
    ({"SECRET_KEY": "short-key"}, "SECRET_KEY"),
    ({"FRANCECONNECT_CLIENT_SECRET": None}, "FRANCECONNECT_CLIENT_SECRET"),
    ({"FRANCECONNECT_CLIENT_ID": None}, "FRANCECONNECT_CLIENT_ID"),
    ({"FRANCECONNECT_DISCOVERY_URL": None}, "FRANCECONNECT_DISCOVERY_URL"),
    ({"SMS_GATEWAY_TOKEN": None}, "SMS_GATEWAY_TOKEN"),
    ({"SMS_GATEWAY_URL": None}, "SMS_GATEWAY_URL"),
    ({"SMTP_URL": None}, "SMTP_URL"),
    ({"DATABASE_URL": None}, "DATABASE_URL"),
    ({"SECURE_COOKIES": None}, "SECURE_COOKIES"),
    ({"SECURE_COOKIES": "false"}, "SECURE_COOKIES"),
    ({"PUBLIC_BASE_URL": None}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": "http://educonnect.example.fr"}, "PUBLIC_BASE_URL"),
    ({"ARGON2_TIME_COST": "1"}, "ARGON2_TIME_COST"),
    ({"ARGON2_MEMORY_KIB": "4096"}, "ARGON2_TIME_COST"),
    ({"EDUCONNECT_DEV_PAGES": "1"}, "EDUCONNECT_DEV_PAGES"),
    ({"OIDC_ISSUER_URL": "http://educonnect.example.fr/oidc"}, "OIDC_ISSUER_URL"),
    (
        {"SERVICE_CLIENTS": '[{"redirect_uris": ["http://127.0.0.1:8050/callback"]}]'},
        "SERVICE_CLIENTS",
    ),
    ({"TEMPORAL_PAYLOAD_KEYS": None}, "TEMPORAL_PAYLOAD_KEYS"),
    ({"CODEC_OPEN_TO_WEB_UI": "true"}, "CODEC_OPEN_TO_WEB_UI"),
    ({"TEMPORAL_PAYLOAD_KEYS": "2026-12:too-short"}, "TEMPORAL_PAYLOAD_KEYS"),
]


def _env_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(name.upper())
        if isinstance(field.validation_alias, str):
            names.add(field.validation_alias)
    return names


@pytest.fixture
def make_settings(monkeypatch):
    """Settings from exactly these variables: the test process's own
    environment (DATABASE_URL, SMTP_URL... of other tests) and `.env` set aside."""
    for name in _env_names():
        monkeypatch.delenv(name, raising=False)

    def make(values: dict[str, str | None]) -> Settings:
        for name, value in values.items():
            if value is not None:
                monkeypatch.setenv(name, value)
            else:
                monkeypatch.delenv(name, raising=False)
        return Settings(_env_file=None)

    return make


def test_production_is_the_default(make_settings):
    settings = make_settings({})
    assert settings.environment == Environment.PRODUCTION and settings.production


def test_development_mode_takes_every_default(make_settings):
    settings = make_settings({"EDUCONNECT_ENV": "development"})
    assert not settings.production
    assert development_defaults(settings) == []
    require_production_ready(settings)  # does not raise


def test_a_production_configuration_starts(make_settings):
    settings = make_settings(PRODUCTION)
    assert development_defaults(settings) == []
    require_production_ready(settings)


def test_production_on_development_defaults_names_every_one(make_settings):
    with pytest.raises(ProductionSettingsError) as refused:
        require_production_ready(make_settings({"EDUCONNECT_ENV": "production"}))
    message = str(refused.value)
    # Every default that is development's own (Argon2id's default is OWASP's profile; dev pages are off).
    for name in {name for change, name in DEFAULTS if set(change.values()) == {None}}:
        assert name in message, name
    assert "ARGON2" not in message and "DEV_PAGES" not in message and "CODEC_OPEN" not in message
    assert "EDUCONNECT_ENV=development" in message  # and what to do on a development machine


@pytest.mark.parametrize(
    "change, name", DEFAULTS, ids=[f"{n}-{i}" for i, (_, n) in enumerate(DEFAULTS)]
)
def test_each_development_default_is_refused_by_name(make_settings, change, name):
    found = development_defaults(make_settings({**PRODUCTION, **change}))
    assert len(found) == 1 and found[0].startswith(name), found


@pytest.mark.parametrize(
    "time_cost, memory_kib, accepted",
    [
        (2, 19456, True),
        (1, 47104, True),
        (5, 7168, True),
        (3, 12288, True),
        (1, 19456, False),
        (4, 8192, False),
    ],
)
def test_argon2_at_least_one_owasp_minimum_profile(make_settings, time_cost, memory_kib, accepted):
    settings = make_settings(
        {**PRODUCTION, "ARGON2_TIME_COST": str(time_cost), "ARGON2_MEMORY_KIB": str(memory_kib)}
    )
    assert (development_defaults(settings) == []) is accepted


@pytest.mark.parametrize(
    "command", [["-m", "api"], [str(PROJECT_ROOT / "worker.py")]], ids=["api", "worker"]
)
def test_api_and_worker_refuse_to_start_on_development_defaults(tmp_path, command):
    """The real entry points, in production mode on the development defaults:
    they stop at once (before connecting anywhere) and say what is missing."""
    env = {k: v for k, v in os.environ.items() if k not in _env_names()}
    env.update(EDUCONNECT_ENV="production", PYTHONPATH=str(PROJECT_ROOT))
    done = subprocess.run(
        [sys.executable, *command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    for name in (
        "SECRET_KEY",
        "FRANCECONNECT_CLIENT_SECRET",
        "SMS_GATEWAY_TOKEN",
        "SECURE_COOKIES",
    ):
        assert name in done.stderr, done.stderr
    assert "Traceback" not in done.stderr  # a sentence for the operator, not a crash
