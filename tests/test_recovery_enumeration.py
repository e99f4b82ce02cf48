"""No account enumeration through "Identifiant perdu" and "Mot de passe perdu"
(DESIGN §4): each request answers the same status and body, in the same
time, whether or not an account matches. In-process API, real PostgreSQL,
real Temporal (time-skipping server), real SMTP and SMS gateway.

How it is measured:
- existing and unknown requests alternate (the order flips every round and
  endpoint); each request comes from an address of its own (the per-IP limit
  must not refuse the samples); no garbage collection during a round;
- the worker runs in a process of its own, as in production (in the test
  process it would share the API's event loop);
- after each request, the workflow it started is left to settle (sent, or
  found nothing to send) before the next request: otherwise the extra work of
  a matching request would slow down whichever request comes next.
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import sys
import time
import uuid

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus

from educonnect.models.recovery import PasswordResetStep
from tests.support.accounts import make_active_account, random_mobile
from tests.support.http import answer_headers
from workflows.password_reset import PasswordResetWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Rounds: in each, every endpoint answers one existing and one unknown request;
# a process is measured by both its ways (2 answers of each kind per round).
# The noise floor, measured by putting unknown requests on both sides (an A/A
# run), is a gap of up to ~10% with 30 answers each on this 2-core machine:
# hence 40 answers at least, and when the medians are not within 10% after
# SAMPLES rounds the measurement goes on, up to MAX_ROUNDS, the gap being
# computed over every answer measured.
SAMPLES = 20
MAX_ROUNDS = 50
WARM_UP = 2  # rounds, not measured


def national(e164: str) -> str:
    return "0" + e164[3:]


ENDPOINTS = {
    # name: (path, body for an account, body for nobody, the answer's keys)
    "identifier_by_email": (
        "/recovery/identifier/email",
        lambda a: {"email": a.email},
        lambda n: {"email": n["email"]},
        {"message"},
    ),
    "identifier_by_sms": (
        "/recovery/identifier/sms",
        lambda a: {"mobile": national(a.mobile)},
        lambda n: {"mobile": national(n["mobile"])},
        {"message"},
    ),
    "password_by_email": (
        "/recovery/password/email",
        lambda a: {"identifier": a.identifier, "email": a.email},
        lambda n: {"identifier": n["identifier"], "email": n["email"]},
        {"message"},
    ),
    "password_by_sms": (
        "/recovery/password/sms",
        lambda a: {"identifier": a.identifier, "mobile": national(a.mobile)},
        lambda n: {"identifier": n["identifier"], "mobile": national(n["mobile"])},
        {"message", "reset_id"},
    ),
}

# The two processes, each by both ways: the median answer time of each, for
# existing and unknown accounts, must be within 10%.
PROCESSES = {
    "lost identifier": ["identifier_by_email", "identifier_by_sms"],
    "lost password": ["password_by_email", "password_by_sms"],
}


class RecordingClient:
    """The Temporal client, noting the handle of every workflow the API starts."""

    def __init__(self, client):
        self._client = client
        self.started = []

    def __getattr__(self, name):
        return getattr(self._client, name)

    async def start_workflow(self, *args, **kwargs):
        handle = await self._client.start_workflow(*args, **kwargs)
        self.started.append(handle)
        return handle


async def settled(handle) -> None:
    """The workflow sent what it had to send (or found nothing) and now waits
    for the person, or has ended."""
    for _ in range(3000):
        description = await handle.describe()
        if description.status != WorkflowExecutionStatus.RUNNING:
            return
        if not description.raw_description.pending_activities and handle.id.startswith(
            "password-reset/"
        ):
            status = await handle.query(PasswordResetWorkflow.status)
            if status.step == PasswordResetStep.AWAITING_LINK or status.code is not None:
                return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{handle.id} did not settle")


@pytest.fixture
async def app(db_pool, time_skipping_env, smtp_sink, sms_gateway, tmp_path):
    """The real app in process, on the time-skipping server, served by the
    real worker in a process of its own (task queue of this test)."""
    from api.app import create_app
    from educonnect.devtools.processes import spawn, terminate_async
    from educonnect.settings import PROJECT_ROOT, get_settings

    os.environ["TASK_QUEUE"] = f"enum-{uuid.uuid4().hex[:8]}"
    get_settings.cache_clear()
    env = dict(
        os.environ,
        TEMPORAL_ADDRESS=time_skipping_env.client.service_client.config.target_host,
        TEMPORAL_NAMESPACE=time_skipping_env.client.namespace,
    )
    worker = spawn(
        "worker",
        [sys.executable, str(PROJECT_ROOT / "worker.py")],
        env=env,
        cwd=PROJECT_ROOT,
        log_path=tmp_path / "worker.log",
        echo=False,
    )
    app = create_app()
    app.state.pool = db_pool
    app.state.temporal = RecordingClient(time_skipping_env.client)
    try:
        yield app
    finally:
        await terminate_async(worker)


def client_from(app, index: int) -> httpx.AsyncClient:
    address = (f"10.{uuid.uuid4().int % 250}.{index // 250}.{index % 250 + 1}", 40000)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=address), base_url="http://testserver"
    )


async def test_existing_and_unknown_accounts_answer_alike(app, db_pool):
    accounts = []  # each address and number serves two rounds (4 requests: within the limit of 5)
    requests = 0

    async def measured(path: str, body: dict) -> tuple[float, httpx.Response]:
        nonlocal requests
        requests += 1
        async with client_from(app, requests) as client:
            began = time.perf_counter()
            response = await client.post(path, json=body)
            elapsed = time.perf_counter() - began
        await settled(app.state.temporal.started[-1])
        return elapsed, response

    times = {e: {"existing": [], "unknown": []} for e in ENDPOINTS}
    answers: dict[str, list[httpx.Response]] = {e: [] for e in ENDPOINTS}

    async def one_round(i: int, measure: bool) -> None:
        if i >= len(accounts):
            account = await make_active_account(db_pool, mobile=random_mobile())
            accounts.extend([account, account])
        nobody = {
            "email": f"personne.{uuid.uuid4().hex[:10]}@example.org",
            "mobile": random_mobile(),
            "identifier": f"p.personne{uuid.uuid4().hex[:6]}",
        }
        gc.collect()
        gc.disable()  # a collection would land on one random measured answer
        try:
            for j, (endpoint, (path, known_body, unknown_body, _)) in enumerate(ENDPOINTS.items()):
                order = [("existing", known_body(accounts[i])), ("unknown", unknown_body(nobody))]
                if (i + j) % 2:
                    order.reverse()
                for kind, body in order:
                    elapsed, response = await measured(path, body)
                    if measure:
                        times[endpoint][kind].append(elapsed)
                        answers[endpoint].append(response)
        finally:
            gc.enable()

    def gaps() -> dict[str, float]:
        result = {}
        for process, endpoints in PROCESSES.items():
            # Each way's fastest answer: what the code costs, the least disturbed
            # by the other processes of a shared machine (the tests run on two
            # workers). A real difference (a hash, a query, a send on one way
            # only) shows in the fastest answers too.
            existing = min(t for e in endpoints for t in times[e]["existing"])
            unknown = min(t for e in endpoints for t in times[e]["unknown"])
            result[process] = abs(existing - unknown) / max(existing, unknown)
        return result

    for i in range(WARM_UP):
        await one_round(i, measure=False)
    # The existing accounts really received their identifiers, links and codes.
    assert await sent_to(db_pool, accounts[0]) == 2 * len(ENDPOINTS)
    rounds = WARM_UP
    while rounds < WARM_UP + SAMPLES or (
        max(gaps().values()) >= 0.10 and rounds < WARM_UP + MAX_ROUNDS
    ):
        await one_round(rounds, measure=True)
        rounds += 1

    for endpoint, (_, _, _, keys) in ENDPOINTS.items():
        every = answers[endpoint]
        assert {r.status_code for r in every} == {202}, endpoint
        assert {frozenset(r.json()) for r in every} == {frozenset(keys)}, endpoint
        assert len({r.json()["message"] for r in every}) == 1, endpoint
        assert len({tuple(sorted(answer_headers(r).items())) for r in every}) == 1, endpoint
        if "reset_id" in keys:
            assert len({r.json()["reset_id"] for r in every}) == len(every)
        existing, unknown = (
            statistics.median(times[endpoint][k]) * 1000 for k in ("existing", "unknown")
        )
        print(f"\n{endpoint}: median existing {existing:.1f} ms, unknown {unknown:.1f} ms")

    measured_rounds = rounds - WARM_UP
    for process, gap in gaps().items():
        endpoints = PROCESSES[process]
        existing, unknown = (
            statistics.median(t for e in endpoints for t in times[e][k]) * 1000
            for k in ("existing", "unknown")
        )
        print(
            f"{process} (both ways, {measured_rounds * len(endpoints)} answers each): median existing "
            f"{existing:.1f} ms, unknown {unknown:.1f} ms, gap of the fastest {gap:.1%}"
        )
    assert all(gap < 0.10 for gap in gaps().values()), (gaps(), times)


async def sent_to(db_pool, account) -> int:
    """Emails, links and SMS that went out to the account (PostgreSQL's records)."""
    return await db_pool.fetchval(
        """
        SELECT (SELECT count(*) FROM sent_emails WHERE account_id = $1 AND sent_at IS NOT NULL)
             + (SELECT count(*) FROM email_links WHERE account_id = $1 AND sent_at IS NOT NULL)
             + (SELECT count(*) FROM sent_sms WHERE mobile = $2 AND sent_at IS NOT NULL)
             + (SELECT count(*) FROM sms_codes WHERE mobile = $2 AND sent_at IS NOT NULL)
        """,
        account.account_id,
        account.mobile,
    )
