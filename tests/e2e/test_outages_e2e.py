"""Every outage the README promises to survive, end to end on a stack of this
module's own: a file-backed Temporal dev server it can kill and start again,
the real worker and API as subprocesses, the run's PostgreSQL (stopped and
started again), SMTP sink and SMS gateway (behind a gate that fails or holds
messages). Each test ends on exact counts: accounts, emails, SMS, caps.

Faults are injected where the timing matters at a known point: a message is
held by the SMTP sink or the SMS gate (the send activity is in flight), the
fault happens, then the held message is refused (never stored, never sent),
so each mail and code must arrive exactly once after the retries.

The outages are short (seconds, not the 90 s or 2 minutes of the issue): the
activities retry backing off from 1 s, so a longer outage only adds waiting
to CI, not another path through the code. The one fixed cost is a worker
SIGKILLed with activities in flight: Temporal retries them once their
30 s start-to-close timeout has passed (all of them at once, in one kill)."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client

from educonnect.devtools.oidc_provider import ProviderIdentity
from educonnect.devtools.processes import Child, free_port, spawn, terminate_async, wait_for_http
from educonnect.devtools.school_export import generate_export, to_csv
from educonnect.models.corrections import StaffRole
from educonnect.settings import PROJECT_ROOT
from educonnect.staff import create_staff_account
from educonnect.temporal import data_converter
from tests.e2e.conftest import Stack
from tests.e2e.test_franceconnect_e2e import through_franceconnect, typed
from tests.e2e.test_provisioning_e2e import (
    Lycee,
    parsed,
    staff_client,
    stored_to,
    upload,
    wait_done,
)
from tests.e2e.test_registration_e2e import as_typed
from tests.support.accounts import ActiveAccount, make_active_account
from tests.support.corrections import (
    WRONG_BIRTHDATE,
    blocked_and_filed,
    make_staff,
    school_scene,
)
from tests.support.families import (
    Family,
    activation_awaiting_the_click,
    make_family,
    submit_activation_profile,
)
from tests.support.mail import NOTIFICATION_SUBJECT, Mailbox, link_in, token_of
from tests.support.own_temporal import OwnTemporal
from tests.support.pg_outage import start_postgresql, stop_postgresql
from tests.support.schools import expected_guardian_records, make_school
from tests.support.sms import SmsOutbox, code_in
from tests.support.sms_gate import SmsGate
from tests.support.smtp_gate import Down, HoldAfter

pytestmark = pytest.mark.asyncio(loop_scope="session")

CHANGED_PASSWORD = "Tempete2027r"
IMPORT_PUPILS = 120  # a small school: the import's batches, not its size, are what is tested
IMPORT_TAKEN = 15  # notifications stored before the outage
RESET_SUBJECT = "Réinitialisation du mot de passe de votre compte EduConnect"
CHANGED_SUBJECT = "Le mot de passe de votre compte EduConnect a été modifié"
WAIT_S = 120  # generous: a loaded CI machine, retries backing off


@dataclass
class OwnStack(Stack):
    temporal_server: OwnTemporal | None = None
    api: Child | None = None
    sms: SmsGate | None = None

    async def start_api(self) -> None:
        port = int(self.api_url.rsplit(":", 1)[1])
        self.api = spawn(
            "api", [sys.executable, "-m", "api", "--host", "127.0.0.1", "--port", str(port)],
            env=self.env, cwd=PROJECT_ROOT, log_path=self.log_dir / "api.log", echo=False,
        )  # fmt: skip
        await wait_for_http(f"{self.api_url}/health/ready", 60, child=self.api)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def own(stack, sms_gateway, tmp_path_factory) -> AsyncIterator[OwnStack]:
    folder = tmp_path_factory.mktemp("outages")
    temporal = OwnTemporal(folder)
    await temporal.start()
    sms = await SmsGate(sms_gateway.url).start()
    api_port = free_port()
    env = dict(
        stack.env,
        TEMPORAL_ADDRESS=temporal.address,
        TASK_QUEUE=f"e2e-outages-{uuid.uuid4().hex[:8]}",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{api_port}",
        SMS_GATEWAY_URL=sms.url,
    )
    client = await Client.connect(temporal.address, data_converter=data_converter())
    own = OwnStack(f"http://127.0.0.1:{api_port}", client, stack.pool, env, folder)
    own.temporal_server, own.sms = temporal, sms
    own.start_worker()
    try:
        await own.start_api()
        yield own
    finally:
        if own.api is not None:
            await terminate_async(own.api)
        if own.worker is not None:
            await terminate_async(own.worker)
        await sms.stop()
        if temporal.child is not None:
            await terminate_async(temporal.child)


# --- helpers -----------------------------------------------------------------------------------


async def eventually(check: Callable[[], Awaitable[object]], what: str, timeout: float = WAIT_S):
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not after {timeout} s"
        await asyncio.sleep(0.25)


async def mails_to(mailbox: Mailbox, address: str, count: int) -> list:
    """Exactly `count` messages to `address` (waits for them, then checks no more came)."""
    got = await mailbox.wait_for(address, count, timeout=WAIT_S)
    await asyncio.sleep(0.5)
    got = mailbox.to(address)
    assert len(got) == count, [m.subject for m in got]
    return got


async def sms_to(outbox: SmsOutbox, number: str, count: int) -> list[dict]:
    got = await outbox.wait_for(number, count, timeout=WAIT_S)
    await asyncio.sleep(0.5)
    got = outbox.to(number)
    assert len(got) == count, [m["text"] for m in got]
    return got


async def sms_counted(pool, number: str) -> int:
    return (
        await pool.fetchval(
            "SELECT sent FROM sms_daily_counts WHERE mobile = $1 "
            "AND day = (now() AT TIME ZONE 'Europe/Paris')::date",
            number,
        )
        or 0
    )


def assert_french_503(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    if answer.headers["content-type"].startswith("application/json"):
        assert answer.json()["code"] == "service_unavailable", answer.text
        assert "indisponible" in answer.json()["message"], answer.text
    else:
        assert 'data-code="service_unavailable"' in answer.text, answer.text


@dataclass
class Registration:
    guardian: dict
    birthdates: list
    http: httpx.AsyncClient
    rid: str | None = None


async def demo_guardians_without_account(pool, n: int) -> list[tuple[dict, list]]:
    """`n` demo guardians with a mobile and children, no account, no code sent
    yet (from the middle of the list: the other tests take theirs from the ends)."""
    rows = await pool.fetch(
        """
        SELECT g.id, g.last_name, g.first_name, g.mobile FROM guardians g
        WHERE g.mobile IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.guardian_id = g.id)
          AND NOT EXISTS (SELECT 1 FROM sms_codes c WHERE c.mobile = g.mobile)
          AND NOT EXISTS (SELECT 1 FROM guardians o WHERE o.mobile = g.mobile AND o.id <> g.id)
          AND EXISTS (SELECT 1 FROM guardian_pupils gp WHERE gp.guardian_id = g.id)
        ORDER BY md5(g.id::text)
        """
    )
    assert len(rows) >= n + 2, f"only {len(rows)} demo guardians without an account"
    out = []
    for row in rows[1 : n + 1]:
        birthdates = await pool.fetch(
            "SELECT p.first_name, p.birthdate FROM guardian_pupils gp JOIN pupils p ON p.id = gp.pupil_id "
            "WHERE gp.guardian_id = $1",
            row["id"],
        )
        out.append((dict(row), birthdates))
    return out


def registration(found: tuple[dict, list], http: httpx.AsyncClient) -> Registration:
    guardian, children = found
    return Registration(guardian, [c["birthdate"] for c in children], http)


async def post_registration(reg: Registration) -> httpx.Response:
    answer = await reg.http.post(
        "/registration",
        json={
            "last_name": reg.guardian["last_name"].upper(),
            "first_name": reg.guardian["first_name"],
            "mobile": as_typed(reg.guardian["mobile"]),
        },
    )
    assert answer.status_code == 201, answer.text
    reg.rid = answer.json()["registration_id"]
    return answer


async def finish_registration(reg: Registration, code: str) -> str:
    """Code, birthdate, password: the new account's identifier."""
    coded = await reg.http.post(f"/registration/{reg.rid}/code", json={"code": code})
    assert coded.status_code == 200 and coded.json()["step"] == "birthdate", coded.text
    dated = await reg.http.post(
        f"/registration/{reg.rid}/birthdate", json={"birthdate": reg.birthdates[0].isoformat()}
    )
    assert dated.status_code == 200, dated.text
    done = await reg.http.post(
        f"/registration/{reg.rid}/password",
        json={"password": CHANGED_PASSWORD, "password_confirmation": CHANGED_PASSWORD},
    )
    assert done.status_code == 200 and done.json()["status"] == "signed_in", done.text
    return done.json()["identifier"]


