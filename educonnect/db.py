"""PostgreSQL access: the connection pool and forward-only migrations.

Migrations are the `migrations/NNNN_name.sql` files, applied in order, each
once, inside a transaction, under a PostgreSQL advisory lock so that an API and
several workers starting together apply them exactly once.
"""

from __future__ import annotations

import logging
from pathlib import Path

import asyncpg

from educonnect.settings import PROJECT_ROOT, get_settings

log = logging.getLogger(__name__)

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
# Any constant shared by every process of the platform; "EDUC" in ASCII.
MIGRATION_LOCK_ID = 0x45445543


def database_url() -> str:
    url = get_settings().database_url
    if not url:
        raise RuntimeError(
            "DATABASE_URL is not set: start the stack with scripts/run, "
            "or point DATABASE_URL at a PostgreSQL database."
        )
    return url


async def create_pool(url: str | None = None, **kwargs) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(url or database_url(), min_size=1, max_size=10, **kwargs)
    assert pool is not None
    return pool


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    return sorted(p for p in directory.glob("[0-9][0-9][0-9][0-9]_*.sql"))


async def migrate(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the migrations not yet applied; return the versions applied now."""
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for path in migration_files(directory):
            version = path.stem
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(path.read_text())
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            log.info("applied migration %s", version)
            applied_now.append(version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)
    return applied_now


async def migrate_url(url: str | None = None) -> list[str]:
    conn = await asyncpg.connect(url or database_url())
    try:
        return await migrate(conn)
    finally:
        await conn.close()
