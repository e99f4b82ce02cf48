"""Benchmark of activations left waiting at the link (DESIGN §3.1, issue 14):
many guardians have filled "Gérer mon compte" and not yet clicked. What it
costs to keep them (worker and Temporal memory, Temporal's file), and how fast
a click is answered while they all wait.

    .venv/bin/python bench/waiting.py [--activations 100000] [--clicks 1000] [--workers 1]

What runs (`bench/stack.py`): the Temporal dev server persisted to a file (as
`scripts/run` runs it), an embedded PostgreSQL of its own, the SMTP sink, the
real worker(s) (cache: WORKER_MAX_CACHED_WORKFLOWS, `--cache`) and the real
API. Each activation is brought to the link as sign-in and "Gérer mon compte"
bring it, without their two Argon2id hashes (bench/activation.py measures
those): the real `activation/<account-id>` workflow is started as sign-in
starts it, its new password's hash (one for all) is parked in PostgreSQL as
the API parks it, and its `submit_profile` update runs (birthdate check, the
activation begun, the link sent to the SMTP sink). `--concurrency` at a time.

Then, while all wait: the worker's and Temporal's RSS and Temporal's file
size (per waiting activation), and `--clicks` clicks drawn at random among
them through the real API (the link's page button, `POST
/activation/confirmation`, answered once the account is active), 10 at a
time: click→active p50/p99. With more waiting activations than the cache
holds, most clicks find their workflow evicted: it is replayed from its history.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.common import machine_line  # noqa: E402
from bench.costs import table_reads, table_reads_line  # noqa: E402
from bench.figures import StepTimes  # noqa: E402
from bench.stack import (  # noqa: E402
    CHILD_BIRTHDATE,
    PROVISIONAL_PASSWORD,
    BenchStack,
    Family,
    bench_stack,
    load_line,
    make_families,
    rss_mib,
)

CLICKS_AT_A_TIME = 10


async def bring_to_the_link(stack: BenchStack, family: Family, password_hash: str) -> None:
    """The activation of `family` started and its profile accepted, as the
    API's sign-in and "Gérer mon compte" do, without their hashes."""
    from api.routers.activation import PROCESS
    from educonnect.models.activation import ActivationInput, ProfileSubmission
    from workflows.activation import ActivationWorkflow, workflow_id

    params = ActivationInput(account_id=family.account_id, identifier=family.identifier,
                             credentials_expire_at=None)  # fmt: skip
    handle = await stack.temporal.start_workflow(
        ActivationWorkflow.run,
        params,
        id=workflow_id(family.account_id),
        task_queue=stack.env["TASK_QUEUE"],
        search_attributes=PROCESS.initial_search_attributes(family.account_id),
    )
    await stack.pool.execute(
        "INSERT INTO pending_passwords (account_id, process_id, password_hash) VALUES ($1, $2, $3)",
        family.account_id,
        handle.id,
        password_hash,
    )
    outcome = await handle.execute_update(
        ActivationWorkflow.submit_profile,
        ProfileSubmission(email=family.email, child_birthdate=CHILD_BIRTHDATE),
    )
    if not outcome.accepted:
        raise RuntimeError(f"profile refused: {outcome}")


def file_mib(db_file: Path) -> float:
    """Temporal's SQLite file with its write-ahead log."""
    files = [
        db_file,
        db_file.with_name(db_file.name + "-wal"),
        db_file.with_name(db_file.name + "-shm"),
    ]
    return sum(f.stat().st_size for f in files if f.exists()) / 2**20


def memory_line(stack: BenchStack, db_file: Path) -> tuple[str, dict[str, float]]:
    figures = {name: rss_mib(p) for name, p in stack.processes().items() if name != "api"}
    figures["temporal file"] = file_mib(db_file)
    return ", ".join(f"{k} {v:.0f} MiB" for k, v in figures.items()), figures


async def run(args) -> None:
    from educonnect.passwords import hash_password_async

    print(machine_line(f"{args.activations} activations left waiting, {args.clicks} clicks, "
                       f"{args.workers} worker(s), cache {args.cache} workflows each"))  # fmt: skip
    print(load_line("start"), flush=True)
    data = Path(args.data_dir) if args.data_dir else None
    async with bench_stack(
        db_file=(data or Path("/tmp")) / f"bench-temporal-{os.getpid()}.db"
    ) as stack:
        db_file = stack.db_file
        assert db_file is not None
        try:
            await _measure(stack, db_file, args, await hash_password_async(PROVISIONAL_PASSWORD))
        finally:
            for f in (
                db_file,
                db_file.with_name(db_file.name + "-wal"),
                db_file.with_name(db_file.name + "-shm"),
            ):
                f.unlink(missing_ok=True)  # fmt: skip
    print(load_line("end"))


