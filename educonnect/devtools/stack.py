"""The whole development stack in one command:

    python -m educonnect.devtools.stack        (or scripts/run)

Starts, in order, each embedded part not replaced by its environment variable
(DESIGN §1): PostgreSQL (pgserver; DATABASE_URL), the Temporal dev server with
the search attributes (TEMPORAL_ADDRESS), the SMTP sink (SMTP_URL), the SMS
gateway (SMS_GATEWAY_URL); then the demo data, the FranceConnect stand-in
(the loopback provider in FranceConnect's shape, with demo identities;
FRANCECONNECT_DISCOVERY_URL), the
worker and the API with the dev pages. Everything keeps its data under the data folder (DATA_DIR, default
`<project>/.data`), so starting again carries on where it stopped.

Ctrl-C or SIGTERM stops everything in reverse order, and nothing else does:
a child process that dies (the Temporal dev server, the worker, the API) is
started again after a pause that doubles from RESTART_DELAY_MIN to
RESTART_DELAY_MAX (back to the minimum once it has run HEALTHY_AFTER), and
the stack says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from educonnect import search_attributes
from educonnect.devtools import processes
from educonnect.devtools.processes import Child, ChildExited
from educonnect.payload_codec import CODEC_PATH
from educonnect.settings import PROJECT_ROOT, Settings, get_settings

# Width when the output is not a terminal (a log file, a pipe): wide enough that
# logins, passwords and URLs are printed whole rather than cut at 80 columns.
NON_TERMINAL_WIDTH = 400


def console_for(stream: Any = None) -> Console:
    """A console on `stream` (stdout by default) that never cuts what a reader must
    copy: a terminal folds long cells, anything else gets one wide line per row."""
    stream = stream if stream is not None else sys.stdout
    is_terminal = hasattr(stream, "isatty") and stream.isatty()
    return Console(file=stream, highlight=False, width=None if is_terminal else NON_TERMINAL_WIDTH)


console = console_for()

TEMPORAL_HOST = "127.0.0.1"
TEMPORAL_PORT = 7233
TEMPORAL_UI_PORT = 8233
SMTP_HOST, SMTP_PORT = "127.0.0.1", 1025
SMS_HOST, SMS_PORT = "127.0.0.1", 8025
OIDC_HOST, OIDC_PORT = "127.0.0.1", 8040  # FranceConnect stand-in (loopback provider)
DEMO_SERVICE_HOST, DEMO_SERVICE_PORT = "127.0.0.1", 8050  # « ENT de démonstration » (DESIGN §10)
DATABASE_NAME = "educonnect"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
RESTART_DELAY_MIN = 1.0  # seconds before a dead child is started again...
RESTART_DELAY_MAX = 30.0  # ...doubling up to this while it keeps dying
HEALTHY_AFTER = 60.0  # a child that ran this long starts again from the minimum delay


def demo_accounts_table(credentials: list[tuple[Any, ...]]) -> Table:
    table = Table(title="Demo accounts", show_lines=False)
    table.add_column("Identifier", style="bold", overflow="fold")
    table.add_column("Password (provisional for families)", overflow="fold")
    table.add_column("Who")
    for identifier, password, label in credentials:
        table.add_row(str(identifier), str(password), str(label))
    return table


def franceconnect_identities_table(identities: list[Any]) -> Table:
    table = Table(
        title="FranceConnect demo identities (GET /franceconnect/login, then pick the sub)"
    )
    table.add_column("sub", style="bold", overflow="fold")
    table.add_column("Guardian")
    table.add_column("First visit: mobile on file, a child's birthdate")
    for identity in identities:
        table.add_row(identity.sub, f"{identity.given_name} {identity.family_name}", identity.label)
    return table


class StackError(RuntimeError):
    """A part of the stack could not start; the message says what to do."""


@dataclass
class Supervised:
    """A child process the stack starts again when it dies."""

    name: str
    spawn: Callable[[], Child]
    child: Child
    started_at: float
    delay: float = RESTART_DELAY_MIN  # the pause before the next restart
    restart_at: float | None = None  # dead, to be started again at this time
    restarts: int = 0

    def tick(self, now: float) -> None:
        """Notice a death, or start the child again once its pause is over."""
        if self.restart_at is None:
            if self.child.alive():
                return
            if now - self.started_at >= HEALTHY_AFTER:
                self.delay = RESTART_DELAY_MIN
            console.print(
                f"[bold red]✗ {self.name} exited unexpectedly ({_describe_exit(self.child.returncode)}); "
                f"restarting it in {self.delay:.0f} s[/bold red]"
            )
            _print_tail(self.child)
            self.restart_at = now + self.delay
            self.delay = min(self.delay * 2, RESTART_DELAY_MAX)
        elif now >= self.restart_at:
            self.child = self.spawn()
            self.started_at, self.restart_at = now, None
            self.restarts += 1
            console.print(
                f"[green]↻[/green] {self.name} restarted (pid {self.child.pid}, restart {self.restarts})"
            )


def _ok(message: str) -> None:
    console.print(f"[green]✓[/green] {message}")


def _step(message: str) -> None:
    console.print(f"[cyan]…[/cyan] {message}")


def _warn(message: str) -> None:
    console.print(f"[yellow]![/yellow] {message}")


def _from_env(settings: Settings, name: str) -> bool:
    """Whether the setting was given (environment or .env) rather than defaulted."""
    return name in settings.model_fields_set


def _require_free(host: str, port: int, what: str, env_var: str) -> None:
    if processes.port_is_open(host, port):
        raise StackError(
            f"port {host}:{port} is already in use, so {what} cannot start "
            f"(another stack still running?). Stop it, or set {env_var} to use that one."
        )


def _require_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise StackError(f"{path.relative_to(PROJECT_ROOT)} not found: the {what} cannot start.")


@dataclass
class Stack:
    settings: Settings = field(default_factory=get_settings)
    database_url: str = ""
    temporal_address: str = ""
    smtp_url: str = ""
    sms_gateway_url: str = ""
    franceconnect_discovery_url: str = ""
    franceconnect_identities: list[Any] = field(default_factory=list)
    demo_service: Any = None  # educonnect.devtools.demo_service.DemoService
    credentials: list[tuple[str, str, str]] = field(default_factory=list)
    supervised: list[Supervised] = field(default_factory=list)
    _cleanups: list[tuple[str, Callable[[], Awaitable[Any]]]] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return Path(self.settings.data_dir)

    def _on_stop(self, name: str, fn: Callable[[], Awaitable[Any]]) -> None:
        self._cleanups.append((name, fn))

    def _supervise(self, name: str, spawn: Callable[[], Child]) -> Child:
        """Start a child that is started again whenever it dies (until we stop)."""
        supervised = Supervised(name, spawn, spawn(), time.monotonic())
        self.supervised.append(supervised)
        self._on_stop(name, lambda: processes.terminate_async(supervised.child, STOP_TIMEOUT))
        return supervised.child

    # ---------------------------------------------------------------- start

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        console.print(f"[bold]EduConnect development stack[/bold] — data in {self.data_dir}")
        self._preflight()
        self._payload_keys()
        await self._start_postgres()
        await self._start_temporal()
        await self._start_smtp_sink()
        await self._start_sms_gateway()
        await self._seed_demo_data()
        await self._start_oidc_provider()
        await self._start_demo_service()
        await self._start_worker()
        await self._start_api()

    def _preflight(self) -> None:
        """Fail before starting anything if a port we need is taken."""
        s = self.settings
        if not _from_env(s, "temporal_address"):
            _require_free(
                TEMPORAL_HOST, TEMPORAL_PORT, "the Temporal dev server", "TEMPORAL_ADDRESS"
            )
            _require_free(
                TEMPORAL_HOST, TEMPORAL_UI_PORT, "the Temporal Web UI", "TEMPORAL_ADDRESS"
            )
        if not _from_env(s, "smtp_url"):
            _require_free(SMTP_HOST, SMTP_PORT, "the SMTP sink", "SMTP_URL")
        if not _from_env(s, "sms_gateway_url"):
            _require_free(SMS_HOST, SMS_PORT, "the SMS gateway", "SMS_GATEWAY_URL")
        if not _from_env(s, "franceconnect_discovery_url"):
            _require_free(
                OIDC_HOST, OIDC_PORT, "the FranceConnect provider", "FRANCECONNECT_DISCOVERY_URL"
            )
        if not _from_env(s, "service_clients"):
            _require_free(
                DEMO_SERVICE_HOST, DEMO_SERVICE_PORT, "the demonstration ENT", "SERVICE_CLIENTS"
            )
        _require_free(s.api_host, s.api_port, "the API", "API_PORT")

    def _payload_keys(self) -> None:
        """The key ring of Temporal payloads: TEMPORAL_PAYLOAD_KEYS, else a
        development key generated once and kept in the data folder (the
        histories of earlier runs are encrypted with it)."""
        if _from_env(self.settings, "temporal_payload_keys"):
            return
        self.settings = self.settings.model_copy(
            update={"temporal_payload_keys": development_payload_keys(self.data_dir)}
        )
        _ok(f"Temporal payloads encrypted with the development key in {self.data_dir}")

    async def _start_postgres(self) -> None:
        from educonnect import db

        if self.settings.database_url:
            self.database_url = self.settings.database_url
            _step("PostgreSQL: using DATABASE_URL")
        else:
            pgdata = self.data_dir / "postgres"
            _step(f"PostgreSQL: starting the embedded server ({pgdata})")
            starting = asyncio.ensure_future(asyncio.to_thread(_start_pgserver, pgdata))
            try:
                server = await asyncio.shield(starting)
            except asyncio.CancelledError:
                # Ctrl-C while pg_ctl runs in its thread: let it finish, then
                # make sure the server it may have started gets stopped.
                with contextlib.suppress(Exception):
                    late = await starting
                    self._on_stop("PostgreSQL", lambda: asyncio.to_thread(late.cleanup))
                raise
            self._on_stop("PostgreSQL", lambda: asyncio.to_thread(server.cleanup))
            await _ensure_database(server.get_uri(), DATABASE_NAME)
            self.database_url = server.get_uri(DATABASE_NAME)
        applied = await db.migrate_url(self.database_url)
        _ok(
            "PostgreSQL ready"
            + (f", migrations applied: {', '.join(applied)}" if applied else ", schema up to date")
        )

    async def _start_temporal(self) -> None:
        from temporalio.client import Client

        from educonnect.temporal import data_converter, tls_config

        namespace = self.settings.temporal_namespace
        if _from_env(self.settings, "temporal_address"):
            self.temporal_address = self.settings.temporal_address
            _step(f"Temporal: using TEMPORAL_ADDRESS={self.temporal_address}")
            client = await Client.connect(
                self.temporal_address,
                namespace=namespace,
                tls=tls_config(self.settings),
                data_converter=data_converter(self.settings),
            )
            await search_attributes.register(client, namespace)
            _ok(f"Temporal ready at {self.temporal_address}, search attributes registered")
            return

        binary = processes.find_temporal_binary()
        db_file = self.data_dir / "temporal.db"
        _step(f"Temporal: starting the dev server ({db_file})")
        args: list[str | os.PathLike[str]] = [
            binary, "server", "start-dev",
            "--db-filename", db_file,
            "--ip", TEMPORAL_HOST,
            "--port", str(TEMPORAL_PORT),
            "--ui-port", str(TEMPORAL_UI_PORT),
            "--ui-disable-news-fetch",
            # The Web UI decodes through the API's codec endpoint (DESIGN §9).
            "--ui-codec-endpoint", self.codec_endpoint,
            "--log-level", "warn",
            *search_attributes.dev_server_flags(),
        ]  # fmt: skip
        if namespace != "default":
            args += ["--namespace", namespace]
        child = self._supervise(
            "temporal",
            lambda: processes.spawn(
                "temporal", args, log_path=self.data_dir / "logs" / "temporal.log", echo=False
            ),
        )
        self.temporal_address = f"{TEMPORAL_HOST}:{TEMPORAL_PORT}"
        await processes.wait_for_port(TEMPORAL_HOST, TEMPORAL_PORT, READY_TIMEOUT, child=child)
        client = await _connect_temporal(self.temporal_address, namespace, child, self.settings)
        # Also covers a data file created before an attribute was added to the list.
        await search_attributes.register(client, namespace)
        await processes.wait_for_port(TEMPORAL_HOST, TEMPORAL_UI_PORT, READY_TIMEOUT, child=child)
        _ok(f"Temporal dev server ready at {self.temporal_address} (pid {child.pid})")

    async def _start_smtp_sink(self) -> None:
        if _from_env(self.settings, "smtp_url"):
            self.smtp_url = self.settings.smtp_url
            _ok("Email: using SMTP_URL")
            return
        from educonnect.devtools.smtp_sink import SmtpSink

        sink = SmtpSink(self.data_dir / "mailbox", SMTP_HOST, SMTP_PORT)
        await asyncio.to_thread(sink.start)
        self._on_stop("SMTP sink", lambda: asyncio.to_thread(sink.stop))
        self.smtp_url = sink.url
        _ok(f"SMTP sink listening on {self.smtp_url}")

    async def _start_sms_gateway(self) -> None:
        if _from_env(self.settings, "sms_gateway_url"):
            self.sms_gateway_url = self.settings.sms_gateway_url
            _ok("SMS: using SMS_GATEWAY_URL")
            return
        from educonnect.devtools.sms_gateway import SmsGatewayServer

        gateway = SmsGatewayServer(
            self.data_dir / "sms-outbox.jsonl", self.settings.sms_gateway_token, SMS_HOST, SMS_PORT
        )
        await gateway.start()
        self._on_stop("SMS gateway", gateway.stop)
        self.sms_gateway_url = gateway.url
        _ok(f"SMS gateway listening on {self.sms_gateway_url}")

    async def _start_oidc_provider(self) -> None:
        """FranceConnect stand-in: the loopback provider in FranceConnect v2's
        shape (`oidc_provider.LoopbackOidcProvider`), with one identity per
        demo guardian (`oidc_provider.demo_identities`)."""
        if _from_env(self.settings, "franceconnect_discovery_url"):
            self.franceconnect_discovery_url = str(self.settings.franceconnect_discovery_url)
            _ok("FranceConnect: using FRANCECONNECT_DISCOVERY_URL")
            return
        from educonnect import db
        from educonnect.devtools.oidc_provider import LoopbackOidcProvider, demo_identities

        pool = await db.create_pool(self.database_url)
        try:
            self.franceconnect_identities = await demo_identities(pool)
        finally:
            await pool.close()
        provider = LoopbackOidcProvider(
            self.franceconnect_identities,
            client_id=self.settings.franceconnect_client_id,
            client_secret=self.settings.franceconnect_client_secret,
            host=OIDC_HOST,
            port=OIDC_PORT,
        )
        await asyncio.to_thread(provider.start)
        self._on_stop("FranceConnect provider", lambda: asyncio.to_thread(provider.stop))
        self.franceconnect_discovery_url = provider.discovery_url
        _ok(f"FranceConnect provider (loopback, FranceConnect's shape) listening on {provider.url}")

    async def _start_demo_service(self) -> None:
        """« ENT de démonstration »: a school service on loopback that signs in
        with EduConnect (`demo_service.DemoService`), registered through
        SERVICE_CLIENTS (the portal's ENT tiles lead to it)."""
        if _from_env(self.settings, "service_clients"):
            _ok("School services: using SERVICE_CLIENTS")
            return
        from educonnect.devtools.demo_service import DemoService

        service = DemoService(
            self.settings.oidc_issuer, host=DEMO_SERVICE_HOST, port=DEMO_SERVICE_PORT
        )
        await service.start()
        self._on_stop("demonstration ENT", service.stop)
        self.demo_service = service
        _ok(f"ENT de démonstration (signs in with EduConnect) listening on {service.url}")

    async def _seed_demo_data(self) -> None:
        try:
            from educonnect.devtools import demo_data
        except ImportError as err:
            _warn(f"no demo data ({err})")
            return
        _step("Demo data: seeding")
        result = await demo_data.seed(self.database_url)
        self.credentials = [tuple(c) for c in getattr(result, "credentials", []) or []]
        # Demo staff (school administrators, académie support) for corrections and tickets.
        self.credentials += [tuple(c) for c in getattr(result, "staff_credentials", []) or []]
        _ok(f"Demo data ready ({len(self.credentials)} demo accounts)")

    def _child_env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DATA_DIR=str(self.data_dir),
            DATABASE_URL=self.database_url,
            TEMPORAL_ADDRESS=self.temporal_address,
            TEMPORAL_NAMESPACE=self.settings.temporal_namespace,
            SMTP_URL=self.smtp_url,
            SMS_GATEWAY_URL=self.sms_gateway_url,
            SMS_GATEWAY_TOKEN=self.settings.sms_gateway_token,
            FRANCECONNECT_DISCOVERY_URL=self.franceconnect_discovery_url,
            TEMPORAL_PAYLOAD_KEYS=self.settings.temporal_payload_keys,
            # Development mode, said explicitly: the defaults above are the
            # development ones, which production mode refuses.
            EDUCONNECT_ENV="development",
            PYTHONUNBUFFERED="1",
        )
        if self.demo_service is not None:
            env["SERVICE_CLIENTS"] = json.dumps([self.demo_service.registration()])
        env.update(extra)
        return env

    async def _start_worker(self) -> None:
        _require_file(PROJECT_ROOT / "worker.py", "worker")
        child = self._supervise(
            "worker",
            lambda: processes.spawn(
                "worker",
                [sys.executable, "worker.py"],
                env=self._child_env(),
                cwd=PROJECT_ROOT,
                log_path=self.data_dir / "logs" / "worker.log",
            ),
        )
        await asyncio.sleep(1.0)  # let an immediate failure (import error...) show
        child.check()
        _ok(f"Worker started (pid {child.pid})")

    async def _start_api(self) -> None:
        _require_file(PROJECT_ROOT / "api" / "app.py", "API")
        s = self.settings
        child = self._supervise(
            "api",
            lambda: processes.spawn(
                "api",
                [sys.executable, "-m", "api", "--host", s.api_host, "--port", str(s.api_port)],
                # Both spellings: EDUCONNECT_DEV_PAGES for app.py, DEV_PAGES for Settings.dev_pages.
                env=self._child_env(
                    EDUCONNECT_DEV_PAGES="1",
                    DEV_PAGES="1",
                    CODEC_OPEN_TO_WEB_UI="true",
                    TEMPORAL_UI_ORIGINS=f"http://{TEMPORAL_HOST}:{TEMPORAL_UI_PORT},http://localhost:{TEMPORAL_UI_PORT}",
                ),
                cwd=PROJECT_ROOT,
                log_path=self.data_dir / "logs" / "api.log",
            ),
        )
        await processes.wait_for_http(f"{self.api_url}/health/ready", READY_TIMEOUT, child=child)
        _ok(f"API ready at {self.api_url} (pid {child.pid})")

    @property
    def api_url(self) -> str:
        return f"http://{self.settings.api_host}:{self.settings.api_port}"

    @property
    def codec_endpoint(self) -> str:
        return f"{self.api_url}{CODEC_PATH}"

    # ---------------------------------------------------------------- run

    def print_summary(self) -> None:
        urls = Table.grid(padding=(0, 2))
        urls.add_column(style="bold")
        urls.add_column(overflow="fold")
        urls.add_row("API (docs)", f"{self.api_url}/docs")
        if not _from_env(self.settings, "temporal_address"):
            urls.add_row(
                "Temporal Web UI",
                f"http://{TEMPORAL_HOST}:{TEMPORAL_UI_PORT} (decoded through {self.codec_endpoint})",
            )
        s = self.settings
        urls.add_row(
            "Metrics",
            f"API http://{s.metrics_host}:{s.api_metrics_port}/metrics, worker "
            f"http://{s.metrics_host}:{s.worker_metrics_port}/metrics and "
            f"http://{s.metrics_host}:{s.worker_sdk_metrics_port}/metrics (Temporal SDK)",
        )
        urls.add_row("Dev mailbox", f"{self.api_url}/dev/mailbox")
        urls.add_row("Dev SMS", f"{self.api_url}/dev/sms")
        urls.add_row("PostgreSQL", _redact(self.database_url))
        urls.add_row("Temporal", self.temporal_address)
        urls.add_row("SMTP", _redact(self.smtp_url))
        urls.add_row("SMS gateway", self.sms_gateway_url)
        urls.add_row("FranceConnect", self.franceconnect_discovery_url)
        urls.add_row(
            "OpenID Connect (services)",
            f"{self.settings.oidc_issuer}/.well-known/openid-configuration",
        )
        if self.demo_service is not None:
            urls.add_row("ENT de démonstration", f"{self.demo_service.url}/")
        urls.add_row("Logs", str(self.data_dir / "logs"))
        console.print(
            Panel(urls, title="EduConnect is running", border_style="green", expand=False)
        )
        if self.credentials:
            console.print(demo_accounts_table(self.credentials))
        if self.franceconnect_identities:
            console.print(franceconnect_identities_table(self.franceconnect_identities))
        console.print("Press [bold]Ctrl-C[/bold] to stop everything (data is kept).")

    async def watch(self) -> None:
        """Start again every child that dies, until cancelled (Ctrl-C / SIGTERM)."""
        while True:
            now = time.monotonic()
            for supervised in self.supervised:
                supervised.tick(now)
            await asyncio.sleep(0.5)

    # ---------------------------------------------------------------- stop

    async def stop(self) -> None:
        while self._cleanups:
            name, fn = self._cleanups.pop()
            try:
                result = await fn()
            except Exception as err:  # keep stopping the others
                _warn(f"{name}: error while stopping: {err!r}")
                continue
            suffix = f" ({_describe_exit(result)})" if isinstance(result, int) else ""
            console.print(f"[dim]■ {name} stopped{suffix}[/dim]")


