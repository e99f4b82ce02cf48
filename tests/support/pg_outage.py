"""Stopping the embedded PostgreSQL of the test run for a while (every
connection dropped, as when the database server goes down), then starting
it again on the same data folder and socket."""

from __future__ import annotations

import asyncio

from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # made at import time


async def stop_postgresql(server) -> None:
    """`pg_ctl stop -m fast`: every session ends at once, nothing is lost."""
    await asyncio.to_thread(
        pg_ctl, ["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user
    )


async def start_postgresql(server) -> None:
    await asyncio.to_thread(server.ensure_postgres_running)
