"""Runtime settings, read from the environment (and an optional `.env`).

Every embedded part of the development stack is replaced by a real one by
setting its variable: DATABASE_URL, TEMPORAL_ADDRESS, SMTP_URL, SMS_GATEWAY_URL.

`EDUCONNECT_ENV` says where the platform runs: `production` (the default) or
`development` (set by the development stack and the tests). In production the
API and the worker refuse to start on a development default
(`educonnect.production_mode`).
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Production unless told otherwise: a deployment that forgets the variable
    # gets the checks, not the development defaults.
    environment: Environment = Field(
        default=Environment.PRODUCTION, validation_alias="EDUCONNECT_ENV"
    )

    # Where the embedded parts keep their data (PostgreSQL, Temporal, mailbox, SMS).
    data_dir: Path = PROJECT_ROOT / ".data"

    database_url: str | None = None
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_tls: bool = False
    # Mutual TLS with the Temporal frontend (README, production): this
    # process's client certificate and key, and the CA that signed the
    # server's certificate (PEM files). Any of them turns TLS on.
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    task_queue: str = "educonnect"
    # The key ring that encrypts personal data in Temporal payloads
    # (`educonnect.payload_codec`): `id:key[,id:key...]`, the first key
    # encrypts, every key decrypts. The dev stack generates one; production
    # requires one.
    temporal_payload_keys: str = ""
    # The codec endpoint (api/routers/temporal_codec.py) through which the
    # Temporal Web UI and CLI read those payloads: the operators' bearer token
    # (empty: no token is accepted, only académie-support staff sessions), and
    # the Web UI's origins allowed to call it from a browser (comma-separated).
    codec_operator_token: str = ""
    temporal_ui_origins: str = "http://127.0.0.1:8233,http://localhost:8233"
    # Development stack only: its Web UI (started by `temporal server start-dev`,
    # which cannot be told to send credentials) decodes without them, from
    # those origins. Production mode refuses it.
    codec_open_to_web_ui: bool = False

    # Prometheus (`/metrics`, educonnect/metrics.py), each on its own port, never
    # the public API's: the API's, the worker's product counters, and the worker's
    # Temporal SDK metrics (the runtime's telemetry). 0 turns one off; a second
    # worker on the same host needs other ports.
    metrics_host: str = "127.0.0.1"
    api_metrics_port: int = 9101
    worker_metrics_port: int = 9102
    worker_sdk_metrics_port: int = 9103
    # Traces (educonnect/tracing.py) are exported there (OTLP over HTTP) when set.
    otel_exporter_otlp_endpoint: str | None = None
    # Workflows a worker keeps in memory between their tasks (the SDK's
    # max_cached_workflows; its default too). One evicted is replayed from its
    # history at its next task. Memory per cached activation: bench/waiting.py.
    worker_max_cached_workflows: int = 1000

    smtp_url: str = "smtp://127.0.0.1:1025"
    mail_from: str = "EduConnect <ne-pas-repondre@educonnect.education.gouv.fr>"
    sms_gateway_url: str = "http://127.0.0.1:8025"
    sms_gateway_token: str = "dev-sms-token"

    # Where families are sent back to (links in emails).
    public_base_url: str = "http://127.0.0.1:8000"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    secure_cookies: bool = False
    # Client address for the per-IP sign-in limit (DESIGN §4). 0 (default): the
    # TCP peer, X-Forwarded-For ignored (a client could forge it). Behind N
    # reverse proxies that each append to X-Forwarded-For, set N: the address
    # N-th from the right is used (without it every client looks like the proxy).
    forwarded_for_trusted_hops: int = 0
    # Serve the dev mailbox and SMS pages (set by the development stack only).
    dev_pages: bool = Field(default=False, validation_alias="EDUCONNECT_DEV_PAGES")

    # Secret key for HMAC of tokens and codes (kept out of Temporal).
    secret_key: str = Field(default="dev-secret-key-change-me-in-production-0123456789")

    # Argon2id cost (stored with each hash; see DESIGN §7 for figures).
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19 * 1024
    argon2_parallelism: int = 1

    # FranceConnect (DESIGN §3.3): the OpenID Connect provider. Without a
    # discovery URL the dev stack starts a provider on loopback.
    franceconnect_discovery_url: str | None = None
    franceconnect_client_id: str = "educonnect-dev"
    franceconnect_client_secret: str = "dev-franceconnect-secret"
    franceconnect_redirect_uri: str | None = (
        None  # default <public_base_url>/franceconnect/callback
    )
    # Where the provider sends the browser back after its logout (registered
    # with the provider like the redirect URI).
    franceconnect_post_logout_redirect_uri: str | None = (
        None  # default <public_base_url>/franceconnect/logout/callback
    )
    # FranceConnect's own scope names, only what the first visit uses (data
    # minimisation): the names matched against the school records. The API
    # refuses to start when the provider does not advertise one of them.
    franceconnect_scopes: str = "openid given_name family_name"

    # Signing into the school services (DESIGN §10): the provider's issuer
    # (default <public_base_url>/oidc), and the services registered when the
    # API starts (a JSON list of educonnect.service_clients.Registration; the
    # development stack registers its demonstration ENT this way).
    oidc_issuer_url: str | None = None
    service_clients: str | None = None

    @property
    def oidc_issuer(self) -> str:
        return self.oidc_issuer_url or f"{self.public_base_url.rstrip('/')}/oidc"

    @property
    def temporal_ui_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.temporal_ui_origins.split(",") if o.strip()]

    @property
    def production(self) -> bool:
        return self.environment == Environment.PRODUCTION

    @property
    def franceconnect_callback_url(self) -> str:
        return (
            self.franceconnect_redirect_uri
            or f"{self.public_base_url.rstrip('/')}/franceconnect/callback"
        )

    @property
    def franceconnect_logout_callback_url(self) -> str:
        return (
            self.franceconnect_post_logout_redirect_uri
            or f"{self.public_base_url.rstrip('/')}/franceconnect/logout/callback"
        )

    demo_seed: int = 2026
    demo_pupils: int = 300


@lru_cache
def get_settings() -> Settings:
    return Settings()