async def signed_in(http: httpx.AsyncClient, identifier: str, password: str) -> None:
    http.cookies.clear()
    answer = await http.post("/sign-in", json={"identifier": identifier, "password": password})
    assert answer.status_code == 200 and answer.json()["status"] == "signed_in", answer.text


async def reset_by_link(http: httpx.AsyncClient, mail, password: str) -> None:
    done = await http.post(
        "/recovery/password/link",
        data={
            "jeton": token_of(link_in(mail)),
            "password": password,
            "password_confirmation": password,
        },
    )
    assert done.status_code == 200, done.text


async def validate_address(http: httpx.AsyncClient, mail) -> None:
    done = await http.post("/account/email/validation", data={"jeton": token_of(link_in(mail))})
    assert done.status_code == 200, done.text


async def account_at(pool, tag: str, name: str) -> ActiveAccount:
    return await make_active_account(pool, email=f"{name}.{tag}@out-{tag}.example.fr")


async def click(http: httpx.AsyncClient, mail) -> None:
    done = await http.post("/activation/confirmation", data={"jeton": token_of(link_in(mail))})
    assert done.status_code == 200 and "Compte activé" in done.text, done.text


async def states(pool, ids) -> Counter:
    rows = await pool.fetch("SELECT state FROM accounts WHERE id = ANY($1)", list(ids))
    return Counter(r["state"] for r in rows)


