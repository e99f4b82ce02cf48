"""School provisioning end to end on the dev server: real worker and API
processes, real PostgreSQL, real SMTP, realistic Argon2id cost (the settings'
defaults: t=2, m=19 MiB, p=1; nothing lowered for this test).

A new lycée's staff import a generated file of 2,000 pupils (about 4,100
accounts: every pupil, every guardian), a guardian activates the account of
the notification email; the same file imported again creates and sends
nothing; the worker is SIGKILLed midway through a second import (a changed
file: new families, class changes) and the import finishes with no duplicate
record, account or email.

About the kill: an email is sent inside the transaction that creates the
account, so a crash before the commit leaves nothing (the retry creates the
account and sends once). The one window no SMTP client can close is "the SMTP
server stored the message, the commit has not happened yet" (a few
milliseconds a message): a crash exactly there sends the email again, with a
new password. So the kill point is made deterministic by the SMTP sink: it
takes the first 40 notifications of the new families, then holds every later
one unanswered; once every stored message is committed, the worker is
SIGKILLed with its batch half done and messages in flight (held, never
stored); the sink then refuses them ("451") and takes everything again.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections import Counter
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from educonnect.devtools.school_export import ExportRow, Guardian, changed, generate_export, to_csv
from educonnect.models.corrections import StaffRole
from educonnect.search_attributes import ROWS_DONE, ROWS_TOTAL
from educonnect.staff import create_staff_account
from tests.e2e.test_activation_e2e import sign_in_and_fill_profile
from tests.support.mail import NOTIFICATION_SUBJECT, provisional_credentials, token_of
from tests.support.schools import expected_guardian_records
from tests.support.smtp_gate import HoldAfter

pytestmark = pytest.mark.asyncio(loop_scope="session")

N_PUPILS = 2000
KILL_AFTER_EMAILS = 40  # notifications of the second import stored before the kill
IMPORT_TIMEOUT_S = float(os.environ.get("PROVISIONING_E2E_TIMEOUT_S", "900"))  # per import
NEW_PASSWORD = "Rentree2026x"


@dataclass
class Lycee:
    uai: str
    domain: str
    rows: list[ExportRow]
    login: str
    password: str
    import_ids: list[str]
    activated: tuple[str, str] | None = None  # (identifier, email) of the guardian who activated


# --- reading the shared SMTP sink fast (it holds thousands of messages here) ---


def _message_files(folder: Path) -> list[Path]:
    return [
        p for sub in ("new", "cur") if (folder / sub).is_dir() for p in (folder / sub).iterdir()
    ]


def stored_to(folder: Path, domain: str) -> list[Path]:
    """Files of the messages whose envelope recipient is at `domain` (the sink
    writes "X-RcptTo: ..." as the second line)."""
    needle = f"@{domain}".encode()
    found = []
    for path in _message_files(folder):
        try:
            with path.open("rb") as f:
                head = f.read(512)
        except FileNotFoundError:
            continue
        rcpt = head.split(b"\n", 2)[1] if head.count(b"\n") >= 2 else b""
        if needle in rcpt:
            found.append(path)
    return found


def parsed(paths: list[Path]):
    import email
    import email.policy

    out = []
    for path in paths:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        out.append((str(msg["To"]), str(msg["Subject"]), msg.get_body(("plain",)).get_content()))
    return out


# --- fixtures and helpers -------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def lycee(stack, smtp_sink):
    tag = uuid.uuid4().hex[:8]
    uai = f"069{int(tag[:4], 16) % 10_000:04d}"
    uai += "ABCDEFGHJKLMNPRSTUVWXYZ"[int(uai) % 23]
    await stack.pool.execute(
        "DELETE FROM schools WHERE uai = $1 AND NOT EXISTS (SELECT 1 FROM pupils WHERE uai = $1)",
        uai,
    )
    await stack.pool.execute(
        "INSERT INTO schools (uai, name, kind, degree, academie, city) VALUES ($1, $2, 'lycee', 2, 'Lyon', 'Lyon')",
        uai,
        f"Lycée de la Rentrée {tag}",
    )
    domain = f"rentree-{tag}.example.fr"
    login, password = f"proviseur.{tag}@ac-lyon.example.fr", f"Rentree-{tag}-Fort!9"
    await create_staff_account(
        stack.pool, login=login, email=login, display_name="Proviseure Essai", role=StaffRole.SCHOOL_ADMIN,
        password=password, uai=uai, academie="Lyon",
    )  # fmt: skip
    rows = generate_export(N_PUPILS, seed=int(tag[:6], 16), kind="lycee", email_domain=domain)
    yield Lycee(uai, domain, rows, login, password, [])
    # Keep the shared mailbox small for the tests that read it after this module.
    for path in [
        p
        for d in (domain, "new." + domain, "ecole." + domain)
        for p in stored_to(smtp_sink.folder, d)
    ]:
        path.unlink(missing_ok=True)


@asynccontextmanager
async def staff_client(stack, lycee: Lycee):
    async with stack.http() as http:
        signed = await http.post(
            "/staff/sign-in", json={"login": lycee.login, "password": lycee.password}
        )
        assert signed.status_code == 200, signed.text
        yield http


async def upload(http: httpx.AsyncClient, lycee: Lycee, content: bytes, filename: str) -> str:
    started = await http.post(
        f"/staff/provisioning/{lycee.uai}/imports",
        files={"fichier": (filename, content, "text/csv")},
    )
    assert started.status_code == 202, started.text
    import_id = started.json()["import_id"]
    lycee.import_ids.append(import_id)
    return import_id


async def wait_done(
    http: httpx.AsyncClient, lycee: Lycee, import_id: str, seen: list | None = None
) -> dict:
    deadline = time.monotonic() + IMPORT_TIMEOUT_S
    while time.monotonic() < deadline:
        status = await http.get(f"/staff/provisioning/{lycee.uai}/imports/{import_id}")
        if status.status_code == 200:
            body = status.json()
            if seen is not None:
                seen.append(body)
            if body["step"] == "done":
                return body
        await asyncio.sleep(0.5)
    raise AssertionError(f"import {import_id} not finished after {IMPORT_TIMEOUT_S} s")


def guardians_of(rows: list[ExportRow]) -> set[tuple]:
    return {(g.last_name, g.first_name, g.mobile, g.email) for r in rows for g in r.guardians}


# --- the tests --------------------------------------------------------------------


async def test_import_of_2000_pupils_then_a_guardian_activates(stack, lycee: Lycee, smtp_sink):
    started_at = time.monotonic()
    async with staff_client(stack, lycee) as http:
        import_id = await upload(http, lycee, to_csv(lycee.rows), "rentree-2026.csv")
        seen: list[dict] = []
        status = await wait_done(http, lycee, import_id, seen)
    elapsed = time.monotonic() - started_at

    guardians = expected_guardian_records(lycee.rows)
    c = status["counts"]
    assert (
        status["rows_total"],
        status["rows_valid"],
        status["rows_invalid"],
        status["rows_done"],
    ) == (2000,) * 2 + (0, 2000)
    assert c["pupils_created"] == 2000 and c["pupil_accounts_created"] == 2000
    assert c["guardian_accounts_created"] == guardians
    with_email = {g[3] for g in guardians_of(lycee.rows) if g[3]}
    assert c["emails_sent"] == len(with_email)
    assert c["letters_created"] == 2000 + guardians - len(with_email)
    # Progress was visible while it ran (status query, then the search attributes).
    assert any(0 < s["rows_done"] < 2000 or 0 < s["records_done"] < 2000 for s in seen), seen[:3]
    assert status["runs"] >= 2  # 20 batches of 200 per phase: continued as new
    handle = stack.temporal.get_workflow_handle(f"provisioning/{lycee.uai}/{import_id}")
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(ROWS_DONE) == 2000 and attributes.get(ROWS_TOTAL) == 2000

    messages = parsed(stored_to(smtp_sink.folder, lycee.domain))
    notifications = [m for m in messages if m[1] == NOTIFICATION_SUBJECT]
    assert sorted(to for to, _, _ in notifications) == sorted(with_email)  # one each
    print(f"\nimport of 2,000 pupils: {c['guardian_accounts_created'] + c['pupil_accounts_created']} accounts "
          f"in {elapsed:.0f} s")  # fmt: skip

    # A guardian reads the notification and activates the account.
    to, _, text = notifications[0]
    identifier, password = provisional_credentials(text)
    birthdate = await stack.pool.fetchval(
        "SELECT p.birthdate FROM accounts a JOIN guardian_pupils gp ON gp.guardian_id = a.guardian_id "
        "JOIN pupils p ON p.id = gp.pupil_id WHERE a.identifier = $1 LIMIT 1",
        identifier,
    )
    async with stack.http() as http:
        await sign_in_and_fill_profile(http, identifier, password, birthdate, NEW_PASSWORD, to)
        confirmation = None
        for _ in range(100):
            later = [
                m
                for m in parsed(stored_to(smtp_sink.folder, lycee.domain))
                if m[0] == to and m[1] != NOTIFICATION_SUBJECT
            ]
            if later:
                confirmation = later[0]
                break
            await asyncio.sleep(0.2)
        assert confirmation is not None, "no confirmation email"
        link = re.search(r"https?://\S+jeton=[A-Za-z0-9_\-]+", confirmation[2]).group(0)
        done = await http.post("/activation/confirmation", data={"jeton": token_of(link)})
        assert done.status_code == 200 and "Compte activé" in done.text
        signed = await http.post(
            "/sign-in", json={"identifier": identifier, "password": NEW_PASSWORD}
        )
        assert signed.status_code == 200 and signed.json()["status"] == "signed_in"
    lycee.activated = (identifier, to)

    # Nothing secret in the import's histories.
    history = await handle.fetch_history()
    raw = history.to_json()
    assert password not in raw and "$argon2" not in raw


async def test_the_same_file_again_creates_and_sends_nothing(stack, lycee: Lycee, smtp_sink):
    assert lycee.import_ids, "runs after the first import"
    before_messages = len(stored_to(smtp_sink.folder, lycee.domain))
    before_accounts = await stack.pool.fetchval("SELECT count(*) FROM accounts")
    async with staff_client(stack, lycee) as http:
        import_id = await upload(http, lycee, to_csv(lycee.rows), "rentree-2026-bis.csv")
        status = await wait_done(http, lycee, import_id)
    c = status["counts"]
    assert (c["pupils_created"], c["pupils_updated"], c["pupils_unchanged"]) == (0, 0, 2000)
    assert (
        c["guardian_accounts_created"],
        c["pupil_accounts_created"],
        c["emails_sent"],
        c["letters_created"],
    ) == (0, 0, 0, 0)
    assert c["existing_accounts_attached"] == expected_guardian_records(lycee.rows)
    assert await stack.pool.fetchval("SELECT count(*) FROM accounts") == before_accounts
    await asyncio.sleep(1)
    assert len(stored_to(smtp_sink.folder, lycee.domain)) == before_messages


async def test_worker_killed_midway_through_a_changed_import(stack, lycee: Lycee, smtp_sink):
    assert lycee.import_ids, "runs after the first import"
    new_domain = "new." + lycee.domain
    next_rows = changed(
        lycee.rows,
        seed=99,
        new_pupils=150,
        class_changes=100,
        kind="lycee",
        email_domain=new_domain,
    )
    arrivals = next_rows[N_PUPILS:]
    new_guardian_records = expected_guardian_records(arrivals)
    new_addresses = {g[3] for g in guardians_of(arrivals) if g[3]}
    total_new = new_guardian_records + len(arrivals)
    accounts_before = await stack.pool.fetchval("SELECT count(*) FROM accounts")
    guardians_before = await stack.pool.fetchval("SELECT count(*) FROM guardians")

    async with staff_client(stack, lycee) as http:
        with HoldAfter(smtp_sink, new_domain, taken=KILL_AFTER_EMAILS) as gate:
            import_id = await upload(http, lycee, to_csv(next_rows), "rentree-2026-modifie.csv")
            assert await gate.wait_holding(IMPORT_TIMEOUT_S), (
                "no notification held: the import never got that far"
            )
            # Every stored message committed (the others wait in the sink): kill.
            emails_committed = -1
            for _ in range(600):
                emails_committed = await stack.pool.fetchval(
                    "SELECT count(*) FROM provisioning_notifications WHERE import_id = $1 AND channel = 'email'",
                    uuid.UUID(import_id),
                )
                if emails_committed == gate.passed:
                    break
                await asyncio.sleep(0.05)
            assert emails_committed == gate.passed == KILL_AFTER_EMAILS
            stack.kill_worker()
            delivered = await stack.pool.fetchval(
                "SELECT count(*) FROM provisioning_notifications WHERE import_id = $1 AND delivered_at IS NOT NULL",
                uuid.UUID(import_id),
            )
            assert (
                0 < delivered < total_new and gate.held >= 1
            )  # killed mid-batch, with emails in flight
            status = (
                await http.get(f"/staff/provisioning/{lycee.uai}/imports/{import_id}")
            ).status_code
            assert status in (200, 503)  # no worker to answer the query: a clean 503, never a 500
        # The sink refused what it held and takes everything again; a new worker takes over.
        stack.start_worker()
        done = await wait_done(http, lycee, import_id)

    c = done["counts"]
    assert (c["pupils_created"], c["pupils_updated"], c["pupils_unchanged"]) == (150, 100, 1900)
    assert (
        c["pupil_accounts_created"] == 150
        and c["guardian_accounts_created"] == new_guardian_records
    )
    # No duplicate record or account: exactly the new ones, each new pupil with its own guardians.
    assert (
        await stack.pool.fetchval("SELECT count(*) FROM guardians")
        == guardians_before + new_guardian_records
    )
    assert await stack.pool.fetchval("SELECT count(*) FROM accounts") == accounts_before + total_new
    assert (
        await stack.pool.fetchval("SELECT count(*) FROM pupils WHERE uai = $1", lycee.uai) == 2150
    )
    linked = await stack.pool.fetch(
        """
        SELECT p.external_id, count(gp.guardian_id) AS guardians, count(DISTINCT a.id) AS accounts
        FROM pupils p
        LEFT JOIN guardian_pupils gp ON gp.pupil_id = p.id
        LEFT JOIN accounts a ON a.guardian_id = gp.guardian_id
        WHERE p.uai = $1 AND p.external_id = ANY($2::text[])
        GROUP BY p.external_id
        """,
        lycee.uai,
        [r.external_id for r in arrivals],
    )
    assert {r["external_id"]: (r["guardians"], r["accounts"]) for r in linked} == {
        r.external_id: (len(r.guardians), len(r.guardians)) for r in arrivals
    }
    # No duplicate email: exactly one notification per new address, none to the others.
    notified = Counter(
        to
        for to, subject, _ in parsed(stored_to(smtp_sink.folder, new_domain))
        if subject == NOTIFICATION_SUBJECT
    )
    assert set(notified) == new_addresses and set(notified.values()) == {1}
    assert c["emails_sent"] == len(new_addresses) and c["letters_created"] == total_new - len(
        new_addresses
    )


async def test_merge_the_account_an_ecole_made_and_see_every_child(stack, lycee: Lycee, smtp_sink):
    """FAQ 12: the école, which had another email address for the same parent,
    made a second account; signed in with the first one, the parent merges
    the second and sees all the children on the portal."""
    assert lycee.activated, "runs after the activation"
    identifier, email = lycee.activated
    parent = next(g for r in lycee.rows for g in r.guardians if g.email == email)
    tag = uuid.uuid4().hex[:6]
    ecole = f"069{int(tag[:4], 16) % 10_000:04d}"
    ecole += "ABCDEFGHJKLMNPRSTUVWXYZ"[int(ecole) % 23]
    await stack.pool.execute(
        "INSERT INTO schools (uai, name, kind, degree, academie, city) VALUES ($1, $2, 'ecole', 1, 'Lyon', 'Lyon') "
        "ON CONFLICT DO NOTHING",
        ecole,
        f"École de la Rentrée {tag}",
    )
    login, password = f"directeur.{tag}@ac-lyon.example.fr", f"Ecole-{tag}-Fort!9"
    await create_staff_account(stack.pool, login=login, email=login, display_name="Directrice", role=StaffRole.SCHOOL_ADMIN,
                               password=password, uai=ecole, academie="Lyon")  # fmt: skip
    other_email = f"{tag}@ecole.{lycee.domain}"
    little = ExportRow(f"E{tag.upper()}", parent.last_name, "Petitefleur", date(2019, 5, 4), "CP A", "CP",
                       (Guardian(parent.last_name.upper(), parent.first_name, "", other_email),))  # fmt: skip
    async with stack.http() as http:
        assert (
            await http.post("/staff/sign-in", json={"login": login, "password": password})
        ).status_code == 200
        started = await http.post(
            f"/staff/provisioning/{ecole}/imports",
            files={"fichier": ("ecole.csv", to_csv([little]), "text/csv")},
        )
        assert started.status_code == 202, started.text
        status = await wait_done(
            http, Lycee(ecole, "", [], "", "", []), started.json()["import_id"]
        )
        assert (
            status["counts"]["guardian_accounts_created"] == 1
        )  # another email: not recognised, a second account
    [(_, _, text)] = parsed(stored_to(smtp_sink.folder, "ecole." + lycee.domain))
    other_identifier, other_password = provisional_credentials(text)

    async with stack.http() as http:
        signed = await http.post(
            "/sign-in", json={"identifier": identifier, "password": NEW_PASSWORD}
        )
        assert signed.json()["status"] == "signed_in"
        before = [c["first_name"] for c in (await http.get("/portal")).json()["children"]]
        assert "Petitefleur" not in before
        merged = await http.post(
            "/account/merge", json={"identifier": other_identifier, "password": other_password}
        )
        assert merged.status_code == 200, merged.text
        assert merged.json()["children_moved"] == 1
        after = [c["first_name"] for c in (await http.get("/portal")).json()["children"]]
        assert sorted(after) == sorted(before + ["Petitefleur"])
        closed = await http.post(
            "/sign-in", json={"identifier": other_identifier, "password": other_password}
        )
        assert closed.status_code == 403 and closed.json()["code"] == "account_merged"
        assert identifier in closed.json()["message"]
    told = [
        m
        for m in parsed(stored_to(smtp_sink.folder, "ecole." + lycee.domain))
        if m[1] != NOTIFICATION_SUBJECT
    ]
    assert [subject for _, subject, _ in told] == ["Regroupement de vos comptes EduConnect"]


async def test_provisioning_histories_replay(stack, lycee: Lycee):
    """The histories of the three imports (the killed one included) replay on
    the current workflow code."""
    from temporalio.worker import Replayer

    from educonnect.temporal import data_converter
    from workflows import ALL_WORKFLOWS

    assert len(lycee.import_ids) == 3
    replayer = Replayer(workflows=ALL_WORKFLOWS, data_converter=data_converter())
    histories = []
    async for execution in stack.temporal.list_workflows(
        f"WorkflowType = 'SchoolProvisioning' AND EduSchoolUai = '{lycee.uai}'"
    ):
        histories.append(
            await stack.temporal.get_workflow_handle(
                execution.id, run_id=execution.run_id
            ).fetch_history()
        )
    assert len(histories) >= 6  # every import continued as new at least once
    for history in histories:
        await replayer.replay_workflow(history)