def development_payload_keys(data_dir: Path) -> str:
    """The development key ring, generated on the first start and kept (0600)."""
    from educonnect.payload_codec import new_key_entry

    path = data_dir / "temporal-payload-keys"
    if not path.exists():
        path.write_text(new_key_entry("dev") + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _redact(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _print_tail(child: Child) -> None:
    tail = child.log_tail(30)
    if tail and child.name == "temporal":  # the others were echoed already
        console.print(Panel(tail, title=f"last lines of {child.log_path}", border_style="red"))


def _start_pgserver(pgdata: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs' XDG_RUNTIME_DIR warning
        import pgserver

    pgdata.mkdir(parents=True, exist_ok=True)
    _forget_dead_pgserver_handles(pgdata)
    return pgserver.get_server(pgdata, cleanup_mode="stop")


def _forget_dead_pgserver_handles(pgdata: Path) -> None:
    """pgserver stops PostgreSQL when its last user process calls cleanup(),
    counting users in `.handle_pids.json`. A stack killed hard leaves its pid
    there forever, and PostgreSQL would then never be stopped again: drop the
    pids of processes that no longer exist."""
    import psutil

    path = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    alive = [
        pid
        for pid in pids
        if isinstance(pid, int) and psutil.pid_exists(pid) and pid != os.getpid()
    ]
    if alive != pids:
        path.write_text(json.dumps(alive))


async def _ensure_database(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _connect_temporal(address: str, namespace: str, child: Child, settings: Settings) -> Any:
    from temporalio.client import Client

    from educonnect.temporal import data_converter

    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT
    while True:
        child.check()
        try:
            return await Client.connect(
                address, namespace=namespace, data_converter=data_converter(settings)
            )
        except RuntimeError as err:  # connection refused / server not ready yet
            if loop.time() > deadline:
                raise StackError(f"Temporal at {address} does not answer: {err}") from err
            await asyncio.sleep(0.5)


async def run() -> int:
    """Start the stack, wait for Ctrl-C / SIGTERM or a dead child, stop it all.
    Return the exit code."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    stopping = False

    def on_signal(sig: signal.Signals) -> None:
        nonlocal stopping
        if stopping:
            console.print("[yellow]Already stopping, please wait…[/yellow]")
            return
        stopping = True
        console.print(f"\n[bold]{sig.name} received: stopping the stack…[/bold]")
        task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)

    stack = Stack()
    code = 0
    try:
        await stack.start()
        stack.print_summary()
        await stack.watch()
    except asyncio.CancelledError:
        if not stopping:
            raise
        task.uncancel()
        code = 0
    except ChildExited as err:
        console.print(f"[bold red]✗ {err}[/bold red]")
        _print_tail(err.child)
        code = 1
    except (StackError, FileNotFoundError, TimeoutError) as err:
        console.print(f"[bold red]✗ {err}[/bold red]")
        code = 1
    except Exception:
        console.print_exception()
        code = 1
    finally:
        stopping = True  # a second signal must not interrupt the shutdown
        with contextlib.suppress(asyncio.CancelledError):
            await stack.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    console.print(
        "[bold]Stack stopped.[/bold]"
        if code == 0
        else "[bold red]Stack stopped (error).[/bold red]"
    )
    return code


def main() -> None:
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    sys.exit(asyncio.run(run()))


if __name__ == "__main__":
    main()
