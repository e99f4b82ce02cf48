"""Benchmark of school provisioning (DESIGN §3.11, §7): accounts per second for
a generated school file, peak memory, and the Argon2id ceiling of this machine.

    .venv/bin/python bench/provisioning.py [--pupils 20000] [--kind lycee] [--batch-size 200]

What runs: the provisioning ACTIVITY code directly (validate_import, then
write_records and provision_accounts batch by batch, exactly the calls the
workflow makes, without Temporal), on an embedded PostgreSQL of its own
(or DATABASE_URL) and an in-process SMTP sink (every notification email is
really sent over SMTP), in this one process: the peak memory printed is this
process's (what one worker needs), from getrusage (peak RSS).

The ceiling: Argon2id hashes per second with the same parameters as the
accounts (settings ARGON2_*), on a thread pool of N = cores threads (argon2-cffi
releases the GIL), measured for a few seconds. Every new account costs one
hash, so accounts/s divided by the ceiling says how close provisioning gets to
the hashing limit (the rest: PostgreSQL, SMTP, PDF letters, Python).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402

from educonnect import db  # noqa: E402
from educonnect.settings import get_settings  # noqa: E402


def argon2_ceiling(seconds: float, threads: int) -> float:
    """Hashes per second on `threads` threads with the settings' parameters."""
    from educonnect.passwords import hash_password

    hash_password("warm-up-1")
    deadline = time.perf_counter() + seconds
    counts = [0] * threads

    def work(i: int) -> None:
        n = 0
        while time.perf_counter() < deadline:
            hash_password(f"Bench{i}x{n}")
            n += 1
        counts[i] = n

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    return sum(counts) / (time.perf_counter() - start)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


async def run(args) -> None:
    from activities.provisioning import ProvisioningActivities, content_sha256
    from educonnect.devtools.school_export import generate_export, to_csv
    from educonnect.devtools.smtp_sink import SmtpSink
    from educonnect.models.provisioning import ImportRef, RowRange

    tmp = Path(tempfile.mkdtemp(prefix="educonnect-bench-"))
    server = None
    sink = SmtpSink(tmp / "mailbox", port=0).start()
    os.environ["SMTP_URL"] = sink.url
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
        get_settings.cache_clear()
        await db.migrate_url(url)
        pool = await db.create_pool(url)
        settings = get_settings()
        cores = os.cpu_count() or 1
        print(f"machine: {cores} cores; Argon2id t={settings.argon2_time_cost} m={settings.argon2_memory_kib} KiB "
              f"p={settings.argon2_parallelism}; {args.pupils} pupils ({args.kind}); batches of {args.batch_size}; "
              f"{args.concurrency} accounts at a time per batch")  # fmt: skip

        uai = "0699999" + "ABCDEFGHJKLMNPRSTUVWXYZ"[699999 % 23]
        degree = 1 if args.kind == "ecole" else 2
        await pool.execute(
            "INSERT INTO schools (uai, name, kind, degree, academie, city) VALUES ($1, 'Établissement banc d''essai', "
            "$2, $3, 'Lyon', 'Lyon') ON CONFLICT DO NOTHING",
            uai,
            args.kind,
            degree,
        )
        t0 = time.perf_counter()
        content = to_csv(generate_export(args.pupils, seed=args.seed, kind=args.kind, email_domain="bench.example.fr"))
        import_id = uuid.uuid4()
        await pool.execute(
            "INSERT INTO provisioning_imports (id, uai, filename, content, content_sha256) VALUES ($1, $2, 'bench.csv', $3, $4)",
            import_id,
            uai,
            content,
            content_sha256(content),
        )
        print(f"file: {len(content) / 1e6:.1f} MB generated in {time.perf_counter() - t0:.1f} s")

        acts = ProvisioningActivities(pool, concurrency=args.concurrency)
        ref = ImportRef(import_id=import_id, uai=uai)
        t = time.perf_counter()
        summary = await acts.validate_import(ref)
        t_validate = time.perf_counter() - t
        print(f"validation: {summary.rows_valid} valid rows of {summary.rows_total} in {t_validate:.1f} s")

        t = time.perf_counter()
        for start in range(0, summary.rows_valid, args.batch_size):
            await acts.write_records(RowRange(import_id=import_id, uai=uai, start=start,
                                              end=min(start + args.batch_size, summary.rows_valid)))  # fmt: skip
        t_records = time.perf_counter() - t
        print(f"records: {summary.rows_valid / t_records:.0f} rows/s ({t_records:.1f} s)")

        t = time.perf_counter()
        counts = None
        for start in range(0, summary.rows_valid, args.batch_size):
            end = min(start + args.batch_size, summary.rows_valid)
            counts = await acts.provision_accounts(RowRange(import_id=import_id, uai=uai, start=start, end=end))
            if args.progress:
                done = counts.guardian_accounts_created + counts.pupil_accounts_created
                print(f"  rows {end}/{summary.rows_valid}: {done} accounts, {done / (time.perf_counter() - t):.1f}/s",
                      flush=True)  # fmt: skip
        t_accounts = time.perf_counter() - t
        assert counts is not None
        accounts = counts.guardian_accounts_created + counts.pupil_accounts_created
        total = t_validate + t_records + t_accounts
        rate = accounts / t_accounts
        print(f"accounts: {accounts} ({counts.guardian_accounts_created} guardians, {counts.pupil_accounts_created} "
              f"pupils), {counts.emails_sent} emails sent, {counts.letters_created} PDF letters, in {t_accounts:.1f} s")  # fmt: skip
        print(f"whole import: {total:.1f} s, {accounts / total:.1f} accounts/s overall")
        print(f"peak memory (RSS of this process): {peak_rss_mib():.0f} MiB")
        await pool.close()

        ceiling = argon2_ceiling(args.ceiling_seconds, cores)
        single = argon2_ceiling(min(args.ceiling_seconds, 3), 1)
        print(f"Argon2id ceiling: {ceiling:.1f} hashes/s on {cores} threads ({single:.1f}/s on one thread)")
        print(f"RESULT accounts/s = {rate:.1f}; ceiling = {ceiling:.1f} hashes/s; ratio = {rate / ceiling:.2f}")
    finally:
        sink.stop()
        if server is not None:
            server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pupils", type=int, default=20_000)
    parser.add_argument("--kind", choices=["ecole", "college", "lycee"], default="lycee")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=(os.cpu_count() or 1) + 1)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--ceiling-seconds", type=float, default=5.0)
    parser.add_argument("--progress", action="store_true", help="print a line per batch")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
