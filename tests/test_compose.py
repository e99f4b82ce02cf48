"""docker-compose.yml as it ships (no Docker engine needed: the file is read
with PyYAML): nothing without a sign-in published beyond loopback, the
development catchers only in the development profile, every secret required,
production mode, and a configuration that production mode accepts."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from educonnect.production_mode import development_defaults
from educonnect.settings import PROJECT_ROOT, Settings

COMPOSE_PATH = PROJECT_ROOT / "docker-compose.yml"
DEVELOPMENT_ONLY = {"mailpit", "sms-gateway"}
SECRETS = {
    "POSTGRES_PASSWORD", "EDUCONNECT_DB_PASSWORD", "TEMPORAL_DB_PASSWORD", "SECRET_KEY", "SMTP_URL",
    "SMS_GATEWAY_TOKEN", "FRANCECONNECT_CLIENT_SECRET", "TEMPORAL_PAYLOAD_KEYS",
    "GRAFANA_ADMIN_PASSWORD",
}  # fmt: skip
# Settings the API and the workers get only from the operator (the database
# password rides inside DATABASE_URL).
APP_REQUIRED = {
    "SECRET_KEY", "SMTP_URL", "SMS_GATEWAY_URL", "SMS_GATEWAY_TOKEN", "FRANCECONNECT_DISCOVERY_URL",
    "FRANCECONNECT_CLIENT_ID", "FRANCECONNECT_CLIENT_SECRET", "PUBLIC_BASE_URL",
    "TEMPORAL_PAYLOAD_KEYS",
}  # fmt: skip
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?:(?P<op>:\?|:-|\?|-)(?P<arg>[^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_PATH.read_text())


def services(compose: dict) -> dict[str, dict]:
    return compose["services"]


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?message}` (the forms this file uses)."""

    def one(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if env.get(name):
            return env[name]
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return arg if op == ":-" else ""

    return _VARIABLE.sub(one, value)


def test_mailpit_and_the_sms_stand_in_only_in_the_development_profile(compose):
    for name in DEVELOPMENT_ONLY:
        assert services(compose)[name].get("profiles") == ["development"], name
    for name, service in services(compose).items():
        if "profiles" in service:
            continue
        depends = service.get("depends_on") or {}
        assert not DEVELOPMENT_ONLY & set(depends), f"{name} depends on a development-only service"
        text = yaml.safe_dump(service.get("environment") or {})
        assert "mailpit" not in text and "sms-gateway" not in text, name


def test_only_the_api_is_published_beyond_loopback(compose):
    published = {
        (name, port)
        for name, service in services(compose).items()
        for port in service.get("ports") or []
    }
    assert published, "ports are published as strings"
    beyond_loopback = {
        (name, port) for name, port in published if not str(port).startswith("127.0.0.1:")
    }
    assert beyond_loopback == {("api", "8000:8000")}
    assert ("temporal-ui", "127.0.0.1:8233:8080") in published
    assert ("temporal", "127.0.0.1:7233:7233") in published
    assert ("mailpit", "127.0.0.1:8025:8025") in published


def test_the_temporal_web_ui_cannot_write(compose):
    environment = services(compose)["temporal-ui"]["environment"]
    # What the image reads (temporalio/ui server/config/docker.yaml: disableWriteActions,
    # enforced by the UI server on every non-GET API call), and the name for it.
    assert environment["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    assert environment["TEMPORAL_UI_DISABLE_WRITE_ACTIONS"] == "true"


def test_every_secret_is_required_never_defaulted(compose):
    text = COMPOSE_PATH.read_text()
    uses = [m for m in _VARIABLE.finditer(text) if m["name"] in SECRETS]
    assert {m["name"] for m in uses} == SECRETS
    for use in uses:
        assert use["op"] == ":?" and use["arg"].strip(), use.group(0)


def test_api_and_workers_run_in_production_mode_with_every_setting_required(compose):
    api, worker = (
        services(compose)["api"]["environment"],
        services(compose)["worker"]["environment"],
    )
    assert api == worker
    assert api["EDUCONNECT_ENV"] == "production"
    assert api["SECURE_COOKIES"] == "true"
    for name in APP_REQUIRED:
        match = _VARIABLE.fullmatch(str(api.get(name, "")))
        assert match and match["name"] == name and match["op"] == ":?", f"{name}: {api.get(name)!r}"
    assert "${EDUCONNECT_DB_PASSWORD:?" in api["DATABASE_URL"]


def test_production_mode_accepts_what_compose_passes(compose, monkeypatch):
    """Given every required variable, the API's environment passes production
    mode's checks: compose and `educonnect.production_mode` agree."""
    given = {
        "POSTGRES_PASSWORD": "p" * 20, "EDUCONNECT_DB_PASSWORD": "e" * 20, "TEMPORAL_DB_PASSWORD": "t" * 20,
        "SECRET_KEY": "s" * 48, "SMTP_URL": "smtp+starttls://u:p@relay.example.fr:587",
        "SMS_GATEWAY_URL": "https://sms.example.fr", "SMS_GATEWAY_TOKEN": "sms-token",
        "FRANCECONNECT_DISCOVERY_URL": "https://fc.example.fr/.well-known/openid-configuration",
        "FRANCECONNECT_CLIENT_ID": "client", "FRANCECONNECT_CLIENT_SECRET": "fc-secret",
        "PUBLIC_BASE_URL": "https://educonnect.example.fr",
        "TEMPORAL_PAYLOAD_KEYS": "2026-12:" + "A" * 43,
    }  # fmt: skip
    environment = {
        k: interpolate(str(v), given) for k, v in services(compose)["api"]["environment"].items()
    }
    for name in list(Settings.model_fields) + ["EDUCONNECT_ENV", "EDUCONNECT_DEV_PAGES"]:
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert development_defaults(Settings(_env_file=None)) == []
    # And without one of them compose refuses to start, with its message.
    with pytest.raises(KeyError, match="FRANCECONNECT_CLIENT_SECRET"):
        interpolate(services(compose)["api"]["environment"]["FRANCECONNECT_CLIENT_SECRET"], {})


def test_the_web_ui_decodes_through_the_codec_endpoint(compose):
    ui = services(compose)["temporal-ui"]["environment"]
    assert interpolate(ui["TEMPORAL_CODEC_ENDPOINT"], {}).endswith("/temporal-codec")
    assert ui["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"
    api = services(compose)["api"]["environment"]
    # The API lets that UI's origin call the codec endpoint, and only it.
    assert interpolate(api["TEMPORAL_UI_ORIGINS"], {}) == "http://127.0.0.1:8233"


def test_the_api_is_healthy_only_when_ready(compose):
    """Compose's health check asks the readiness route (PostgreSQL and Temporal
    answer), not liveness: a running API that cannot serve is not healthy."""
    check = " ".join(compose["services"]["api"]["healthcheck"]["test"])
    assert "/health/ready" in check


def test_prometheus_scrapes_every_metrics_port_and_grafana_shows_them(compose):
    """Prometheus (deploy/prometheus.yml) scrapes the API's and the workers'
    /metrics ports, which the settings' defaults name; Grafana's dashboard
    queries the metrics the product exports; neither is published beyond loopback."""
    prometheus = yaml.safe_load((PROJECT_ROOT / "deploy" / "prometheus.yml").read_text())
    scraped = {
        (name, config["port"])
        for job in prometheus["scrape_configs"]
        for config in job["dns_sd_configs"]
        for name in config["names"]
    }
    defaults = Settings.model_fields
    assert scraped == {
        ("api", defaults["api_metrics_port"].default),
        ("worker", defaults["worker_metrics_port"].default),
        ("worker", defaults["worker_sdk_metrics_port"].default),
    }
    assert services(compose)["api"]["environment"]["METRICS_HOST"] == "0.0.0.0"
    dashboard = json.loads(
        (PROJECT_ROOT / "deploy" / "grafana" / "dashboards" / "educonnect.json").read_text()
    )
    queries = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for metric in (
        "educonnect_processes_started_total", "educonnect_processes_ended_total",
        "educonnect_emails_total", "educonnect_sms_total", "educonnect_sign_in_failures_total",
        "educonnect_sign_in_locks_total", "educonnect_corrections_waiting", "http_requests_total",
        "temporal_workflow_task_schedule_to_start_latency_bucket", "temporal_activity_execution_failed",
    ):  # fmt: skip
        assert metric in queries, metric
    for name in ("prometheus", "grafana"):
        assert all(str(p).startswith("127.0.0.1:") for p in services(compose)[name]["ports"])