@asynccontextmanager
async def browsers(own: OwnStack, n: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    """`n` clients of the API, each with cookies of its own."""
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(own.http()) for _ in range(n)]


async def approve(own: OwnStack, scene, request_id: str) -> None:
    """The school's administrator approves the correction as it was asked."""
    admin = await make_staff(own.pool, StaffRole.SCHOOL_ADMIN, scene.school)
    async with own.http() as staff_http:
        signed = await staff_http.post(
            "/staff/sign-in", json={"login": admin.login, "password": admin.password}
        )
        assert signed.status_code == 200, signed.text
        approved = await staff_http.post(
            f"/staff/requests/{request_id}/approve",
            json={"corrected_birthdate": WRONG_BIRTHDATE.isoformat()},
        )
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text


def in_background(coro) -> asyncio.Task:
    """A request that waits on an activity held at the gate: answered later (or 503)."""
    return asyncio.get_running_loop().create_task(coro)


# --- the worker SIGKILLed during each process family -------------------------------------------


async def test_worker_killed_with_every_process_family_in_flight(
    own: OwnStack, smtp_sink, sms_gateway, oidc_provider, mailbox: Mailbox
):
    """SMS registration and FranceConnect's first visit with their code held at
    the SMS gateway, a password reset, an email change and a merge with their
    email held at the SMTP sink, a correction waiting for the school: one
    SIGKILL, a new worker, and each process completes, nothing twice."""
    assert own.sms is not None
    tag = uuid.uuid4().hex[:8]
    domain = f"out-{tag}.example.fr"
    outbox = SmsOutbox(sms_gateway.outbox_path)
    reset_account = await account_at(own.pool, tag, "reset")
    change_account = await account_at(own.pool, tag, "change")
    kept, other = await account_at(own.pool, tag, "kept"), await account_at(own.pool, tag, "other")
    await own.pool.execute(  # the same person: the merge's check of the names
        "UPDATE guardians SET last_name = (SELECT last_name FROM guardians WHERE id = $1) WHERE id = $2",
        kept.family.guardian_id,
        other.family.guardian_id,
    )
    new_address = f"nouvelle.{tag}@{domain}"
    scene = await school_scene(own.pool)

    async with (
        own.http() as reg_http, own.http() as fc_http, own.http() as reset_http,
        own.http() as change_http, own.http() as merge_http, own.http() as family_http,
    ):  # fmt: skip
        # The correction: filed, waiting for the school (no activity in flight).
        request_id = await blocked_and_filed(family_http, scene.family, scene.children[0]["id"])
        for_reg, (fc_guardian, fc_children) = await demo_guardians_without_account(own.pool, 2)
        reg = registration(for_reg, reg_http)
        own.sms.hold(reg.guardian["mobile"], fc_guardian["mobile"])
        await signed_in(change_http, change_account.identifier, change_account.password)
        await signed_in(merge_http, kept.identifier, kept.password)
        identity = ProviderIdentity(
            sub=f"fc-out-{tag}",
            given_name=fc_guardian["first_name"],
            family_name=fc_guardian["last_name"].upper(),
        )
        oidc_provider.set_identity(identity)
        first, _ = await through_franceconnect(fc_http, own.api_url, identity.sub)
        assert first.status_code == 200 and first.json()["status"] == "link_required", first.text
        fc_link = f"/franceconnect/link/{first.json()['link']['link_id']}"

        with HoldAfter(smtp_sink, domain, taken=0) as mail_gate:
            pending = [
                in_background(post_registration(reg)),
                in_background(fc_http.post(f"{fc_link}/mobile", json={"mobile": typed(fc_guardian["mobile"])})),
                in_background(reset_http.post("/recovery/password/email", json={
                    "identifier": reset_account.identifier, "email": reset_account.email})),
                in_background(change_http.post("/account/email", json={
                    "email": new_address, "email_confirmation": new_address})),
                in_background(merge_http.post("/account/merge", json={
                    "identifier": other.identifier, "password": other.password})),
            ]  # fmt: skip
            assert await own.sms.wait_held(2, WAIT_S), own.sms.held
            await eventually(
                lambda: asyncio.sleep(0, {reset_account.email, new_address} <= set(mail_gate.held_to)
                                      and any(a in mail_gate.held_to for a in (kept.email, other.email))),
                "the reset, the change and the merge's emails held",
            )  # fmt: skip
            own.kill_worker()
            # The held messages are refused, never stored nor sent; the later ones go through.
        own.sms.release()
        answers = await asyncio.gather(*pending, return_exceptions=True)
        own.start_worker()

        # Each message exactly once, after the activities' start-to-close timeout.
        [reg_sms] = await sms_to(outbox, reg.guardian["mobile"], 1)
        [fc_sms] = await sms_to(outbox, fc_guardian["mobile"], 1)
        [reset_mail] = await mails_to(mailbox, reset_account.email, 1)
        [change_mail] = await mails_to(mailbox, new_address, 1)
        await mails_to(mailbox, kept.email, 1)
        await mails_to(mailbox, other.email, 1)

        # Every process then completes.
        if reg.rid is None:  # its answer was lost with the worker: the status knows the id
            pytest.fail(f"registration not answered: {answers[0]!r}")
        reg_identifier = await finish_registration(reg, code_in(reg_sms))
        coded = await fc_http.post(f"{fc_link}/code", json={"code": code_in(fc_sms)})
        assert coded.status_code == 200 and coded.json()["step"] == "awaiting_birthdate", coded.text
        linked = await fc_http.post(
            f"{fc_link}/birthdate",
            json={"child_birthdate": fc_children[0]["birthdate"].isoformat()},
        )
        assert linked.status_code == 200, linked.text
        await reset_by_link(reset_http, reset_mail, CHANGED_PASSWORD)
        await signed_in(reset_http, reset_account.identifier, CHANGED_PASSWORD)
        await validate_address(change_http, change_mail)
        merged = await eventually(
            lambda: own.pool.fetchval("SELECT state = 'merged' FROM accounts WHERE id = $1", other.account_id),
            "the other account merged",
        )  # fmt: skip
        assert merged
        await approve(own, scene, request_id)
        status = await eventually(
            lambda: _activation_step(family_http, "profile"), "the activation resumed"
        )
        assert status["attempts_left"] == 3

    # Exact counts: one account each, nothing duplicated.
    assert (
        await own.pool.fetchval(
            "SELECT count(*) FROM accounts WHERE guardian_id = $1", reg.guardian["id"]
        )
        == 1
    )
    assert (
        await own.pool.fetchval("SELECT state FROM accounts WHERE identifier = $1", reg_identifier)
        == "active"
    )
    assert (
        await own.pool.fetchval(
            "SELECT count(*) FROM accounts WHERE guardian_id = $1 AND state = 'active'",
            fc_guardian["id"],
        )
        == 1
    )
    assert (
        await own.pool.fetchval(
            "SELECT email FROM accounts WHERE id = $1", change_account.account_id
        )
        == new_address
    )
    for number in (reg.guardian["mobile"], fc_guardian["mobile"]):
        # The try that died with the worker may have reached the gateway: it counts.
        assert 1 <= await sms_counted(own.pool, number) <= 2
    assert [m.subject for m in mailbox.to(reset_account.email)] == [RESET_SUBJECT, CHANGED_SUBJECT]
    print(
        "answers of the requests in flight at the kill:",
        [getattr(a, "status_code", repr(a)) for a in answers],
    )


