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
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import argon2_ceiling, bench_database, machine_line, peak_rss_mib  # noqa: E402
from educonnect.settings import get_settings  # noqa: E402


async def run(args) -> None:
    from educonnect.devtools.smtp_sink import SmtpSink

    async with bench_database() as (pool, tmp):
        sink = SmtpSink(tmp / "mailbox", port=0).start()
        os.environ["SMTP_URL"] = sink.url
        get_settings.cache_clear()
        try:
            await _import(args, pool)
        finally:
            sink.stop()


async def _import(args, pool) -> None:
    from activities.provisioning import ProvisioningActivities
    from educonnect.csv_import import content_sha256
    from educonnect.devtools.school_export import generate_export, to_csv
    from educonnect.models.provisioning import ImportRef, RowRange

    cores = os.cpu_count() or 1
    print(machine_line(f"{args.pupils} pupils ({args.kind}); batches of {args.batch_size}; "
                       f"{args.concurrency} accounts at a time per batch"))  # fmt: skip

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
    content = to_csv(
        generate_export(
            args.pupils, seed=args.seed, kind=args.kind, email_domain="bench.example.fr"
        )
    )
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
    print(
        f"validation: {summary.rows_valid} valid rows of {summary.rows_total} in {t_validate:.1f} s"
    )

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
        counts = await acts.provision_accounts(
            RowRange(import_id=import_id, uai=uai, start=start, end=end)
        )
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

    ceiling = argon2_ceiling(args.ceiling_seconds, cores)
    single = argon2_ceiling(min(args.ceiling_seconds, 3), 1)
    print(
        f"Argon2id ceiling: {ceiling:.1f} hashes/s on {cores} threads ({single:.1f}/s on one thread)"
    )
    print(
        f"RESULT accounts/s = {rate:.1f}; ceiling = {ceiling:.1f} hashes/s; ratio = {rate / ceiling:.2f}"
    )


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
