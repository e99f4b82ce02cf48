"""Liveness and readiness for orchestrators and operators.

- `GET /health`: the API process answers (liveness: restart it if not).
- `GET /health/ready`: each dependency checked apart (PostgreSQL, Temporal,
  SMTP), each within READINESS_CHECK_TIMEOUT_S. 200 when the API can serve
  (PostgreSQL and Temporal answer), 503 otherwise. The SMTP server is
  reported but does not take the API out of service: mail waits in the
  workflows' retries while it is down, nothing is lost."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from educonnect.emails.sender import check_smtp
from educonnect.policies import READINESS_CHECK_TIMEOUT_S

log = logging.getLogger("educonnect.api")

router = APIRouter(prefix="/health", tags=["Exploitation"])

REQUIRED = ("postgresql", "temporal")  # the API cannot serve without them
LABELS = {
    "postgresql": "la base de données",
    "temporal": "le moteur de processus (Temporal)",
    "smtp": "le serveur de courriel",
}


class DependencyState(BaseModel):
    ok: bool
    error: str | None = None  # the kind of failure, for operators (no address, no secret)


class Readiness(BaseModel):
    status: str  # "ready" | "not_ready"
    message: str
    dependencies: dict[str, DependencyState]


@router.get("", summary="Le service répond (vivacité)")
async def live() -> dict:
    return {"status": "ok"}


async def _state(check: Callable[[], Awaitable[object]]) -> DependencyState:
    try:
        await asyncio.wait_for(check(), READINESS_CHECK_TIMEOUT_S)
    except TimeoutError:
        return DependencyState(ok=False, error="timeout")
    except Exception as err:  # noqa: BLE001 - any failure means "not ready"; its kind is reported
        return DependencyState(ok=False, error=type(err).__name__)
    return DependencyState(ok=True)


async def _temporal_serving(client) -> None:
    if not await client.service_client.check_health():
        raise RuntimeError("not serving")


@router.get(
    "/ready",
    summary="Le service peut répondre : PostgreSQL, Temporal et le serveur de courriel, chacun vérifié",
    response_model=Readiness,
    responses={503: {"model": Readiness}},
)
async def ready(request: Request) -> JSONResponse:
    state = request.app.state
    names = ("postgresql", "temporal", "smtp")
    checks = (
        lambda: state.pool.fetchval("SELECT 1"),
        lambda: _temporal_serving(state.temporal),
        lambda: check_smtp(READINESS_CHECK_TIMEOUT_S),
    )
    results = dict(
        zip(names, await asyncio.gather(*(_state(check) for check in checks)), strict=True)
    )
    down = [name for name, result in results.items() if not result.ok]
    if down:
        log.warning("readiness: %s down", ", ".join(down))
    ready_ = all(results[name].ok for name in REQUIRED)
    body = Readiness(
        status="ready" if ready_ else "not_ready",
        message="Le service est prêt."
        if not down
        else "Indisponible : " + ", ".join(LABELS[name] for name in down) + ".",
        dependencies=results,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready_ else 503)
