"""Demo data: deterministic generation, and seeding a fresh database with real
provisioned accounts and real notification emails (SMTP server on loopback)."""

from __future__ import annotations

import email
import email.policy
import os
import re
import socket
import threading
import uuid
from collections import Counter
from datetime import date

import argon2
import asyncpg
import phonenumbers
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller

from educonnect import db
from educonnect.devtools.demo_data import (
    ALL_LEVELS,
    LEVELS_COLLEGE,
    LEVELS_ECOLE,
    LEVELS_LYCEE,
    generate,
    seed,
)
from educonnect.emails.provisioning import account_notification
from educonnect.passwords import check_password_policy
from educonnect.provisioning import provision_guardian_account, provision_pupil_account
from educonnect.settings import get_settings

IDENTIFIER = re.compile(r"^[a-z]\.[a-z]+[0-9]*$")
UAI = re.compile(r"^[0-9]{7}[A-Z]$")
SMALL = 40


# --------------------------------------------------------------------------
# generate(): pure


def test_generate_is_deterministic():
    a = generate(2026, 120)
    b = generate(2026, 120)
    c = generate(2027, 120)
    assert a == b
    assert a.guardian_accounts == b.guardian_accounts
    assert a != c
    assert {p.id for p in a.pupils}.isdisjoint({p.id for p in c.pupils})
    assert [acc.provisional_password for acc in a.guardian_accounts] != [
        acc.provisional_password for acc in c.guardian_accounts
    ]


def test_generate_contents():
    data = generate(get_settings().demo_seed, 300)
    assert data.academie == "Lyon"
    kinds = Counter(s.kind for s in data.schools)
    assert kinds["ecole"] >= 1 and kinds["college"] >= 1 and kinds["lycee"] >= 1
    assert {s.degree for s in data.schools} == {1, 2}
    for s in data.schools:
        assert UAI.match(s.uai), s.uai
        assert s.degree == (1 if s.kind == "ecole" else 2)
        assert s.academie == "Lyon" and s.city
    assert len({s.uai for s in data.schools}) == len(data.schools)

    assert len(data.pupils) >= 250
    assert len({p.id for p in data.pupils}) == len(data.pupils)
    levels_of = {"ecole": LEVELS_ECOLE, "college": LEVELS_COLLEGE, "lycee": LEVELS_LYCEE}
    for p in data.pupils:
        school = data.school(p.uai)
        assert p.level in levels_of[school.kind]
        assert p.class_name.startswith(p.level)
        # School year 2026-2027: a CP pupil is born in 2020 (a year earlier if held back).
        expected_year = 2020 - ALL_LEVELS.index(p.level)
        assert p.birthdate.year in (expected_year, expected_year - 1), p

    # Siblings in different schools.
    spread = [f for f in data.families if len({data.pupil(p).uai for p in f.pupil_ids}) > 1]
    assert spread
    # Every pupil has one or two guardians, all linked.
    linked = Counter(pupil_id for _, pupil_id in data.links)
    assert set(linked) == {p.id for p in data.pupils}
    assert set(linked.values()) <= {1, 2}

    without_email = [g for g in data.guardians if not g.email]
    assert 0.05 * len(data.guardians) <= len(without_email) <= 0.3 * len(data.guardians)
    assert any(not g.mobile for g in data.guardians)
    emails = [g.email for g in data.guardians if g.email]
    assert len(set(emails)) == len(emails)
    for address in emails:
        assert re.fullmatch(r"[a-z0-9-]+\.[a-z0-9-]+[0-9]*@example\.fr", address), address
    for g in data.guardians:
        if g.mobile:
            assert re.fullmatch(r"\+33[67][0-9]{8}", g.mobile)
            number = phonenumbers.parse(g.mobile)
            assert phonenumbers.is_valid_number(number), g.mobile
            assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE

    # Accounts: guardians with email of collège families, one without email, pupils.
    college = data.college
    with_email = [a for a in data.guardian_accounts if data.guardian(a.owner_id).email]
    no_email = [a for a in data.guardian_accounts if not data.guardian(a.owner_id).email]
    assert len(no_email) == 1
    for a in with_email:
        assert any(c.uai == college.uai for c in data.children_of(a.owner_id))
    assert len(data.pupil_accounts) == 10
    for a in data.pupil_accounts:
        assert data.school(data.pupil(a.owner_id).uai).degree == 2
    assert 60 <= len(data.guardian_accounts) + len(data.pupil_accounts) <= 130
    for a in data.guardian_accounts + data.pupil_accounts:
        assert check_password_policy(a.provisional_password) == []
        assert len(a.provisional_password) == 10