async def _activation_step(http: httpx.AsyncClient, step: str):
    status = await http.get("/activation")
    return status.json() if status.status_code == 200 and status.json()["step"] == step else None


# --- SMTP down, the SMS gateway failing ---------------------------------------------------------


async def family_at_domain(pool, tag: str, name: str) -> Family:
    family = await make_family(pool)
    family.email = f"{name}.{tag}@out-{tag}.example.fr"
    return family


async def activation_started(http: httpx.AsyncClient, family: Family) -> httpx.Response:
    """Sign-in and "Gérer mon compte": the activation sends its link (the answer
    may come once the link is out, or say it is on its way)."""
    return await submit_activation_profile(http, family, CHANGED_PASSWORD)


async def test_smtp_down_during_activations_an_email_change_and_a_reset(
    own: OwnStack, smtp_sink, mailbox: Mailbox
):
    """The mail server refuses everything ("451") for a few seconds while three
    activations, an email change and a password reset send their links: once it
    is back, each link arrives exactly once and works."""
    tag = uuid.uuid4().hex[:8]
    families = [await family_at_domain(own.pool, tag, f"activation{i}") for i in range(3)]
    reset_account = await account_at(own.pool, tag, "reset")
    change_account = await account_at(own.pool, tag, "change")
    new_address = f"nouvelle.{tag}@out-{tag}.example.fr"
    async with browsers(own, 5) as clients:
        *family_https, reset_http, change_http = clients
        await signed_in(change_http, change_account.identifier, change_account.password)
        with Down(smtp_sink, f"out-{tag}.example.fr") as down:
            pending = [
                *(in_background(activation_started(h, f)) for h, f in zip(family_https, families, strict=True)),
                in_background(reset_http.post("/recovery/password/email", json={
                    "identifier": reset_account.identifier, "email": reset_account.email})),
                in_background(change_http.post("/account/email", json={
                    "email": new_address, "email_confirmation": new_address})),
            ]  # fmt: skip
            # Every send refused at least twice (a first try and a retry), then a few seconds more.
            await eventually(lambda: asyncio.sleep(0, down.refused >= 10), "the sends refused")
            await asyncio.sleep(3)
        answers = await asyncio.gather(*pending)
        assert all(a.status_code < 500 or a.status_code == 503 for a in answers), answers

        for family, http in zip(families, family_https, strict=True):
            [mail] = await mails_to(mailbox, family.email, 1)
            await click(http, mail)
        [reset_mail] = await mails_to(mailbox, reset_account.email, 1)
        await reset_by_link(reset_http, reset_mail, CHANGED_PASSWORD)
        await signed_in(reset_http, reset_account.identifier, CHANGED_PASSWORD)
        [change_mail] = await mails_to(mailbox, new_address, 1)
        await validate_address(change_http, change_mail)
    assert await states(own.pool, [f.account_id for f in families]) == {"active": 3}
    assert (
        await own.pool.fetchval(
            "SELECT email FROM accounts WHERE id = $1", change_account.account_id
        )
        == new_address
    )
    assert down.refused >= 10
    print(f"SMTP down: {down.refused} sends refused, each link then delivered once")


