"""What the benchmarks share: a database of their own (embedded PostgreSQL,
or DATABASE_URL) with the migrations applied, the Argon2id ceiling of this
machine with the settings' parameters, and the peak memory of the process."""

from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402

from educonnect import db  # noqa: E402
from educonnect.settings import get_settings  # noqa: E402


def argon2_rate(seconds: float, threads: int, work) -> float:
    """Calls of `work(i, n)` per second on `threads` threads (argon2-cffi
    releases the GIL, so threads run hashes in parallel)."""
    work(0, -1)  # warm-up
    deadline = time.perf_counter() + seconds
    counts = [0] * threads

    def loop(i: int) -> None:
        n = 0
        while time.perf_counter() < deadline:
            work(i, n)
            n += 1
        counts[i] = n

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(loop, range(threads)))
    return sum(counts) / (time.perf_counter() - start)


def argon2_ceiling(seconds: float, threads: int) -> float:
    """Argon2id hashes per second with the settings' parameters."""
    from educonnect.passwords import hash_password

    return argon2_rate(seconds, threads, lambda i, n: hash_password(f"Bench{i}x{n}"))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def machine_line(extra: str) -> str:
    s = get_settings()
    return (
        f"machine: {os.cpu_count() or 1} cores; Argon2id t={s.argon2_time_cost} m={s.argon2_memory_kib} KiB "
        f"p={s.argon2_parallelism}; {extra}"
    )


@asynccontextmanager
async def bench_database() -> AsyncIterator[tuple[asyncpg.Pool, Path]]:
    """A migrated database of the benchmark's own and a scratch folder, both
    gone afterwards (unless DATABASE_URL names an existing database)."""
    async with bench_database_at() as (pool, tmp, _):
        yield pool, tmp


@asynccontextmanager
async def bench_database_at() -> AsyncIterator[tuple[asyncpg.Pool, Path, str]]:
    """`bench_database`, and the database's URL (for processes of the benchmark's own)."""
    tmp = Path(tempfile.mkdtemp(prefix="educonnect-bench-"))
    server = None
    url = os.environ.get("DATABASE_URL")
    try:
        if not url:
            import pgserver

            server = pgserver.get_server(tmp / "pg", cleanup_mode="stop")
            name = f"bench_{uuid.uuid4().hex[:8]}"
            admin = await asyncpg.connect(server.get_uri())
            await admin.execute(f'CREATE DATABASE "{name}"')
            await admin.close()
            url = server.get_uri(name)
            os.environ["DATABASE_URL"] = url  # for the processes a benchmark starts
        get_settings.cache_clear()
        await db.migrate_url(url)
        pool = await db.create_pool(url)
        try:
            yield pool, tmp, url
        finally:
            await pool.close()
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
