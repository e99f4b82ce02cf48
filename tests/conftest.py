"""Shared test fixtures: real PostgreSQL (embedded), real Temporal servers,
a real SMTP server on loopback."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import asyncpg
import pgserver
import pytest
import pytest_asyncio

from educonnect import db
from tests.support.payload_keys import TEST_PAYLOAD_KEYS

# The tests run on the development defaults, which production mode (the
# default, `educonnect.production_mode`) refuses: say so before any setting is read.
os.environ["EDUCONNECT_ENV"] = "development"
# Temporal payloads are encrypted (educonnect.payload_codec) with this key ring in
# every test client, worker, replayer and end-to-end subprocess. A fixed test key,
# so that histories recorded by a test (RECORD_HISTORIES=1) replay in later runs.
os.environ["TEMPORAL_PAYLOAD_KEYS"] = TEST_PAYLOAD_KEYS
# No metrics server unless a test asks for one on a free port (the end-to-end stack).
for _port in ("API_METRICS_PORT", "WORKER_METRICS_PORT", "WORKER_SDK_METRICS_PORT"):
    os.environ[_port] = "0"


def pytest_xdist_make_scheduler(config, log):
    """How `pytest -n N` (scripts/test) shares the suite out: each file whole on
    one worker, and the end-to-end files (tests/e2e/) together on one worker,
    in their usual order: they share one development stack and its demo
    school, each test taking the demo families the ones before it left.
    (A scheduler of our own: pytest-xdist's `xdist_group` marks are lost
    under pytest 9, which no longer reads the node id they rewrite.)"""
    from xdist.scheduler import LoadScopeScheduling

    class FilesAndTheDevStack(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "tests/e2e/" if path.startswith("tests/e2e/") else path

    return FilesAndTheDevStack(config, log)


@pytest.fixture(scope="session")
def pg_server():
    """One embedded PostgreSQL 16 for the whole run (fresh data folder)."""
    pgdata = Path(tempfile.mkdtemp(prefix="educonnect-test-pg-"))
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    yield server
    server.cleanup()
    shutil.rmtree(pgdata, ignore_errors=True)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pg_url(pg_server) -> str:
    """A fresh database with every migration applied; DATABASE_URL points at it."""
    name = f"educonnect_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg_server.get_uri())
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = pg_server.get_uri(name)
    await db.migrate_url(url)
    os.environ["DATABASE_URL"] = url
    from educonnect.settings import get_settings

    get_settings.cache_clear()
    return url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def db_pool(pg_url):
    pool = await db.create_pool(pg_url)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
def smtp_sink(tmp_path_factory):
    """A real SMTP server on loopback; SMTP_URL points at it."""
    from educonnect.devtools.smtp_sink import SmtpSink
    from educonnect.settings import get_settings

    sink = SmtpSink(tmp_path_factory.mktemp("mailbox"), port=0).start()
    os.environ["SMTP_URL"] = sink.url
    get_settings.cache_clear()
    yield sink
    sink.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sms_gateway(tmp_path_factory):
    """The real HTTP SMS gateway (dev gateway) on loopback; SMS_GATEWAY_URL and
    SMS_GATEWAY_TOKEN point at it. Read what it received with
    `tests.support.sms.SmsOutbox(sms_gateway.outbox_path)`."""
    from educonnect.devtools.sms_gateway import SmsGatewayServer
    from educonnect.settings import get_settings

    token = f"test-sms-{uuid.uuid4().hex}"
    gateway = await SmsGatewayServer(
        tmp_path_factory.mktemp("sms") / "sms-outbox.jsonl", token, port=0
    ).start()
    os.environ["SMS_GATEWAY_URL"] = gateway.url
    os.environ["SMS_GATEWAY_TOKEN"] = token
    get_settings.cache_clear()
    yield gateway
    await gateway.stop()


@pytest.fixture
def mailbox(smtp_sink):
    from tests.support.mail import Mailbox

    return Mailbox(smtp_sink.folder)


@pytest_asyncio.fixture(loop_scope="session")
async def time_skipping_env():
    """The time-skipping test server: multi-day behaviour in seconds.

    One per test: skipped time is global to a server, so a workflow left
    waiting by one test would wake up (and send its reminders) in the next."""
    from temporalio.testing import WorkflowEnvironment

    from educonnect import search_attributes
    from educonnect.devtools.processes import find_temporal_test_server_binary
    from educonnect.temporal import data_converter

    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(),
        test_server_existing_path=str(find_temporal_test_server_binary()),
    )
    await search_attributes.register(env.client, env.client.namespace)
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(loop_scope="session")
async def workflow_worker(time_skipping_env, db_pool, smtp_sink):
    """A worker with the real activities (real PostgreSQL, real SMTP) on a
    task queue of this test's own."""
    from worker import build_worker

    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    os.environ["TASK_QUEUE"] = task_queue
    from educonnect.settings import get_settings

    get_settings.cache_clear()
    async with build_worker(time_skipping_env.client, db_pool, task_queue):
        yield task_queue


@pytest_asyncio.fixture(loop_scope="session")
async def api(time_skipping_env, db_pool, workflow_worker):
    """The real API app, in process, on the time-skipping server."""
    import httpx

    from api.app import create_app

    app = create_app()
    app.state.pool = db_pool
    app.state.temporal = time_skipping_env.client
    # A client address of this test's own: the per-IP sign-in limit never mixes tests.
    client_address = (
        f"127.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}",
        123,
    )
    transport = httpx.ASGITransport(app=app, client=client_address)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def make_client(api, db_pool, time_skipping_env):
    """Fresh HTTP clients on the real app, in process, each with its own
    cookies (a guardian and a secretary in one test), on the same Temporal
    server and worker as `api`."""
    import httpx

    from api.app import create_app

    def make() -> httpx.AsyncClient:
        app = create_app()
        app.state.pool = db_pool
        app.state.temporal = time_skipping_env.client
        # An address of its own: the per-IP sign-in limit (families' and staff's) never mixes tests.
        client_address = (
            f"127.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}",
            123,
        )
        transport = httpx.ASGITransport(app=app, client=client_address)
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    return make
