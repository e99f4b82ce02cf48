"""End-to-end stack for the tests: the Temporal dev server (in memory), a
PostgreSQL database of its own with the demo data, the real SMTP sink, and the
real worker and API as subprocesses (so a worker can be SIGKILLed)."""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from educonnect import db, search_attributes
from educonnect.devtools import demo_data
from educonnect.devtools.processes import (
    Child,
    find_temporal_binary,
    free_port,
    spawn,
    terminate_async,
    wait_for_http,
)
from educonnect.payload_codec import CODEC_PATH
from educonnect.settings import PROJECT_ROOT
from educonnect.temporal import data_converter

E2E_DEMO_PUPILS = 60
# The demo académie's schools: a test that takes a demo family takes it there, not
# in a school another test imported (tests/e2e/test_outages_e2e.py, the imports).
DEMO_UAIS = [school.uai for school in demo_data.generate(n_pupils=E2E_DEMO_PUPILS).schools]
E2E_CODEC_TOKEN = f"e2e-operator-{uuid.uuid4().hex}"  # the codec endpoint's bearer token


@dataclass
class Stack:
    api_url: str
    temporal: Client
    pool: asyncpg.Pool
    env: dict[str, str]
    log_dir: Path
    worker: Child | None = None
    workers_started: int = field(default=0)

    def metrics_url(self, variable: str) -> str:
        """`/metrics` of the API (API_METRICS_PORT) or the worker (WORKER_METRICS_PORT,
        WORKER_SDK_METRICS_PORT)."""
        return f"http://127.0.0.1:{self.env[variable]}/metrics"

    def start_worker(self) -> Child:
        self.workers_started += 1
        self.worker = spawn(
            f"worker{self.workers_started}",
            [sys.executable, str(PROJECT_ROOT / "worker.py")],
            env=self.env,
            cwd=PROJECT_ROOT,
            log_path=self.log_dir / f"worker{self.workers_started}.log",
            echo=False,
        )
        return self.worker

    def kill_worker(self) -> None:
        """SIGKILL: no shutdown, no goodbye, exactly like a crashed machine."""
        assert self.worker is not None
        os.killpg(self.worker.pid, 9)
        self.worker.process.wait(10)

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.api_url, timeout=30)


@pytest.fixture(scope="session")
def temporal_ui_url() -> str:
    """The dev server's Web UI, as operators (and anyone who reaches it) use it."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="session")
def e2e_api_port() -> int:
    """The API's port, chosen first: the Web UI is told where its codec endpoint is."""
    return free_port()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_server(temporal_ui_url, e2e_api_port):
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(),
        dev_server_existing_path=str(find_temporal_binary()),
        search_attributes=search_attributes.ALL,
        dev_server_log_level="error",
        ui=True,
        ui_port=int(temporal_ui_url.rsplit(":", 1)[1]),
        # As the dev stack: the Web UI decodes through the API's codec endpoint.
        dev_server_extra_args=[
            "--ui-codec-endpoint",
            f"http://127.0.0.1:{e2e_api_port}{CODEC_PATH}",
        ],
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def oidc_provider():
    """The stack's FranceConnect: the loopback provider in FranceConnect v2's
    shape (its scopes, identity in a signed userinfo JWT, a session that
    end_session ends); identities added by the tests with `set_identity`."""
    from educonnect.devtools.oidc_provider import LoopbackOidcProvider

    with LoopbackOidcProvider() as provider:
        yield provider


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def stack(
    pg_server,
    dev_server,
    smtp_sink,
    sms_gateway,
    oidc_provider,
    tmp_path_factory,
    e2e_api_port,
    temporal_ui_url,
):
    name = f"e2e_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg_server.get_uri())
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = pg_server.get_uri(name)
    await db.migrate_url(url)
    await demo_data.seed(url, n_pupils=E2E_DEMO_PUPILS)

    api_port = e2e_api_port
    env = dict(
        os.environ,
        DATABASE_URL=url,
        TEMPORAL_ADDRESS=dev_server.client.service_client.config.target_host,
        SMTP_URL=smtp_sink.url,
        TASK_QUEUE=f"e2e-{uuid.uuid4().hex[:8]}",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{api_port}",
        PYTHONUNBUFFERED="1",
        SMS_GATEWAY_URL=sms_gateway.url,
        SMS_GATEWAY_TOKEN=os.environ["SMS_GATEWAY_TOKEN"],
        FRANCECONNECT_DISCOVERY_URL=oidc_provider.discovery_url,
        API_METRICS_PORT=str(free_port()),
        WORKER_METRICS_PORT=str(free_port()),
        WORKER_SDK_METRICS_PORT=str(free_port()),
        CODEC_OPERATOR_TOKEN=E2E_CODEC_TOKEN,
        # As the dev stack: its Web UI decodes without credentials, from its origin only.
        TEMPORAL_UI_ORIGINS=temporal_ui_url,
        CODEC_OPEN_TO_WEB_UI="true",
    )
    log_dir = tmp_path_factory.mktemp("e2e-logs")
    pool = await db.create_pool(url)
    stack = Stack(f"http://127.0.0.1:{api_port}", dev_server.client, pool, env, log_dir)
    stack.start_worker()
    api = spawn(
        "api",
        [
            sys.executable,
            "-m",
            "api",
            "--host",
            "127.0.0.1",
            "--port",
            str(api_port),
        ],  # as in the image
        env=env,
        cwd=PROJECT_ROOT,
        log_path=log_dir / "api.log",
        echo=False,
    )
    try:
        await wait_for_http(f"{stack.api_url}/health/ready", timeout=60, child=api)
        yield stack
    finally:
        await terminate_async(api)
        if stack.worker is not None:
            await terminate_async(stack.worker)
        await pool.close()
