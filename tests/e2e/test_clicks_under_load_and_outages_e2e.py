"""The click on a confirmation link, end to end on the Temporal dev server,
as families meet it: many at once, during a Temporal outage, while the dev
stack's worker dies (issue: first clicks silently lost under load)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import re
import signal
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiosmtpd.smtp import Envelope

from educonnect.devtools.processes import (
    Child,
    free_port,
    spawn,
    terminate_async,
    wait_for_http,
)
from educonnect.devtools.smtp_sink import SmtpSink
from educonnect.settings import PROJECT_ROOT
from tests.support.families import Family, activation_awaiting_the_click, make_family
from tests.support.mail import LINK, Mailbox, link_in, token_of
from tests.support.own_temporal import OwnTemporal

pytestmark = pytest.mark.asyncio(loop_scope="session")

NEW_PASSWORD = "Lumiere2027q"
CONFIRMATION_SUBJECT = "Mise à disposition de services en ligne"


async def states(pool: asyncpg.Pool, families: list[Family]) -> dict[str, int]:
    rows = await pool.fetch(
        "SELECT state, count(*) AS n FROM accounts WHERE id = ANY($1) GROUP BY state",
        [f.account_id for f in families],
    )
    return {row["state"]: row["n"] for row in rows}


# --- many families at once ---------------------------------------------------------------------


class ClickOnArrival:
    """Hook of the SMTP sink: the instant a confirmation email to one of
    `addresses` is stored, its link is clicked (once, no retry), while the
    activity that sent it still waits for the sink's reply."""

    def __init__(self, sink: SmtpSink, api_url: str, addresses: set[str]) -> None:
        self._sink, self._api_url, self._addresses = sink, api_url, addresses
        self._tasks: set[asyncio.Task] = set()
        self.answers: dict[
            str, httpx.Response | BaseException | None
        ] = {}  # None: clicked, no answer yet

    def __enter__(self) -> ClickOnArrival:
        self._sink.set_on_stored(self._on_stored)
        return self

    def __exit__(self, *exc: object) -> None:
        self._sink.set_on_stored(None)

    async def _on_stored(self, envelope: Envelope) -> None:
        [to] = envelope.rcpt_tos
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(
            raw if isinstance(raw, bytes) else raw.encode(), policy=email.policy.default
        )
        found = LINK.search(message.get_body(("plain",)).get_content())
        if to in self._addresses and found and to not in self.answers:
            self.answers[to] = None
            task = asyncio.get_running_loop().create_task(self._click(to, token_of(found.group(0))))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _click(self, to: str, token: str) -> None:
        try:
            async with httpx.AsyncClient(base_url=self._api_url, timeout=60) as http:
                self.answers[to] = await http.post(
                    "/activation/confirmation", data={"jeton": token}
                )
        except BaseException as err:  # noqa: BLE001 - kept for the assertion
            self.answers[to] = err

    def answered(self) -> int:
        return sum(answer is not None for answer in self.answers.values())


async def test_fifty_activations_clicked_the_instant_each_mail_arrives(
    stack, smtp_sink, mailbox: Mailbox
):
    families = [await make_family(stack.pool) for _ in range(50)]
    addresses = {f.email for f in families}
    gate = asyncio.Semaphore(25)

    async def one(family: Family) -> None:
        async with gate, stack.http() as http:
            await activation_awaiting_the_click(http, family, NEW_PASSWORD)

    with ClickOnArrival(smtp_sink, stack.api_url, addresses) as clicks:
        await asyncio.gather(*(one(f) for f in families))
        deadline = time.monotonic() + 120
        while clicks.answered() < 50 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)

    answers = clicks.answers
    assert len(answers) == 50, "a confirmation email never came"
    statuses = sorted(
        a.status_code if isinstance(a, httpx.Response) else repr(a) for a in answers.values()
    )
    assert statuses == [200] * 50, statuses
    assert all("Compte activé" in a.text for a in answers.values())
    assert await states(stack.pool, families) == {"active": 50}
    for family in families:
        assert len(mailbox.to(family.email)) == 1, f"{family.email} got more than one email"


# --- Temporal down, then back ------------------------------------------------------------------