async def test_sms_gateway_failing_then_back(own: OwnStack, sms_gateway):
    """The SMS gateway answers 500 for a few seconds while two registrations
    send their codes: each code arrives once, and the numbers' daily caps count
    the one SMS really sent, not the refused tries."""
    assert own.sms is not None
    outbox = SmsOutbox(sms_gateway.outbox_path)
    found = await demo_guardians_without_account(own.pool, 2)
    async with own.http() as first, own.http() as second:
        regs = [registration(f, h) for f, h in zip(found, (first, second), strict=True)]
        refused_before = own.sms.refused
        own.sms.failing = True
        try:
            pending = [in_background(post_registration(reg)) for reg in regs]
            await eventually(
                lambda: asyncio.sleep(0, own.sms.refused - refused_before >= 6),
                "each code refused at least three times",
            )
        finally:
            own.sms.failing = False
        await asyncio.gather(*pending)
        codes = [code_in((await sms_to(outbox, reg.guardian["mobile"], 1))[0]) for reg in regs]
        for reg in regs:
            assert await sms_counted(own.pool, reg.guardian["mobile"]) == 1
        identifier = await finish_registration(regs[0], codes[0])
    assert (
        await own.pool.fetchval("SELECT state FROM accounts WHERE identifier = $1", identifier)
        == "active"
    )


