"""Production mode (`EDUCONNECT_ENV=production`, the default): the API and the
worker refuse to start on a development default, and say which.

The development stack and the tests set `EDUCONNECT_ENV=development`; there
every default below is what makes a fresh machine work without anything else
(DESIGN §1). In production each of them would be a door left open: tokens
signed with a key anyone can read, the FranceConnect client secret and the SMS
gateway token of the repository, session cookies sent over plain HTTP, mail and
SMS going to development sinks, the development pages that show every message.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from educonnect import policies
from educonnect.payload_codec import PayloadKeysError, parse_key_ring
from educonnect.settings import Settings, get_settings


class ProductionSettingsError(RuntimeError):
    """Production mode with development defaults; the message names them."""


def _is_default(settings: Settings, name: str) -> bool:
    return getattr(settings, name) == type(settings).model_fields[name].default


def _argon2_weaker_than_owasp(settings: Settings) -> bool:
    if settings.argon2_parallelism < 1:
        return True
    return not any(
        settings.argon2_memory_kib >= memory_kib and settings.argon2_time_cost >= passes
        for memory_kib, passes in policies.ARGON2_MIN_PROFILES
    )


def _plain_http_services(raw: str | None) -> bool:
    """Whether a service registered by SERVICE_CLIENTS is sent to over plain http."""
    try:
        entries = json.loads(raw) if raw else []
    except ValueError:
        return True
    addresses = [
        uri
        for entry in entries
        for uri in [
            *entry.get("redirect_uris", []),
            *entry.get("post_logout_redirect_uris", []),
            entry.get("backchannel_logout_uri") or "https://",
        ]
    ]
    return any(urlsplit(uri).scheme != "https" for uri in addresses)


def development_defaults(settings: Settings) -> list[str]:
    """What production mode refuses in `settings`: one line per variable,
    named as it is set in the environment. Empty outside production."""
    if not settings.production:
        return []
    found: list[str] = []
    if (
        _is_default(settings, "secret_key")
        or len(settings.secret_key) < policies.SECRET_KEY_MIN_LENGTH
    ):
        found.append(
            f"SECRET_KEY (the development key, or shorter than {policies.SECRET_KEY_MIN_LENGTH} characters)"
        )
    if _is_default(settings, "franceconnect_client_secret"):
        found.append("FRANCECONNECT_CLIENT_SECRET (the development secret)")
    if _is_default(settings, "franceconnect_client_id"):
        found.append("FRANCECONNECT_CLIENT_ID (the development client)")
    if not settings.franceconnect_discovery_url:
        found.append("FRANCECONNECT_DISCOVERY_URL (not set: the development provider)")
    if _is_default(settings, "sms_gateway_token"):
        found.append("SMS_GATEWAY_TOKEN (the development token)")
    if _is_default(settings, "sms_gateway_url"):
        found.append("SMS_GATEWAY_URL (not set: the development SMS gateway)")
    if _is_default(settings, "smtp_url"):
        found.append("SMTP_URL (not set: the development SMTP sink)")
    try:
        parse_key_ring(settings.temporal_payload_keys)
    except PayloadKeysError as wrong:
        found.append(f"TEMPORAL_PAYLOAD_KEYS ({wrong})")
    if not settings.database_url:
        found.append("DATABASE_URL (not set)")
    if not settings.secure_cookies:
        found.append("SECURE_COOKIES (false: session cookies would travel over plain HTTP)")
    if urlsplit(settings.public_base_url).scheme != "https":
        found.append("PUBLIC_BASE_URL (not an https:// address: links in emails and HSTS need one)")
    if settings.oidc_issuer_url and urlsplit(settings.oidc_issuer_url).scheme != "https":
        found.append("OIDC_ISSUER_URL (not an https:// address: the school services' provider)")
    if _plain_http_services(settings.service_clients):
        found.append(
            "SERVICE_CLIENTS (a service's address on plain http, e.g. the demonstration ENT)"
        )
    if _argon2_weaker_than_owasp(settings):
        found.append(
            "ARGON2_TIME_COST / ARGON2_MEMORY_KIB / ARGON2_PARALLELISM "
            "(cheaper than OWASP's minimum Argon2id profiles, e.g. t=2 m=19456)"
        )
    if settings.codec_open_to_web_ui:
        found.append("CODEC_OPEN_TO_WEB_UI (the Web UI would decode personal data without sign-in)")
    if settings.dev_pages:
        found.append("EDUCONNECT_DEV_PAGES (the development mailbox and SMS pages)")
    return found


def require_production_ready(settings: Settings | None = None) -> None:
    """Raise `ProductionSettingsError` naming every development default, in production."""
    found = development_defaults(settings or get_settings())
    if found:
        raise ProductionSettingsError(
            "EDUCONNECT_ENV=production refuses to start with development defaults: "
            + "; ".join(found)
            + ". Set them (README, 'In production'), or set EDUCONNECT_ENV=development on a development machine."
        )