async def _measure(stack: BenchStack, db_file: Path, args, password_hash: str) -> None:
    families = await make_families(stack.pool, args.activations, password_hash)
    for _ in range(args.workers):
        stack.start_worker({"WORKER_MAX_CACHED_WORKFLOWS": str(args.cache)})
    await stack.start_api()
    await asyncio.sleep(2)  # the workers' start
    empty, empty_figures = memory_line(stack, db_file)
    print(f"before: {empty}", flush=True)

    t = time.perf_counter()
    remaining = iter(families)
    started = 0

    async def one_after_another() -> None:
        nonlocal started
        for family in remaining:
            await bring_to_the_link(stack, family, password_hash)
            started += 1
            if args.progress and started % args.progress == 0:
                print(f"  {started} waiting, {started / (time.perf_counter() - t):.1f}/s; "
                      f"{memory_line(stack, db_file)[0]}; {load_line('now')}", flush=True)  # fmt: skip

    await asyncio.gather(*(one_after_another() for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - t
    tokens = {f.email: await stack.inbox.token_for(f.email, 120) for f in families}
    print(f"started: {len(families)} activations waiting at the link in {elapsed:.1f} s "
          f"= {len(families) / elapsed:.1f}/s ({args.concurrency} at a time; every link in the SMTP sink)")  # fmt: skip
    print(load_line("after the starts"))
    await asyncio.sleep(5)  # the last tasks settled
    waiting, figures = memory_line(stack, db_file)
    print(f"while all wait: {waiting}")
    per = {k: (figures[k] - empty_figures[k]) * 1024 / len(families) for k in figures}
    print(
        "per waiting activation: " + ", ".join(f"{k} {v:.1f} KiB" for k, v in per.items()),
        flush=True,
    )

    clicked = random.Random(args.seed).sample(families, min(args.clicks, len(families)))
    reads = await table_reads(stack.pool)
    times = StepTimes()
    queue = iter(clicked)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http:

        async def click_after_click() -> None:
            for family in queue:
                token, _ = tokens[family.email]
                start = time.perf_counter()
                done = await http.post("/activation/confirmation", data={"jeton": token})
                if done.status_code != 200 or "Compte activé" not in done.text:
                    raise RuntimeError(f"click {done.status_code} {done.text[:200]}")
                times.add("click→active", time.perf_counter() - start)

        t = time.perf_counter()
        await asyncio.gather(*(click_after_click() for _ in range(CLICKS_AT_A_TIME)))
        elapsed = time.perf_counter() - t
    print(f"clicks: {len(clicked)} drawn at random among {len(families)} waiting, {CLICKS_AT_A_TIME} at a time, "
          f"in {elapsed:.1f} s")  # fmt: skip
    for line in times.lines():
        print(line)
    print(table_reads_line(reads, await table_reads(stack.pool), len(clicked), per="click"))
    after, _ = memory_line(stack, db_file)
    print(f"after the clicks: {after}")
    p99 = times.p("click→active", 99)
    worker_rss = max(v for k, v in figures.items() if k.startswith("worker"))
    print(f"RESULT waiting = {len(families)}; worker RSS = {worker_rss:.0f} MiB (goal ≤ 1024 MiB at 100,000); "
          f"Temporal RSS = {figures['temporal']:.0f} MiB; Temporal file = {figures['temporal file']:.0f} MiB; "
          f"click→active p50 = {times.p('click→active', 50):.0f} ms, p99 = {p99:.0f} ms (goal < 1000 ms)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--activations", type=int, default=100_000)
    parser.add_argument("--clicks", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--cache", type=int, default=None, help="WORKER_MAX_CACHED_WORKFLOWS (default: the setting)"
    )
    parser.add_argument("--concurrency", type=int, default=50, help="activations started at a time")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--progress", type=int, default=0, help="a line every N activations started"
    )
    parser.add_argument("--data-dir", help="where Temporal's file goes (default /tmp)")
    args = parser.parse_args()
    if args.cache is None:
        from educonnect.settings import get_settings

        args.cache = get_settings().worker_max_cached_workflows
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