def test_notification_template_is_french():
    mail = account_notification(
        to="marie.dupont@example.fr",
        guardian_first_name="Marie",
        guardian_last_name="Dupont",
        identifier="m.dupont",
        provisional_password="Ab3dEf7hJk",
        children=[
            ("Léa", "Dupont", "Collège Jean Jaurès"),
            ("Hugo", "Dupont", "École élémentaire Jean Moulin"),
        ],
        valid_until=date(2027, 2, 28),
        activation_url="http://127.0.0.1:8000/",
    )
    assert mail.subject == "Vos identifiants EduConnect"
    for expected in (
        "m.dupont",
        "Ab3dEf7hJk",
        "Léa Dupont (Collège Jean Jaurès)",
        "Hugo Dupont",
        "28/02/2027",
        "3 mois",
        "« Gérer mon compte »",
        "« Activer votre compte »",
        "http://127.0.0.1:8000/",
    ):
        assert expected in mail.text


# --------------------------------------------------------------------------
# seed(): real PostgreSQL, real SMTP on loopback


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Collector:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        with self._lock:
            self.messages.append(msg)
        return "250 OK"


@pytest.fixture
def smtp_sink():
    """A real SMTP server on loopback; SMTP_URL points at it during the test."""
    collector = _Collector()
    port = _free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    old = os.environ.get("SMTP_URL")
    os.environ["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    get_settings.cache_clear()
    try:
        yield collector
    finally:
        controller.stop()
        if old is None:
            os.environ.pop("SMTP_URL", None)
        else:
            os.environ["SMTP_URL"] = old
        get_settings.cache_clear()


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_db(pg_server) -> str:
    """A dedicated migrated database (others tests share the pg_url one)."""
    name = f"educonnect_demo_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg_server.get_uri())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = pg_server.get_uri(name)
    await db.migrate_url(url)
    return url


def _body(msg: email.message.EmailMessage) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


@pytest.mark.asyncio(loop_scope="session")
async def test_seed_provisions_and_notifies_once(fresh_db, smtp_sink):
    data = generate(get_settings().demo_seed, SMALL)
    report = await seed(fresh_db, n_pupils=SMALL)
    assert report.inserted
    n_accounts = len(data.guardian_accounts) + len(data.pupil_accounts)
    assert report.accounts_provisioned == n_accounts

    conn = await asyncpg.connect(fresh_db)
    try:
        assert await conn.fetchval("SELECT count(*) FROM pupils") == SMALL
        assert await conn.fetchval("SELECT count(*) FROM schools") == len(data.schools)
        rows = await conn.fetch("SELECT * FROM accounts")
        assert len(rows) == n_accounts
        by_owner = {r["guardian_id"] or r["pupil_id"]: r for r in rows}
        hasher = argon2.PasswordHasher()
        for demo in data.guardian_accounts + data.pupil_accounts:
            row = by_owner[demo.owner_id]
            assert row["kind"] == demo.kind
            assert row["state"] == "provisioned"
            assert IDENTIFIER.match(row["identifier"]), row["identifier"]
            assert row["provisional_password_hash"].startswith("$argon2id$")
            assert hasher.verify(row["provisional_password_hash"], demo.provisional_password)
            assert row["password_hash"] is None
            if demo.kind == "guardian":
                assert row["email"] == data.guardian(demo.owner_id).email
                assert row["mobile"] == data.guardian(demo.owner_id).mobile
        for row in rows:
            valid = row["provisional_expires_at"] - row["created_at"]
            assert 89 <= valid.days <= 92

        # Emails: one per guardian account with an email, none otherwise.
        with_email = [a for a in data.guardian_accounts if data.guardian(a.owner_id).email]
        assert report.emails_sent == len(with_email)
        assert len(smtp_sink.messages) == len(with_email)
        received = {str(m["To"]): m for m in smtp_sink.messages}
        for demo in with_email:
            guardian = data.guardian(demo.owner_id)
            msg = received[guardian.email]
            assert msg["Subject"] == "Vos identifiants EduConnect"
            text = _body(msg)
            assert by_owner[demo.owner_id]["identifier"] in text
            assert demo.provisional_password in text
            for child in data.children_of(demo.owner_id):
                assert f"{child.first_name} {child.last_name}" in text
                assert data.school(child.uai).name in text
        no_email = [a for a in data.guardian_accounts if not data.guardian(a.owner_id).email]
        assert len(no_email) == 1
        no_email_account = by_owner[no_email[0].owner_id]
        assert not await conn.fetchval(
            "SELECT count(*) FROM sent_emails WHERE account_id = $1", no_email_account["id"]
        )
        assert await conn.fetchval(
            "SELECT count(*) FROM sent_emails WHERE sent_at IS NOT NULL AND template = 'account_notification'"
        ) == len(with_email)

        # Demo credentials, French labels.
        assert 3 <= len(report.credentials) <= 7
        identifiers = {r["identifier"]: r for r in rows}
        for identifier, _password, label in report.credentials:
            assert identifier in identifiers
            assert label.startswith(("Responsable d", "Élève "))
        assert any("sans email" in label for *_, label in report.credentials)
        assert any(label.startswith("Élève ") for *_, label in report.credentials)

        # Provisioning is idempotent and pupil accounts are second degree only.
        again = await provision_guardian_account(
            conn, with_email[0].owner_id, now=rows[0]["created_at"]
        )
        assert not again.created and again.provisional_password == ""
        assert again.account_id == by_owner[with_email[0].owner_id]["id"]
        ecole_pupil = next(p for p in data.pupils if data.school(p.uai).degree == 1)
        with pytest.raises(ValueError):
            await provision_pupil_account(conn, ecole_pupil.id, now=rows[0]["created_at"])

        # A second seed inserts nothing and sends nothing.
        second = await seed(fresh_db, n_pupils=SMALL)
        assert not second.inserted
        assert second.accounts_provisioned == 0
        assert second.emails_sent == 0
        assert len(smtp_sink.messages) == len(with_email)
        assert await conn.fetchval("SELECT count(*) FROM accounts") == n_accounts
        assert await conn.fetchval("SELECT count(*) FROM pupils") == SMALL
        assert [c[:2] for c in second.credentials] == [c[:2] for c in report.credentials]
    finally:
        await conn.close()


@pytest.mark.asyncio(loop_scope="session")
async def test_seed_retries_emails_after_smtp_outage(fresh_db, smtp_sink, caplog):
    data = generate(get_settings().demo_seed, SMALL)
    with_email = [a for a in data.guardian_accounts if data.guardian(a.owner_id).email]

    # SMTP down: records and accounts are written, the emails wait.
    working = os.environ["SMTP_URL"]
    os.environ["SMTP_URL"] = f"smtp://127.0.0.1:{_free_port()}"
    get_settings.cache_clear()
    try:
        first = await seed(fresh_db, n_pupils=SMALL)
    finally:
        os.environ["SMTP_URL"] = working
        get_settings.cache_clear()
    assert first.inserted
    assert first.accounts_provisioned == len(data.guardian_accounts) + len(data.pupil_accounts)
    assert first.emails_sent == 0
    assert "could not send demo notification emails" in caplog.text
    assert smtp_sink.messages == []

    # SMTP back: the next seed sends every pending notification, once.
    second = await seed(fresh_db, n_pupils=SMALL)
    assert not second.inserted and second.accounts_provisioned == 0
    assert second.emails_sent == len(with_email)
    assert sorted(str(m["To"]) for m in smtp_sink.messages) == sorted(
        data.guardian(a.owner_id).email for a in with_email
    )
    passwords = {data.guardian(a.owner_id).email: a.provisional_password for a in with_email}
    for msg in smtp_sink.messages:
        assert passwords[str(msg["To"])] in _body(msg)

    third = await seed(fresh_db, n_pupils=SMALL)
    assert third.emails_sent == 0
    assert len(smtp_sink.messages) == len(with_email)
