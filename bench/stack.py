"""The development stack as the Temporal benchmarks run it (`bench/activation.py`,
`bench/waiting.py`): the parts `scripts/run` starts, each measurable.

- PostgreSQL: a migrated database of the benchmark's own (`bench.common.bench_database`);
- Temporal: the dev server binary (`temporal server start-dev`, the one the dev
  stack runs), in memory or file-backed (`db_file`), with the search attributes;
  its pid is known, so its RSS and CPU time can be read;
- the SMTP sink (in this process), whose hook hands each activation link to
  the benchmark as soon as the message is stored (`LinkInbox`);
- the real worker(s) (`worker.py`) and the real API (`python -m api`) as
  subprocesses, in development mode, behind one trusted proxy hop so that the
  benchmark's families come from many addresses (the per-IP limit, DESIGN §4,
  is for one address, not a whole académie).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import psutil
from temporalio.client import Client

from bench.common import bench_database_at
from educonnect import search_attributes
from educonnect.devtools.processes import (
    Child,
    find_temporal_binary,
    free_port,
    spawn,
    terminate_async,
    wait_for_http,
    wait_for_port,
)
from educonnect.devtools.smtp_sink import SmtpSink
from educonnect.payload_codec import new_key_entry
from educonnect.settings import PROJECT_ROOT, get_settings
from educonnect.temporal import data_converter

LINK = re.compile(r"https?://\S+?jeton=([A-Za-z0-9_\-]+)")
BENCH_DOMAIN = "bench.example.fr"
PROVISIONAL_PASSWORD = "Rentree2027k"
CHILD_BIRTHDATE = date(2015, 3, 14)


class LinkInbox:
    """Activation links as the SMTP sink stores them, by recipient: the sink's
    hook (its own thread) hands each token to the waiting coroutine."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._tokens: dict[str, asyncio.Future[tuple[str, float]]] = {}
        self.stored = 0  # messages stored by the sink

    def _future(self, address: str) -> asyncio.Future[tuple[str, float]]:
        return self._tokens.setdefault(address, self._loop.create_future())

    async def on_stored(self, envelope) -> None:
        at = time.perf_counter()
        self.stored += 1
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode()
        message = email.message_from_bytes(content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
        found = LINK.search(body.get_content()) if body is not None else None
        if found is None:
            return
        for address in envelope.rcpt_tos:
            self._loop.call_soon_threadsafe(self._deliver, address, found.group(1), at)

    def _deliver(self, address: str, token: str, at: float) -> None:
        future = self._future(address)
        if not future.done():
            future.set_result((token, at))

    async def token_for(self, address: str, timeout: float) -> tuple[str, float]:
        """The first link's token sent to `address`, and when the sink stored it."""
        return await asyncio.wait_for(asyncio.shield(self._future(address)), timeout)


@dataclass
class Family:
    identifier: str
    email: str
    account_id: uuid.UUID


async def make_families(pool: asyncpg.Pool, n: int, password_hash: str) -> list[Family]:
    """`n` guardians of a bench-only school, each with one child and a
    provisioned account sharing one provisional password hash: the records
    cost one INSERT each, the accounts one Argon2id hash in all."""
    tag = uuid.uuid4().hex[:6]
    uai = "0698" + f"{int(tag, 16) % 1000:03d}"
    uai += "ABCDEFGHJKLMNPRSTUVWXYZ"[int(uai) % 23]
    await pool.execute(
        "INSERT INTO schools (uai, name, kind, degree, academie, city) VALUES ($1, 'Collège banc d''essai', "
        "'college', 2, 'Lyon', 'Lyon') ON CONFLICT DO NOTHING",
        uai,
    )
    rows = [(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), f"f{tag}{i}") for i in range(n)]
    expires = datetime.now(UTC) + timedelta(days=92)
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            "INSERT INTO guardians (id, last_name, first_name, email) VALUES ($1, $2, 'Camille', $3)",
            [(g, f"Banc{name}", f"{name}@{BENCH_DOMAIN}") for g, _, _, name in rows],
        )
        await conn.executemany(
            "INSERT INTO pupils (id, last_name, first_name, birthdate, uai, class_name, level) "
            "VALUES ($1, $2, 'Léa', $3, $4, '5A', '5e')",
            [(p, f"Banc{name}", CHILD_BIRTHDATE, uai) for _, _, p, name in rows],
        )
        await conn.executemany(
            "INSERT INTO guardian_pupils (guardian_id, pupil_id) VALUES ($1, $2)",
            [(g, p) for g, _, p, _ in rows],
        )
        await conn.executemany(
            "INSERT INTO accounts (id, kind, identifier, guardian_id, state, provisional_password_hash, "
            "provisional_expires_at, email) VALUES ($1, 'guardian', $2, $3, 'provisioned', $4, $5, $6)",
            [(a, f"c.{name}", g, password_hash, expires, f"{name}@{BENCH_DOMAIN}") for g, a, _, name in rows],
        )  # fmt: skip
    return [Family(f"c.{name}", f"{name}@{BENCH_DOMAIN}", a) for _, a, _, name in rows]