# --- PostgreSQL stopped -------------------------------------------------------------------------


async def test_postgresql_stopped_during_activations(
    own: OwnStack, pg_server, smtp_sink, mailbox: Mailbox
):
    """Three activations have their links in flight when PostgreSQL stops: the
    API answers French 503s meanwhile; once it is back each link arrives
    exactly once, and each activation completes, no account twice."""
    tag = uuid.uuid4().hex[:8]
    families = [await family_at_domain(own.pool, tag, f"pg{i}") for i in range(3)]
    async with browsers(own, len(families)) as clients:
        with HoldAfter(smtp_sink, f"out-{tag}.example.fr", taken=0) as gate:
            pending = [
                in_background(activation_started(h, f))
                for h, f in zip(clients, families, strict=True)
            ]
            await eventually(lambda: asyncio.sleep(0, gate.held >= 3), "the three links in flight")
            await stop_postgresql(pg_server)
            try:
                async with own.http() as http:
                    ready = await http.get("/health/ready")
                    assert (
                        ready.status_code == 503
                        and ready.json()["dependencies"]["postgresql"]["ok"] is False
                    )
                    assert_french_503(
                        await http.post(
                            "/sign-in",
                            json={
                                "identifier": families[0].identifier,
                                "password": families[0].provisional_password,
                            },
                        )
                    )
                    assert_french_503(await clients[0].get("/activation"))
                    assert_french_503(
                        await http.post(
                            "/recovery/identifier/email", json={"email": families[0].email}
                        )
                    )
                    assert_french_503(
                        await http.post("/activation/confirmation", data={"jeton": "x" * 43})
                    )
                gate.release()  # the held messages refused: the retries meet the database down
                await asyncio.sleep(3)
            finally:
                await start_postgresql(pg_server)
        await asyncio.gather(*pending)
        for family, http in zip(families, clients, strict=True):
            [mail] = await mails_to(mailbox, family.email, 1)
            await click(http, mail)
    assert await states(own.pool, [f.account_id for f in families]) == {"active": 3}
    assert (
        await own.pool.fetchval(
            "SELECT count(*) FROM accounts WHERE guardian_id = ANY($1)",
            [f.guardian_id for f in families],
        )
        == 3
    )


