"""The product's own metrics for Prometheus (DESIGN §9), each counted in the
process where it happens and served by that process on `/metrics`, on a port
of its own (never the public API's):

- the worker (WORKER_METRICS_PORT): processes started and ended by kind and
  outcome (`educonnect.process_metrics`, its workflows), emails and SMS sent
  and failed (its activities send them); the Temporal SDK's own metrics are
  on WORKER_SDK_METRICS_PORT (the runtime's telemetry, `worker.py`);
- the API (API_METRICS_PORT): its HTTP requests, sign-in failures and locks,
  corrections waiting by age (read from PostgreSQL when scraped), and the
  few emails it sends itself (a staff member's answer to a ticket).

Counter names end in `_total` on the wire (`educonnect_emails_total{outcome="sent"}`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import REGISTRY, Counter, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from educonnect import policies

log = logging.getLogger("educonnect.metrics")

SENT, FAILED = "sent", "failed"

PROCESSES_STARTED = Counter(
    "educonnect_processes_started", "Processes started, by kind (workflow type).", ["kind"]
)
PROCESSES_ENDED = Counter(
    "educonnect_processes_ended",
    "Processes ended, by kind (workflow type) and outcome (their last step, or failed).",
    ["kind", "outcome"],
)
EMAILS = Counter("educonnect_emails", "Emails handed to the mail relay, or failed.", ["outcome"])
SMS = Counter("educonnect_sms", "SMS handed to the SMS gateway, or failed.", ["outcome"])
SIGN_IN_FAILURES = Counter(
    "educonnect_sign_in_failures", "Families' sign-ins refused for a wrong identifier or password."
)
SIGN_IN_LOCKS = Counter(
    "educonnect_sign_in_locks", "Identifiers locked after too many consecutive failures."
)


@contextmanager
def counting(counter: Counter) -> Iterator[None]:
    """Count what the block does: `sent` when it returns, `failed` when it raises."""
    try:
        yield
    except BaseException:
        counter.labels(outcome=FAILED).inc()
        raise
    counter.labels(outcome=SENT).inc()


# Ages of a correction waiting for staff, cut at the policy's reminder and escalation.
CORRECTION_AGE_EDGES = (policies.CORRECTION_REMINDER_AFTER, policies.CORRECTION_ESCALATION_AFTER)
CORRECTIONS_WAITING_SQL = """
    SELECT count(*) FILTER (WHERE now() - created_at < $1) AS young,
           count(*) FILTER (WHERE now() - created_at >= $1 AND now() - created_at < $2) AS reminded,
           count(*) FILTER (WHERE now() - created_at >= $2) AS escalated
    FROM correction_requests
    WHERE status IN ('awaiting_review', 'awaiting_information', 'escalated')
"""


def correction_age_labels() -> tuple[str, str, str]:
    first, second = (edge.days for edge in CORRECTION_AGE_EDGES)
    return f"lt_{first}d", f"{first}d_{second}d", f"ge_{second}d"


class CorrectionsWaiting(Collector):
    """`educonnect_corrections_waiting{age}`: read from PostgreSQL at each scrape,
    on the API's event loop (the metrics server answers from its own thread)."""

    def __init__(self, pool: Any, loop: asyncio.AbstractEventLoop, timeout: float = 5.0) -> None:
        self._pool, self._loop, self._timeout = pool, loop, timeout

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "educonnect_corrections_waiting",
            "Birthdate corrections waiting for staff, by age.",
            labels=["age"],
        )
        try:
            row = asyncio.run_coroutine_threadsafe(
                self._pool.fetchrow(CORRECTIONS_WAITING_SQL, *CORRECTION_AGE_EDGES), self._loop
            ).result(self._timeout)
        except Exception:  # noqa: BLE001 - a scrape without the gauge, not a broken endpoint
            log.warning("corrections waiting: PostgreSQL did not answer in time")
            return
        for label, count in zip(correction_age_labels(), row, strict=True):
            family.add_metric([label], count)
        yield family


class MetricsServer:
    """`/metrics` of this process's registry on `host:port` (port 0: none)."""

    def __init__(self, host: str, port: int) -> None:
        self._server: Any = None
        if not port:
            return
        try:
            self._server, _ = start_http_server(port, addr=host, registry=REGISTRY)
        except OSError as err:  # the process does its work without its metrics
            log.error("metrics: cannot listen on %s:%s (%s); set another port", host, port, err)
            return
        log.info("metrics on http://%s:%s/metrics", host, port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