@dataclass
class BenchStack:
    pool: asyncpg.Pool
    temporal: Client
    temporal_process: Child
    api_url: str
    env: dict[str, str]
    log_dir: Path
    inbox: LinkInbox
    api: Child | None = None
    workers: list[Child] = field(default_factory=list)
    db_file: Path | None = None  # Temporal's file (None: in memory)
    code: Path = PROJECT_ROOT  # the checkout whose worker and API run (another: "before")

    def start_worker(self, extra_env: dict[str, str] | None = None) -> Child:
        n = len(self.workers) + 1
        child = spawn(
            f"worker{n}",
            [sys.executable, str(self.code / "worker.py")],
            env={**self.env, **(extra_env or {})},
            cwd=self.code,
            log_path=self.log_dir / f"worker{n}.log",
            echo=False,
        )
        self.workers.append(child)
        return child

    async def start_api(self, extra_env: dict[str, str] | None = None) -> Child:
        port = self.api_url.rsplit(":", 1)[1]
        self.api = spawn(
            "api",
            [sys.executable, "-m", "api", "--host", "127.0.0.1", "--port", port],
            env={**self.env, **(extra_env or {})},
            cwd=self.code,
            log_path=self.log_dir / "api.log",
            echo=False,
        )
        await wait_for_http(f"{self.api_url}/health/ready", timeout=90, child=self.api)
        return self.api

    async def stop_api_and_workers(self) -> None:
        for child in [self.api, *self.workers]:
            if child is not None:
                await terminate_async(child)
        self.api, self.workers = None, []

    def processes(self) -> dict[str, psutil.Process]:
        """The measured processes: Temporal, the API, each worker."""
        named = {"temporal": self.temporal_process}
        if self.api is not None:
            named["api"] = self.api
        named.update({f"worker{i + 1}": w for i, w in enumerate(self.workers)})
        return {name: psutil.Process(child.pid) for name, child in named.items()}

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {c.name}\n{c.log_tail(15)}" for c in [self.api, *self.workers] if c is not None
        )


def process_tree(process: psutil.Process) -> list[psutil.Process]:
    """The process and its children (the Temporal CLI may fork its server)."""
    try:
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def rss_mib(process: psutil.Process) -> float:
    return sum(p.memory_info().rss for p in process_tree(process)) / 2**20


def cpu_seconds(process: psutil.Process) -> float:
    total = 0.0
    for p in process_tree(process):
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def load_line(label: str) -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average ({label}): {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


@asynccontextmanager
async def bench_stack(*, db_file: Path | None = None) -> AsyncIterator[BenchStack]:
    """The stack, started and stopped (`db_file`: Temporal persisted there,
    else in memory). Workers and the API are started by the benchmark."""
    async with bench_database_at() as (pool, tmp, database_url):
        log_dir = tmp / "logs"
        port, ui_port = free_port(), free_port()
        args: list[str | os.PathLike[str]] = [
            find_temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1",
            "--port", str(port), "--ui-port", str(ui_port), "--headless", "--log-level", "error",
            *search_attributes.dev_server_flags(),
        ]  # fmt: skip
        if db_file is not None:
            args += ["--db-filename", db_file]
        temporal_child = spawn("temporal", args, log_path=log_dir / "temporal.log", echo=False)
        sink = SmtpSink(tmp / "mailbox", port=0).start()
        try:
            await wait_for_port("127.0.0.1", port, 60, child=temporal_child)
            address = f"127.0.0.1:{port}"
            # The payloads are encrypted as in production: the key ring of the
            # environment, else one made for this run (the API and workers get it).
            keys = os.environ.get("TEMPORAL_PAYLOAD_KEYS") or new_key_entry("bench")
            client = await _connect(address, keys)
            await search_attributes.register(client, client.namespace)
            inbox = LinkInbox(asyncio.get_running_loop())
            sink.set_on_stored(inbox.on_stored)
            api_port = free_port()
            env = dict(
                os.environ,
                EDUCONNECT_ENV="development",
                DATABASE_URL=database_url,
                TEMPORAL_ADDRESS=address,
                SMTP_URL=sink.url,
                TASK_QUEUE=f"bench-{uuid.uuid4().hex[:8]}",
                PUBLIC_BASE_URL=f"http://127.0.0.1:{api_port}",
                FORWARDED_FOR_TRUSTED_HOPS="1",
                PYTHONUNBUFFERED="1",
                TEMPORAL_PAYLOAD_KEYS=keys,
            )
            env.pop("FRANCECONNECT_DISCOVERY_URL", None)
            stack = BenchStack(pool, client, temporal_child, f"http://127.0.0.1:{api_port}",
                               env, log_dir, inbox, db_file=db_file)  # fmt: skip
            try:
                yield stack
            finally:
                await stack.stop_api_and_workers()
        finally:
            sink.stop()
            await terminate_async(temporal_child)


async def _connect(address: str, payload_keys: str) -> Client:
    converter = data_converter(
        get_settings().model_copy(update={"temporal_payload_keys": payload_keys})
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            return await Client.connect(address, data_converter=converter)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