async def test_postgresql_stopped_during_a_school_import(own: OwnStack, pg_server, smtp_sink):
    """A school's import has notifications in flight (held by the SMTP sink,
    the ones before them stored and committed) when PostgreSQL stops; started
    again, the import completes: every record and account once, every
    notification email once."""
    uai = await make_school(own.pool, kind="lycee")
    tag = uuid.uuid4().hex[:8]
    domain = f"import-{tag}.example.fr"
    login, password = f"proviseur.{tag}@ac-lyon.example.fr", f"Rentree-{tag}-Fort!9"
    await create_staff_account(
        own.pool, login=login, email=login, display_name="Proviseure Essai",
        role=StaffRole.SCHOOL_ADMIN, password=password, uai=uai, academie="Lyon",
    )  # fmt: skip
    rows = generate_export(IMPORT_PUPILS, seed=int(tag[:6], 16), kind="lycee", email_domain=domain)
    lycee = Lycee(uai, domain, rows, login, password, [])
    async with staff_client(own, lycee) as http:
        with HoldAfter(smtp_sink, domain, taken=IMPORT_TAKEN) as gate:
            import_id = await upload(http, lycee, to_csv(rows), "rentree.csv")
            assert await gate.wait_holding(WAIT_S), "no notification held"
            await eventually(
                lambda: own.pool.fetchval(
                    "SELECT count(*) = $2 FROM provisioning_notifications WHERE import_id = $1 "
                    "AND channel = 'email'",
                    uuid.UUID(import_id),
                    gate.passed,
                ),
                "the stored notifications committed",
            )
            await stop_postgresql(pg_server)
            try:
                assert_french_503(await http.get(f"/staff/provisioning/{uai}/imports"))
                gate.release()  # the held ones refused: the batch fails, retried later
                await asyncio.sleep(3)
            finally:
                await start_postgresql(pg_server)
        done = await wait_done(http, lycee, import_id)

    guardians = expected_guardian_records(rows)
    counts = done["counts"]
    assert (counts["pupils_created"], counts["pupil_accounts_created"]) == (IMPORT_PUPILS,) * 2
    assert counts["guardian_accounts_created"] == guardians
    assert (
        await own.pool.fetchval("SELECT count(*) FROM pupils WHERE uai = $1", uai) == IMPORT_PUPILS
    )
    addresses = {g.email for r in rows for g in r.guardians if g.email}
    notified = Counter(
        to for to, subject, _ in parsed(stored_to(smtp_sink.folder, domain)) if subject == NOTIFICATION_SUBJECT
    )  # fmt: skip
    assert set(notified) == addresses and set(notified.values()) == {1}
    assert counts["emails_sent"] == len(addresses)


# --- Temporal killed and started again ----------------------------------------------------------


async def test_temporal_killed_while_processes_wait(own: OwnStack, sms_gateway, mailbox: Mailbox):
    """An activation waits for its click, an SMS registration for its code, a
    correction for the school, when the Temporal server is SIGKILLed: the API
    answers French 503s; started again on its file, each process completes."""
    assert own.temporal_server is not None
    outbox = SmsOutbox(sms_gateway.outbox_path)
    family = await make_family(own.pool)
    scene = await school_scene(own.pool)
    [found] = await demo_guardians_without_account(own.pool, 1)
    async with own.http() as activation_http, own.http() as reg_http, own.http() as family_http:
        await activation_awaiting_the_click(activation_http, family, CHANGED_PASSWORD)
        [link_mail] = await mails_to(mailbox, family.email, 1)
        reg = registration(found, reg_http)
        await post_registration(reg)
        [sms] = await sms_to(outbox, reg.guardian["mobile"], 1)
        request_id = await blocked_and_filed(family_http, scene.family, scene.children[0]["id"])

        own.temporal_server.kill()
        try:
            ready = await activation_http.get("/health/ready")
            assert (
                ready.status_code == 503 and ready.json()["dependencies"]["temporal"]["ok"] is False
            )
            assert_french_503(await activation_http.get("/activation"))
            assert_french_503(
                await activation_http.post(
                    "/activation/confirmation", data={"jeton": token_of(link_in(link_mail))}
                )
            )
            assert_french_503(
                await reg_http.post(f"/registration/{reg.rid}/code", json={"code": code_in(sms)})
            )
            assert_french_503(await family_http.get("/activation"))
        finally:
            await own.temporal_server.start()
        await wait_for_http(f"{own.api_url}/health/ready", 60)

        await click(activation_http, link_mail)
        identifier = await finish_registration(reg, code_in(sms))
        await approve(own, scene, request_id)
        await eventually(lambda: _activation_step(family_http, "profile"), "the activation resumed")
    assert own.worker is not None and own.worker.alive(), "the worker did not survive the outage"
    assert await states(own.pool, [family.account_id]) == {"active": 1}
    assert (
        await own.pool.fetchval("SELECT state FROM accounts WHERE identifier = $1", identifier)
        == "active"
    )
    assert len(outbox.to(reg.guardian["mobile"])) == 1
