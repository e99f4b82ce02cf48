"""Benchmark of sign-in (DESIGN §3.5, §4, §7): sign-ins per second and their
latency through the real API, for right passwords, wrong passwords and
unknown identifiers, against the Argon2id verification ceiling of this machine.

    .venv/bin/python bench/sign_in.py [--accounts 500] [--requests 600] [--concurrency 8]

What runs: the FastAPI app in this process (httpx ASGI transport, no network),
its sign-in route with every limit on (`educonnect.sign_in_limits`: counters
per identifier and per IP in PostgreSQL), on an embedded PostgreSQL of its own
(or DATABASE_URL), with `--accounts` active accounts. Every attempt costs one
Argon2id verification: the account's hash, or the dummy hash for an unknown
identifier (same cost, so that timing tells nothing). Requests come from many
client addresses (the per-IP limit would otherwise stop the failures) and each
wrong password is tried once per account (no progressive delay kicks in).
No Temporal is needed: active accounts sign in to the portal directly.

The ceiling: Argon2id verifications per second with the same parameters on a
thread pool of N = cores threads; sign-ins/s divided by it says how much of the
machine's hashing goes into signing people in (the rest: PostgreSQL, the API).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.common import argon2_rate, bench_database, machine_line, peak_rss_mib  # noqa: E402

PASSWORD = "Soleil2027b"
CLIENT_ADDRESSES = 200


async def _accounts(pool, n: int) -> list[str]:
    """`n` active guardian accounts sharing one password hash (the
    verification cost is the same for each)."""
    from educonnect.passwords import hash_password_async

    password_hash = await hash_password_async(PASSWORD)
    tag = uuid.uuid4().hex[:6]
    rows = []
    for i in range(n):
        guardian_id, account_id = uuid.uuid4(), uuid.uuid4()
        rows.append((guardian_id, account_id, f"b.banc{tag}{i}"))
    await pool.executemany(
        "INSERT INTO guardians (id, last_name, first_name) VALUES ($1, 'Banc', 'Essai')",
        [(g,) for g, _, _ in rows],
    )
    await pool.executemany(
        "INSERT INTO accounts (id, kind, identifier, guardian_id, state, password_hash, email, email_verified_at) "
        "VALUES ($1, 'guardian', $2, $3, 'active', $4, $5, now())",
        [(a, ident, g, password_hash, f"{ident}@bench.example.fr") for g, a, ident in rows],
    )
    return [ident for _, _, ident in rows]


def _clients(app) -> list[httpx.AsyncClient]:
    return [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(f"10.{i // 250}.{i % 250}.1", 4000)),
            base_url="http://bench",
        )
        for i in range(CLIENT_ADDRESSES)
    ]


async def _measure(
    clients, attempts: list[tuple[str, str]], concurrency: int, expected: int
) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = list(enumerate(attempts))
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int, identifier: str, password: str) -> None:
        async with semaphore:
            client = clients[i % len(clients)]
            start = time.perf_counter()
            response = await client.post(
                "/sign-in", json={"identifier": identifier, "password": password}
            )
            latencies.append(time.perf_counter() - start)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            client.cookies.clear()

    start = time.perf_counter()
    await asyncio.gather(*(one(i, ident, pw) for i, (ident, pw) in queue))
    elapsed = time.perf_counter() - start
    if set(statuses) != {expected}:
        raise SystemExit(f"unexpected answers {statuses} (expected only {expected})")
    latencies.sort()
    return {
        "rate": len(attempts) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p95": latencies[int(0.95 * (len(latencies) - 1))] * 1000,
        "n": len(attempts),
    }


async def run(args) -> None:
    from api.app import create_app

    print(
        machine_line(
            f"{args.accounts} accounts; {args.requests} sign-ins per kind; {args.concurrency} in flight"
        )
    )
    async with bench_database() as (pool, _):
        identifiers = await _accounts(pool, args.accounts)
        app = create_app()
        app.state.pool = pool
        app.state.temporal = None  # active accounts: no process to start
        clients = _clients(app)
        try:
            kinds = {
                "right password": ([(identifiers[i % len(identifiers)], PASSWORD) for i in range(args.requests)], 200),
                # Each account fails once at most: no progressive delay, no lock.
                "wrong password": ([(identifiers[i % len(identifiers)], "Mauvais2027x") for i in range(min(args.requests, len(identifiers)))], 401),
                "unknown identifier": ([(f"x.inconnu{uuid.uuid4().hex[:10]}", PASSWORD) for _ in range(args.requests)], 401),
            }  # fmt: skip
            results = {}
            for name, (attempts, expected) in kinds.items():
                results[name] = r = await _measure(clients, attempts, args.concurrency, expected)
                print(
                    f"{name}: {r['n']} sign-ins, {r['rate']:.1f}/s, latency p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f} ms"
                )
        finally:
            for client in clients:
                await client.aclose()
    print(f"peak memory (RSS of this process): {peak_rss_mib():.0f} MiB")

    from educonnect.passwords import hash_password, verify_password

    reference = hash_password(PASSWORD)
    cores = os.cpu_count() or 1
    ceiling = argon2_rate(
        args.ceiling_seconds, cores, lambda i, n: verify_password(reference, PASSWORD)
    )
    print(f"Argon2id ceiling: {ceiling:.1f} verifications/s on {cores} threads")
    right = results["right password"]["rate"]
    print(f"RESULT sign-ins/s = {right:.1f}; ceiling = {ceiling:.1f} verifications/s; ratio = {right / ceiling:.2f}; "
          f"unknown/right latency p50 = {results['unknown identifier']['p50'] / results['right password']['p50']:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--ceiling-seconds", type=float, default=5.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
