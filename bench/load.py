"""A bounded mixed load on the whole stack, headless, while a school imports
2,000 pupils: right and wrong sign-ins, activations, SMS registrations,
password recoveries and status polls, at about the machine's Argon2id ceiling.

    .venv/bin/python bench/load.py [--duration 300] [--users 24] [--pupils 2000]

What runs (each on loopback, of this run's own): an embedded PostgreSQL, the
Temporal dev server, the SMTP sink, the SMS gateway, one worker and the API as
subprocesses (`python -m api`, as in the image). Each virtual user sends from
a loopback address of its own (127.0.0.2 ... 127.0.0.254): the API counts the
TCP peer (no `FORWARDED_FOR_TRUSTED_HOPS`), so the per-address limits apply as
with real families. A staff member uploads a generated 2,000-pupil export at
the start; the load runs for `--duration` seconds beside it.

Every process the load starts is finished by it (the activation's link clicked
the moment it arrives, the SMS code typed, the reset's link followed) and
checked at the end: each activation and registration has its active account,
each address received each mail once, each number one code. It prints the
throughput and p50/p95/p99 of each route, the load average, the Argon2id
ceiling (verifications/s on every core), the import's progress; it exits 1 on
any 5xx, any process lost or stuck, any duplicate mail or SMS.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import os
import random
import re
import shutil
import statistics
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("EDUCONNECT_ENV", "development")
if not os.environ.get("TEMPORAL_PAYLOAD_KEYS"):  # payloads encrypted as in production
    from educonnect.payload_codec import new_key_entry

    os.environ["TEMPORAL_PAYLOAD_KEYS"] = new_key_entry("bench")

import httpx  # noqa: E402

from bench.common import argon2_rate, bench_database, machine_line  # noqa: E402

PASSWORD = "Soleil2027b"
PROVISIONAL = "Bienvenue27x"
NEW_PASSWORD = "Lumiere2027q"
DOMAIN = "charge.example.fr"
SCHOOL_UAI = "0699990C"
LINK = re.compile(r"https?://\S+jeton=([A-Za-z0-9_\-]+)")
CODE = re.compile(r"\b(\d{6})\b")
ROOT = Path(__file__).resolve().parent.parent
STUCK_AFTER_S = 180  # a started process not finished this long after the load stopped


# --- the stack -----------------------------------------------------------------------------------


@dataclass
class Stack:
    api_url: str
    pool: object
    mail: dict[str, list[str]]  # address -> the text of each message, as the sink stored it
    sms_outbox: Path
    children: list = field(default_factory=list)


class Inbox:
    """The SMTP sink's hook: each message to the load's domain, kept in memory
    (the import's thousands of notifications are only counted)."""

    def __init__(self) -> None:
        self.mail: dict[str, list[str]] = defaultdict(list)
        self.others = 0

    async def __call__(self, envelope) -> None:
        for to in envelope.rcpt_tos:
            if to.endswith("@" + DOMAIN):
                raw = envelope.original_content or envelope.content
                message = email.message_from_bytes(
                    raw if isinstance(raw, bytes) else raw.encode(), policy=email.policy.default
                )
                self.mail[to].append(message.get_body(("plain",)).get_content())
            else:
                self.others += 1


async def start_stack(pool, url: str, folder: Path, inbox: Inbox):
    from temporalio.testing import WorkflowEnvironment

    from educonnect import search_attributes
    from educonnect.devtools.processes import find_temporal_binary, free_port, spawn, wait_for_http
    from educonnect.devtools.sms_gateway import SmsGatewayServer
    from educonnect.devtools.smtp_sink import SmtpSink
    from educonnect.temporal import data_converter

    temporal = await WorkflowEnvironment.start_local(
        data_converter=data_converter(),
        dev_server_existing_path=str(find_temporal_binary()),
        search_attributes=search_attributes.ALL,
        dev_server_log_level="error",
    )
    sink = SmtpSink(folder / "mailbox", port=0).start()
    sink.set_on_stored(inbox)
    token = uuid.uuid4().hex
    gateway = await SmsGatewayServer(folder / "sms-outbox.jsonl", token, port=0).start()
    api_port = free_port()
    env = dict(
        os.environ,
        EDUCONNECT_ENV="development",
        DATABASE_URL=url,
        TEMPORAL_ADDRESS=temporal.client.service_client.config.target_host,
        SMTP_URL=sink.url,
        SMS_GATEWAY_URL=gateway.url,
        SMS_GATEWAY_TOKEN=token,
        TASK_QUEUE=f"load-{uuid.uuid4().hex[:8]}",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{api_port}",
        PYTHONUNBUFFERED="1",
    )
    worker = spawn("worker", [sys.executable, "worker.py"], env=env, cwd=ROOT,
                   log_path=folder / "worker.log", echo=False)  # fmt: skip
    api = spawn("api", [sys.executable, "-m", "api", "--host", "127.0.0.1", "--port", str(api_port)],
                env=env, cwd=ROOT, log_path=folder / "api.log", echo=False)  # fmt: skip
    await wait_for_http(f"http://127.0.0.1:{api_port}/health/ready", 90, child=api)
    stack = Stack(f"http://127.0.0.1:{api_port}", pool, inbox.mail, folder / "sms-outbox.jsonl")
    stack.children = [api, worker]
    return stack, (temporal, sink, gateway)


async def stop_stack(stack: Stack, parts) -> None:
    from educonnect.devtools.processes import terminate_async

    temporal, sink, gateway = parts
    for child in stack.children:
        await terminate_async(child)
    await gateway.stop()
    sink.stop()
    await temporal.shutdown()


# --- the people ----------------------------------------------------------------------------------


@dataclass
class People:
    active: list[str]  # identifiers of active accounts (PASSWORD)
    recoverable: list[str]  # identifiers of active accounts for the recoveries, each used once
    provisioned: list[tuple[str, str, date]]  # identifier, email, a child's birthdate
    registrants: list[
        tuple[str, str, str, date]
    ]  # last name, first name, mobile, a child's birthdate


async def people(pool, n: int) -> People:
    from educonnect.passwords import hash_password_async

    tag = uuid.uuid4().hex[:6]
    active_hash = await hash_password_async(PASSWORD)
    provisional_hash = await hash_password_async(PROVISIONAL)
    await pool.execute(
        "INSERT INTO schools (uai, name, kind, degree, academie, city) "
        "VALUES ($1, 'Collège de la Charge', 'college', 2, 'Lyon', 'Lyon') ON CONFLICT DO NOTHING",
        SCHOOL_UAI,
    )
    guardians, pupils, links, accounts = [], [], [], []
    out = People([], [], [], [])
    for i in range(4 * n):
        guardian_id, pupil_id = uuid.uuid4(), uuid.uuid4()
        last = f"Charge{tag}{i}"
        birthdate = date(2012, 1, 1) + timedelta(days=i % 1500)
        kind = ("active", "recoverable", "provisioned", "registrant")[i % 4]
        mobile = f"+33677{i:06d}"[:12]
        guardians.append((guardian_id, last, "Camille", mobile))
        pupils.append((pupil_id, last, "Léa", birthdate, SCHOOL_UAI))
        links.append((guardian_id, pupil_id))
        identifier, address = f"c.charge{tag}{i}", f"c.charge{tag}{i}@{DOMAIN}"
        if kind in ("active", "recoverable"):
            accounts.append(
                (uuid.uuid4(), identifier, guardian_id, "active", active_hash, None, address, True)
            )
            (out.active if kind == "active" else out.recoverable).append(identifier)
        elif kind == "provisioned":
            accounts.append(
                (
                    uuid.uuid4(),
                    identifier,
                    guardian_id,
                    "provisioned",
                    None,
                    provisional_hash,
                    address,
                    False,
                )
            )
            out.provisioned.append((identifier, address, birthdate))
        else:
            out.registrants.append((last, "Camille", mobile, birthdate))
    await pool.executemany(
        "INSERT INTO guardians (id, last_name, first_name, mobile) VALUES ($1, $2, $3, $4)",
        guardians,
    )
    await pool.executemany(
        "INSERT INTO pupils (id, last_name, first_name, birthdate, uai, class_name, level) "
        "VALUES ($1, $2, $3, $4, $5, '5A', '5e')",
        pupils,
    )
    await pool.executemany(
        "INSERT INTO guardian_pupils (guardian_id, pupil_id) VALUES ($1, $2)", links
    )
    expires = datetime.now(UTC) + timedelta(days=92)
    await pool.executemany(
        """
        INSERT INTO accounts (id, kind, identifier, guardian_id, state, password_hash,
            provisional_password_hash, provisional_expires_at, email, email_verified_at, activated_at)
        VALUES ($1, 'guardian', $2, $3, $4, $5, $6, $7, $8,
            CASE WHEN $9 THEN now() END, CASE WHEN $9 THEN now() END)
        """,
        [(a, ident, g, state, h, ph, expires, mail, verified) for a, ident, g, state, h, ph, mail, verified in accounts],
    )  # fmt: skip
    return out


# --- measuring -----------------------------------------------------------------------------------


ID = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Figures:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    server_errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    load: list[float] = field(default_factory=list)


class User:
    """One virtual user: its own loopback address and cookies."""

    def __init__(self, stack: Stack, address: str, figures: Figures) -> None:
        self.stack, self.address, self.figures = stack, address, figures
        self.http = httpx.AsyncClient(
            base_url=stack.api_url, timeout=60,
            transport=httpx.AsyncHTTPTransport(local_address=address),
        )  # fmt: skip

    async def call(self, method: str, path: str, **kwargs) -> httpx.Response:
        route = f"{method} {ID.sub('/{id}', path.split('?')[0])}"
        started = time.perf_counter()
        answer = await self.http.request(method, path, **kwargs)
        self.figures.latencies[route].append(time.perf_counter() - started)
        self.figures.statuses[route][answer.status_code] += 1
        if answer.status_code >= 500:
            self.figures.server_errors.append(f"{route} {answer.status_code} {answer.text[:200]}")
        return answer


async def waited(check, timeout: float = 120, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(every)
    return None


@dataclass
class Ledger:
    """What the load started, to check at the end."""

    activations: list[str] = field(default_factory=list)  # identifiers
    registrations: list[str] = field(default_factory=list)  # mobiles
    resets: list[str] = field(default_factory=list)  # addresses
    finished: Counter = field(default_factory=Counter)


# --- the scenarios -------------------------------------------------------------------------------


def targets(who: People) -> tuple[list[str], list[str]]:
    """The accounts right sign-ins use, those wrong ones try (a tenth: their
    series of failures slow them down, as the policy says, not the others)."""
    cut = max(1, len(who.active) // 10)
    return who.active[cut:], who.active[:cut]


async def right_sign_in(user: User, who: People, ledger: Ledger) -> None:
    identifier = random.choice(targets(who)[0])
    await user.call("POST", "/sign-in", json={"identifier": identifier, "password": PASSWORD})
    await user.call("GET", "/portal")


async def wrong_sign_in(user: User, who: People, ledger: Ledger) -> None:
    identifier = random.choice([*targets(who)[1], f"x.inconnu{uuid.uuid4().hex[:8]}"])
    await user.call("POST", "/sign-in", json={"identifier": identifier, "password": "Mauvais2026x"})


async def emailed_token(user: User, address: str, what: str, poll: str | None = None) -> str | None:
    """The token of the link mailed to `address`, once it arrives (the waiting
    page's status polled meanwhile); None, and a problem noted, if it never does."""

    async def link() -> str | None:
        if poll is not None:
            await user.call("GET", poll)
        found = [LINK.search(m) for m in user.stack.mail.get(address, [])]
        return next((f.group(1) for f in found if f), None)

    token = await waited(link, every=2)
    if token is None:
        user.figures.problems.append(f"{what}: no link")
    return token


async def activation(user: User, who: People, ledger: Ledger) -> None:
    if not who.provisioned:
        return
    identifier, address, birthdate = who.provisioned.pop()
    ledger.activations.append(identifier)
    signed = await user.call(
        "POST", "/sign-in", json={"identifier": identifier, "password": PROVISIONAL}
    )
    if signed.status_code != 200:
        user.figures.problems.append(f"activation sign-in {identifier}: {signed.status_code}")
        return
    await user.call("POST", "/activation/profile", json={
        "password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD, "email": address,
        "child_birthdate": birthdate.isoformat()})  # fmt: skip

    token = await emailed_token(user, address, f"activation {identifier}", poll="/activation")
    if token is None:
        return
    done = await user.call("POST", "/activation/confirmation", data={"jeton": token})
    if done.status_code == 200:
        ledger.finished["activation"] += 1


def read_codes(path: Path, mobile: str) -> list[str]:
    from educonnect.devtools.sms_gateway import read_outbox

    return [m["text"] for m in read_outbox(path) if m["to"] == mobile] if path.exists() else []


async def sms_registration(user: User, who: People, ledger: Ledger) -> None:
    if not who.registrants:
        return
    last, first, mobile, birthdate = who.registrants.pop()
    ledger.registrations.append(mobile)
    started = await user.call(
        "POST", "/registration", json={"last_name": last, "first_name": first, "mobile": mobile}
    )
    if started.status_code != 201:
        user.figures.problems.append(f"registration {mobile}: {started.status_code}")
        return
    rid = started.json()["registration_id"]

    async def code() -> str | None:
        await user.call("GET", f"/registration/{rid}")
        texts = await asyncio.to_thread(read_codes, user.stack.sms_outbox, mobile)
        return CODE.search(texts[0]).group(1) if texts else None

    typed = await waited(code, every=2)
    if typed is None:
        user.figures.problems.append(f"registration {mobile}: no code")
        return
    await user.call("POST", f"/registration/{rid}/code", json={"code": typed})
    await user.call(
        "POST", f"/registration/{rid}/birthdate", json={"birthdate": birthdate.isoformat()}
    )
    done = await user.call("POST", f"/registration/{rid}/password",
                           json={"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD})  # fmt: skip
    if done.status_code == 200:
        ledger.finished["registration"] += 1


async def recovery(user: User, who: People, ledger: Ledger) -> None:
    if not who.recoverable:
        return
    identifier = who.recoverable.pop()
    address = f"{identifier}@{DOMAIN}"
    ledger.resets.append(address)
    await user.call(
        "POST", "/recovery/password/email", json={"identifier": identifier, "email": address}
    )

    token = await emailed_token(user, address, f"reset {identifier}")
    if token is None:
        return
    done = await user.call("POST", "/recovery/password/link", data={
        "jeton": token, "password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD})  # fmt: skip
    if done.status_code == 200:
        ledger.finished["reset"] += 1


async def status_poll(user: User, who: People, ledger: Ledger) -> None:
    await user.call("GET", "/health/ready")


SCENARIOS = [
    (right_sign_in, 30), (wrong_sign_in, 20), (activation, 15), (sms_registration, 10),
    (recovery, 10), (status_poll, 15),
]  # fmt: skip


# --- the run -------------------------------------------------------------------------------------


async def import_school(stack: Stack, pool, pupils: int) -> tuple[str, str]:
    """A staff member uploads a generated export of `pupils` pupils: (uai, import id)."""
    from educonnect.devtools.school_export import generate_export, to_csv
    from educonnect.models.corrections import StaffRole
    from educonnect.staff import create_staff_account

    uai = "0699991D"
    await pool.execute(
        "INSERT INTO schools (uai, name, kind, degree, academie, city) "
        "VALUES ($1, 'Lycée de la Charge', 'lycee', 2, 'Lyon', 'Lyon') ON CONFLICT DO NOTHING",
        uai,
    )
    login, password = "proviseur@charge.ac-lyon.example.fr", "Rentree-2026-Fort!9"
    await create_staff_account(pool, login=login, email=login, display_name="Proviseure Charge",
                               role=StaffRole.SCHOOL_ADMIN, password=password, uai=uai, academie="Lyon")  # fmt: skip
    rows = generate_export(pupils, seed=7, kind="lycee", email_domain="import.charge.example.fr")
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=120,
                                 transport=httpx.AsyncHTTPTransport(local_address="127.0.0.1")) as http:  # fmt: skip
        assert (
            await http.post("/staff/sign-in", json={"login": login, "password": password})
        ).status_code == 200
        started = await http.post(f"/staff/provisioning/{uai}/imports",
                                  files={"fichier": ("charge.csv", to_csv(rows), "text/csv")})  # fmt: skip
        assert started.status_code == 202, started.text
        return uai, started.json()["import_id"]


async def _accounts_phase(pool, uai: str, import_id: str) -> bool:
    return (await import_progress(pool, uai, import_id))[1] > 0


async def import_progress(pool, uai: str, import_id: str) -> tuple[int, int]:
    """(pupils written, accounts notified by email or letter) by the import so far."""
    pupils = await pool.fetchval("SELECT count(*) FROM pupils WHERE uai = $1", uai)
    notified = await pool.fetchval(
        "SELECT count(*) FROM provisioning_notifications WHERE import_id = $1", uuid.UUID(import_id)
    )
    return pupils, notified


async def run(args) -> int:
    async with bench_database() as (pool, folder):
        url = os.environ["DATABASE_URL"]  # bench_database's
        inbox = Inbox()
        stack, parts = await start_stack(pool, url, folder, inbox)
        try:
            return await load(stack, pool, args, inbox)
        finally:
            await stop_stack(stack, parts)
            if args.logs:  # the API's and the worker's logs, kept for a look
                for name in ("api.log", "worker.log"):
                    shutil.copy(folder / name, Path(args.logs) / name)


async def load(stack: Stack, pool, args, inbox: Inbox) -> int:
    from educonnect.passwords import hash_password, verify_password

    reference = hash_password("Reference2026x")
    ceiling = argon2_rate(3, os.cpu_count() or 1, lambda i, n: verify_password(reference, f"Essai{n}"))  # fmt: skip
    who = await people(pool, args.people)
    figures, ledger = Figures(), Ledger()
    uai, import_id = await import_school(stack, pool, args.pupils)
    print(machine_line(f"Argon2id ceiling {ceiling:.1f} verifications/s; {args.users} users; "
                       f"{args.duration:.0f} s; import of {args.pupils} pupils running"))  # fmt: skip
    # The load starts once the import creates accounts (its Argon2id-heavy phase).
    upload_done = time.monotonic()
    await waited(lambda: _accounts_phase(pool, uai, import_id), 600, 2)
    print(f"import: validated and records written in {time.monotonic() - upload_done:.0f} s; "
          "accounts being made: the load starts")  # fmt: skip
    stop_at = time.monotonic() + args.duration
    weights = [w for _, w in SCENARIOS]

    async def user_loop(i: int) -> None:
        user = User(stack, f"127.0.0.{2 + i % 253}", figures)
        try:
            while time.monotonic() < stop_at:
                scenario = random.choices([s for s, _ in SCENARIOS], weights)[0]
                user.http.cookies.clear()
                try:
                    await scenario(user, who, ledger)
                except httpx.HTTPError as err:
                    figures.problems.append(f"{scenario.__name__}: {err!r}")
        finally:
            await user.http.aclose()

    async def sample_load() -> None:
        while time.monotonic() < stop_at:
            figures.load.append(os.getloadavg()[0])
            await asyncio.sleep(5)

    before = await import_progress(pool, uai, import_id)
    started = time.monotonic()
    await asyncio.gather(sample_load(), *(user_loop(i) for i in range(args.users)))
    elapsed = time.monotonic() - started
    after = await import_progress(pool, uai, import_id)
    progress = (after[0], after[1] - before[1])
    # Every process the load started: finished, once.
    lost = await check_processes(pool, stack, ledger, figures)
    report(figures, ledger, elapsed, ceiling, progress, args)
    failures = figures.server_errors + figures.problems + lost
    for line in failures[:30]:
        print("FAIL", line)
    return 1 if failures else 0


async def check_processes(pool, stack: Stack, ledger: Ledger, figures: Figures) -> list[str]:
    problems = []

    async def all_active() -> bool:
        n = await pool.fetchval(
            "SELECT count(*) FROM accounts WHERE identifier = ANY($1) AND state = 'active'",
            ledger.activations,
        )
        return n == len(ledger.activations)

    if not await waited(all_active, STUCK_AFTER_S, 2):
        problems.append("an activation lost or stuck (not active)")
    registered = await pool.fetchval(
        "SELECT count(*) FROM accounts a JOIN guardians g ON g.id = a.guardian_id "
        "WHERE g.mobile = ANY($1) AND a.state = 'active'",
        ledger.registrations,
    )
    if registered != len(ledger.registrations):
        problems.append(
            f"registrations: {registered} accounts for {len(ledger.registrations)} started"
        )
    for address, texts in stack.mail.items():
        links = [t for t in texts if LINK.search(t)]
        if len(links) > 1:
            problems.append(f"{address}: {len(links)} mails with a link")
    for mobile in ledger.registrations:
        codes = await asyncio.to_thread(read_codes, stack.sms_outbox, mobile)
        if len(codes) != 1:
            problems.append(f"{mobile}: {len(codes)} SMS")
    return problems


def percentile(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


def report(
    figures: Figures,
    ledger: Ledger,
    elapsed: float,
    ceiling: float,
    progress: tuple[int, int],
    args,
) -> None:
    total = sum(len(v) for v in figures.latencies.values())
    print(f"\n{total} requests in {elapsed:.0f} s: {total / elapsed:.1f}/s; "
          f"load average (1 min) {min(figures.load):.1f}–{max(figures.load):.1f}")  # fmt: skip
    print(f"{'route':<46} {'n':>6} {'/s':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  statuses")
    for route in sorted(figures.latencies):
        values = figures.latencies[route]
        statuses = " ".join(f"{k}:{v}" for k, v in sorted(figures.statuses[route].items()))
        print(f"{route:<46} {len(values):>6} {len(values) / elapsed:>6.2f} {percentile(values, 50) * 1000:>8.0f} "
              f"{percentile(values, 95) * 1000:>8.0f} {percentile(values, 99) * 1000:>8.0f}  {statuses}")  # fmt: skip
    hashing = sum(
        len(figures.latencies.get(r, []))
        for r in (
            "POST /sign-in",
            "POST /activation/profile",
            "POST /registration/{id}/password",
            "POST /recovery/password/link",
        )  # fmt: skip
    )
    print(f"Argon2id in the API: {hashing / elapsed:.1f}/s (sign-ins, new passwords) against a ceiling "
          f"of {ceiling:.1f}/s, beside the import's hashing in the worker")  # fmt: skip
    print(f"processes: {len(ledger.activations)} activations, {len(ledger.registrations)} SMS registrations, "
          f"{len(ledger.resets)} password resets started; finished: {dict(ledger.finished)}")  # fmt: skip
    print(f"import of {args.pupils} pupils ({progress[0]} written): {progress[1]} accounts made and "
          f"notified (email or letter) during the load, {progress[1] / elapsed:.1f}/s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=300, help="seconds of load (default 300)")
    parser.add_argument(
        "--users", type=int, default=24, help="virtual users, each from its own address"
    )
    parser.add_argument("--pupils", type=int, default=2000, help="pupils of the school import")
    parser.add_argument("--logs", help="a folder where to keep the API's and the worker's logs")
    parser.add_argument("--people", type=int, default=400, help="families of each kind prepared")
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
