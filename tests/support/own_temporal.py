"""A file-backed Temporal dev server of a test's own, that it can kill and
start again on the same port and file (an outage of the process engine)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from educonnect import search_attributes
from educonnect.devtools.processes import (
    Child,
    find_temporal_binary,
    free_port,
    spawn,
    wait_for_port,
)


class OwnTemporal:
    """A file-backed Temporal dev server of this test's own, that it can stop
    and start again on the same port and file."""

    def __init__(self, folder: Path) -> None:
        self.port, self.ui_port = free_port(), free_port()
        self.db_file = folder / "temporal.db"
        self.log = folder / "temporal.log"
        self.child: Child | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        args = [
            find_temporal_binary(), "server", "start-dev", "--db-filename", self.db_file, "--ip", "127.0.0.1",
            "--port", str(self.port), "--ui-port", str(self.ui_port), "--headless", "--log-level", "error",
            *search_attributes.dev_server_flags(),
        ]  # fmt: skip
        self.child = spawn("temporal", args, log_path=self.log, echo=False)
        await wait_for_port("127.0.0.1", self.port, 60, child=self.child)

    def kill(self) -> None:
        assert self.child is not None
        os.killpg(self.child.pid, signal.SIGKILL)
        self.child.process.wait(10)