async def test_temporal_down_the_click_is_answered_503_then_works(
    stack, tmp_path, smtp_sink, mailbox: Mailbox
):
    temporal = OwnTemporal(tmp_path)
    await temporal.start()
    api_port = free_port()
    env = dict(
        stack.env,
        TEMPORAL_ADDRESS=temporal.address,
        TASK_QUEUE=f"e2e-outage-{uuid.uuid4().hex[:8]}",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{api_port}",
    )
    worker = spawn(
        "worker",
        [sys.executable, "worker.py"],
        env=env,
        cwd=PROJECT_ROOT,
        log_path=tmp_path / "worker.log",
        echo=False,
    )
    api = spawn(
        "api",
        [sys.executable, "-m", "api", "--host", "127.0.0.1", "--port", str(api_port)],
        env=env,
        cwd=PROJECT_ROOT,
        log_path=tmp_path / "api.log",
        echo=False,
    )
    url = f"http://127.0.0.1:{api_port}"
    try:
        await wait_for_http(f"{url}/health/ready", 60, child=api)
        family = await make_family(stack.pool)
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            await activation_awaiting_the_click(http, family, NEW_PASSWORD)
            [mail] = await mailbox.wait_for(family.email, 1, timeout=60)
            token = token_of(link_in(mail))

            temporal.kill()
            ready = await http.get("/health/ready")
            assert ready.status_code == 503, ready.text
            assert ready.json()["dependencies"]["temporal"]["ok"] is False
            assert ready.json()["dependencies"]["postgresql"]["ok"] is True
            assert (await http.get("/health")).status_code == 200

            down = await http.post("/activation/confirmation", data={"jeton": token})
            assert down.status_code == 503, down.text
            assert down.headers["content-type"].startswith("text/html")
            assert 'data-code="service_unavailable"' in down.text
            assert "momentanément indisponible" in down.text and "expiré" not in down.text
            status = await http.get("/activation")  # a JSON route answers JSON
            assert status.status_code == 503 and status.json()["code"] == "service_unavailable"
            assert (
                await stack.pool.fetchval(
                    "SELECT state FROM accounts WHERE id = $1", family.account_id
                )
                == "activating"
            )

            await temporal.start()
            await wait_for_http(f"{url}/health/ready", 60, child=api)
            again = await http.post("/activation/confirmation", data={"jeton": token})
            assert again.status_code == 200 and "Compte activé" in again.text, again.text
        assert (
            await stack.pool.fetchval("SELECT state FROM accounts WHERE id = $1", family.account_id)
            == "active"
        )
        assert worker.alive(), "the worker did not survive the outage"
    finally:
        await terminate_async(api)
        await terminate_async(worker)
        if temporal.child is not None:
            await terminate_async(temporal.child)


# --- the dev stack starts its dead worker again ------------------------------------------------


class DevStack:
    """`python -m educonnect.devtools.stack` as a person runs it, on the parts
    of the test run (PostgreSQL, Temporal, SMTP, SMS, FranceConnect given by
    their variables): it starts its own worker and API."""

    def __init__(self, stack, folder: Path) -> None:
        self.api_port = free_port()
        self.url = f"http://127.0.0.1:{self.api_port}"
        self.output = folder / "stack.log"
        self.env = dict(
            stack.env,
            DATA_DIR=str(folder / "data"),
            API_PORT=str(self.api_port),
            PUBLIC_BASE_URL=self.url,
            TASK_QUEUE=f"e2e-stack-{uuid.uuid4().hex[:8]}",
            DEMO_PUPILS="60",  # the e2e database's demo data: seeding again changes nothing
            COLUMNS="200",
        )
        self.child: Child | None = None

    async def start(self) -> None:
        self.child = spawn(
            "stack", [sys.executable, "-m", "educonnect.devtools.stack"], env=self.env, cwd=PROJECT_ROOT,
            log_path=self.output, echo=False,
        )  # fmt: skip
        await wait_for_http(f"{self.url}/health/ready", 120, child=self.child)

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        return [
            int(pid)
            for pid in re.findall(r"[Ww]orker (?:started|restarted) \(pid (\d+)", self.text())
        ]

    async def wait_for_output(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            assert time.monotonic() < deadline, (
                f"{needle!r} not in the stack's output:\n{self.text()[-3000:]}"
            )
            assert self.child is not None and self.child.alive(), (
                f"the stack stopped:\n{self.text()[-3000:]}"
            )
            await asyncio.sleep(0.2)


async def test_the_dev_stack_restarts_a_killed_worker(stack, tmp_path, mailbox: Mailbox):
    dev = DevStack(stack, tmp_path)
    await dev.start()
    try:
        family = await make_family(stack.pool)
        async with httpx.AsyncClient(base_url=dev.url, timeout=60) as http:
            await activation_awaiting_the_click(http, family, NEW_PASSWORD)
            [mail] = await mailbox.wait_for(family.email, 1, timeout=60)

            [worker_pid] = dev.worker_pids()
            os.killpg(worker_pid, signal.SIGKILL)
            await dev.wait_for_output("worker exited unexpectedly (killed by SIGKILL)", 30)
            await dev.wait_for_output("worker restarted", 30)
            assert len(dev.worker_pids()) == 2 and dev.worker_pids()[1] != worker_pid

            done = await http.post(
                "/activation/confirmation", data={"jeton": token_of(link_in(mail))}
            )
            assert done.status_code == 200 and "Compte activé" in done.text, done.text
        assert (
            await stack.pool.fetchval("SELECT state FROM accounts WHERE id = $1", family.account_id)
            == "active"
        )
        assert dev.child is not None and dev.child.alive(), (
            "the stack stopped instead of restarting its worker"
        )
        assert "stopping the stack" not in dev.text()
    finally:
        if dev.child is not None:
            os.killpg(dev.child.pid, signal.SIGINT)  # Ctrl-C: the stack stops its children
            await asyncio.to_thread(dev.child.process.wait, 30)
    assert "Stack stopped." in dev.text()
