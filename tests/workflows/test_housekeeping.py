"""The nightly housekeeping on the time-skipping server with the real
activities and real PostgreSQL: old rows of every kind go (staff sign-in
series with the unknown identifiers' failures), fresh ones stay,
and so do an account's sign-in failures, a locked identifier, an accepted SMS
code and a waiting password of a process still running."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata

from educonnect import policies
from educonnect.errors import DomainError
from educonnect.models.corrections import StaffRole
from educonnect.models.housekeeping import PURGE_LABELS, HousekeepingInput, Purge
from tests.support.accounts import random_mobile
from tests.support.corrections import make_school, make_staff
from tests.support.families import make_family
from tests.support.histories import record_history
from tests.support.services import register_service
from workflows.housekeeping import HousekeepingWorkflow, workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")


@dataclass
class Rows:
    """Keys of the rows a test inserted, per table, to find them afterwards."""

    old: dict[str, list] = field(default_factory=dict)
    fresh: dict[str, list] = field(default_factory=dict)

    def add(self, table: str, key, *, old: bool) -> None:
        (self.old if old else self.fresh).setdefault(table, []).append(key)


# How each table's rows are found again: (key column(s) expression, parameter type).
KEYS = {
    "sessions": "id::text",
    "staff_sessions": "id::text",
    "email_links": "id::text",
    "sms_codes": "id::text",
    "sms_code_submissions": "id::text",
    "sms_daily_counts": "mobile || '/' || day::text",
    "process_bindings": "process_id",
    "request_counters": "key",
    "sign_in_ip_failures": "ip",
    "sign_in_failures": "identifier",
    "staff_sign_in_failures": "login || ' ' || ip",
    "pending_passwords": "process_id",
    "franceconnect_logouts": "id::text",
    "franceconnect_mobile_tries": "identity_id || '/' || day::text",
    "oidc_tokens": "encode(token_hash, 'hex')",
    "oidc_codes": "encode(code_hash, 'hex')",
    "service_sessions": "sid::text",
    "client_assertion_ids": "client_id || '/' || jti",
}


async def present(pool: asyncpg.Pool, table: str, keys: list) -> set[str]:
    rows = await pool.fetch(f"SELECT {KEYS[table]} AS k FROM {table} WHERE {KEYS[table]} = ANY($1::text[])",
                            [str(k) for k in keys])  # fmt: skip
    return {r["k"] for r in rows}


async def insert_rows(pool: asyncpg.Pool, running_process: str) -> Rows:
    """Old and fresh rows of every kind the housekeeping purges."""
    rows = Rows()
    family = await make_family(pool)
    account = family.account_id
    tag = uuid.uuid4().hex[:8]

    async def session(table: str, owner_column: str, owner, ended: str, *, old: bool, scope: str | None = None,
                      revoked: bool = False, created: str | None = None) -> None:  # fmt: skip
        sid = uuid.uuid4()
        ended_at = f"now() - interval '{ended}'"
        expires_at = "now() + interval '1 hour'" if revoked else ended_at
        revoked_at = ended_at if revoked else "NULL"
        created_at = (
            f"now() - interval '{created}'" if created else f"{ended_at} - interval '1 hour'"
        )
        columns, values = (
            f"id, token_hash, {owner_column}, created_at, expires_at, revoked_at",
            "$1, $2, $3",
        )
        if scope is not None:
            columns, values = columns + ", scope", values + ", $4"
        await pool.execute(
            f"INSERT INTO {table} ({columns}) VALUES ($1, $2, $3, {created_at}, {expires_at}, {revoked_at}"
            + (", $4)" if scope is not None else ")"),
            sid, os.urandom(32), owner, *([scope] if scope is not None else []),
        )  # fmt: skip
        rows.add(table, sid, old=old)

    # Families' sessions: 30 days after expiry or revocation.
    await session("sessions", "account_id", account, "31 days", old=True, scope="portal")
    await session(
        "sessions", "account_id", account, "31 days", old=True, scope="portal", revoked=True
    )
    await session("sessions", "account_id", account, "29 days", old=False, scope="portal")
    await session(
        "sessions", "account_id", account, "29 days", old=False, scope="portal", revoked=True
    )
    # Activation sessions: the older one goes, the account's latest stays however old.
    await session(
        "sessions",
        "account_id",
        account,
        "60 days",
        old=True,
        scope="activation",
        created="61 days",
    )
    await session(
        "sessions",
        "account_id",
        account,
        "50 days",
        old=False,
        scope="activation",
        created="51 days",
    )

    staff = await make_staff(pool, StaffRole.SCHOOL_ADMIN, await make_school(pool))
    await session("staff_sessions", "staff_id", staff.id, "31 days", old=True)
    await session("staff_sessions", "staff_id", staff.id, "31 days", old=True, revoked=True)
    await session("staff_sessions", "staff_id", staff.id, "29 days", old=False)

    # Email links: 30 days after expiry.
    for expired, old in (("31 days", True), ("29 days", False)):
        link = uuid.uuid4()
        await pool.execute(
            "INSERT INTO email_links (id, idempotency_key, account_id, process_id, purpose, email, token_hash, "
            f"created_at, expires_at) VALUES ($1, $2, $3, $4, 'activation', $5, $6, now() - interval '40 days', "
            f"now() - interval '{expired}')",
            link, f"test-{link}", account, f"activation/{account}", family.email, os.urandom(32),
        )  # fmt: skip
        rows.add("email_links", link, old=old)

    # SMS codes: 7 days after expiry; an accepted one also waits for its process to end.
    async def sms_code(process_id: str, expired: str, *, used: bool, old: bool) -> None:
        code = uuid.uuid4()
        await pool.execute(
            "INSERT INTO sms_codes (id, idempotency_key, process_id, purpose, mobile, outcome, code_hash, "
            f"created_at, expires_at, used_at) VALUES ($1, $2, $3, 'registration', $4, 'issued', $5, "
            f"now() - interval '{expired}' - interval '10 minutes', now() - interval '{expired}', "
            f"CASE WHEN $6 THEN now() - interval '{expired}' END)",
            code, f"test-{code}", process_id, random_mobile(), os.urandom(32), used,
        )  # fmt: skip
        rows.add("sms_codes", code, old=old)

    ended_process = f"sms-registration/{uuid.uuid4()}"  # unknown to Temporal: ended
    await sms_code(ended_process, "8 days", used=False, old=True)
    await sms_code(ended_process, "8 days", used=True, old=True)
    await sms_code(ended_process, "6 days", used=False, old=False)
    await sms_code(running_process, "8 days", used=True, old=False)

    for created, old in (("8 days", True), ("6 days", False)):
        submission = uuid.uuid4()
        await pool.execute(
            "INSERT INTO sms_code_submissions (id, process_id, created_at, checked_at, matched) "
            f"VALUES ($1, $2, now() - interval '{created}', now() - interval '{created}', false)",
            submission, ended_process,
        )  # fmt: skip
        rows.add("sms_code_submissions", submission, old=old)

    # SMS daily counts: past days go, today (Europe/Paris) stays.
    mobile = random_mobile()
    for days_ago, old in ((1, True), (3, True), (0, False)):
        day = await pool.fetchval(
            "INSERT INTO sms_daily_counts (mobile, day, sent) "
            "VALUES ($1, (now() AT TIME ZONE 'Europe/Paris')::date - $2::int, 2) RETURNING day::text",
            mobile, days_ago,
        )  # fmt: skip
        rows.add("sms_daily_counts", f"{mobile}/{day}", old=old)

    # Browser bindings: a day after their own end (the cookie's lifetime, stored at bind time).
    for prefix, age, lifetime, old in (
        ("sms-registration/", "40 days", "38 days", True),  # cookie: 31 + 7 days
        ("sms-registration/", "37 days", "38 days", False),
        ("password-reset/", "2 days", "30 minutes", True),  # cookie: 30 minutes
        ("password-reset/", "1 hour", "30 minutes", False),  # ended, but less than a day ago
        ("other-process/", "40 days", "38 days", True),
        ("other-process/", "10 days", "38 days", False),
    ):
        process_id = f"{prefix}{uuid.uuid4()}"
        await pool.execute(
            f"INSERT INTO process_bindings (process_id, binding_hash, created_at, expires_at) "
            f"VALUES ($1, $2, now() - interval '{age}', now() - interval '{age}' + interval '{lifetime}')",
            process_id, os.urandom(32),
        )  # fmt: skip
        rows.add("process_bindings", process_id, old=old)

    # Request counters: out of their scope's window.
    for scope, age, old in (
        ("ip", "61 minutes", True),
        ("ip", "59 minutes", False),
        ("ticket_email", "25 hours", True),
        ("ticket_email", "23 hours", False),
    ):
        key = f"{scope}-{uuid.uuid4()}"
        await pool.execute(
            f"INSERT INTO request_counters (scope, key, requested_at) VALUES ($1, $2, now() - interval '{age}')",
            scope, key,
        )  # fmt: skip
        rows.add("request_counters", key, old=old)

    # Sign-in failures per address: out of the 10-minute window.
    for age, old in (("11 minutes", True), ("5 minutes", False)):
        ip = f"test-{uuid.uuid4()}"
        await pool.execute(
            f"INSERT INTO sign_in_ip_failures (ip, failed_at) VALUES ($1, now() - interval '{age}')",
            ip,
        )
        rows.add("sign_in_ip_failures", ip, old=old)

    # Sign-in failures per identifier: only unknown, unlocked, quiet for a day.
    for identifier, age, locked, old in (
        (f"inconnu.{tag}", "25 hours", False, True),
        (f"inconnu.recent.{tag}", "23 hours", False, False),
        (f"inconnu.verrouille.{tag}", "40 days", True, False),
        (family.identifier, "40 days", False, False),  # an account's identifier
    ):
        await pool.execute(
            "INSERT INTO sign_in_failures (identifier, failures, last_failure_at, locked_at) "
            f"VALUES ($1, $2, now() - interval '{age}', CASE WHEN $3 THEN now() - interval '{age}' END)",
            identifier, 100 if locked else 7, locked,
        )  # fmt: skip
        rows.add("sign_in_failures", identifier, old=old)

    # Staff sign-in series (login and address): quiet for a day, whoever the login is.
    login = f"agent.{tag}@ac-test.fr"
    for age, old in (("25 hours", True), ("23 hours", False)):
        ip = f"test-{uuid.uuid4()}"
        await pool.execute(
            "INSERT INTO staff_sign_in_failures (login, ip, failures, last_failure_at) "
            f"VALUES ($1, $2, 40, now() - interval '{age}')",
            login, ip,
        )  # fmt: skip
        rows.add("staff_sign_in_failures", f"{login} {ip}", old=old)

    # Passwords waiting for a process: once the process has ended (and a day passed).
    for process_id, age, old in (
        (f"password-change/{uuid.uuid4()}", "2 days", True),  # never ran
        (running_process, "2 days", False),
        (f"password-change/{uuid.uuid4()}", "1 hour", False),  # its process may be starting
    ):
        await pool.execute(
            "INSERT INTO pending_passwords (account_id, process_id, password_hash, created_at) "
            f"VALUES ($1, $2, 'not-a-real-hash', now() - interval '{age}')",
            account, process_id,
        )  # fmt: skip
        rows.add("pending_passwords", process_id, old=old)

    # FranceConnect: logouts a day after they expired; numbers tried, past days.
    for expired, old in (("2 days", True), ("1 hour", False)):
        logout = uuid.uuid4()
        await pool.execute(
            "INSERT INTO franceconnect_logouts (id, binding_hash, state_hash, expires_at) "
            f"VALUES ($1, $2, 'state', now() - interval '{expired}')",
            logout, logout.bytes,
        )  # fmt: skip
        rows.add("franceconnect_logouts", logout, old=old)
    for days_ago, old in ((1, True), (0, False)):
        identity = uuid.uuid4()
        await pool.execute(
            "INSERT INTO franceconnect_identities (id, issuer, sub, given_name, family_name, acr) "
            "VALUES ($1, 'https://fc.test', $2, 'Jeanne', 'DURAND', 'eidas1')",
            identity, f"housekeeping-{identity}",
        )  # fmt: skip
        day = await pool.fetchval(
            "INSERT INTO franceconnect_mobile_tries (identity_id, day, mobile_hash, link_id) "
            "VALUES ($1, (now() AT TIME ZONE 'Europe/Paris')::date - $2::int, 'h', $1) "
            "RETURNING day::text",
            identity, days_ago,
        )  # fmt: skip
        rows.add("franceconnect_mobile_tries", f"{identity}/{day}", old=old)

    await insert_service_grants(pool, account, rows)
    return rows


async def insert_service_grants(pool: asyncpg.Pool, account: uuid.UUID, rows: Rows) -> None:
    """What the OpenID Connect provider handed to a service: codes, tokens,
    service sessions and assertion ids, old and fresh."""
    service = await register_service(pool)

    async def portal_session(ended: str | None, *, old: bool) -> uuid.UUID:
        sid = uuid.uuid4()
        expires_at = f"now() - interval '{ended}'" if ended else "now() + interval '1 hour'"
        await pool.execute(
            "INSERT INTO sessions (id, token_hash, account_id, scope, created_at, expires_at) "
            f"VALUES ($1, $2, $3, 'portal', now() - interval '40 days', {expires_at})",
            sid, os.urandom(32), account,
        )  # fmt: skip
        rows.add("sessions", sid, old=old)
        return sid

    async def service_session(session: uuid.UUID, ended: str | None, *, old: bool) -> None:
        sid = uuid.uuid4()
        ended_at = f"now() - interval '{ended}'" if ended else "NULL"
        await pool.execute(
            "INSERT INTO service_sessions (sid, session_id, client_id, account_id, ended_at) "
            f"VALUES ($1, $2, $3, $4, {ended_at})",
            sid, session, service.client_id, account,
        )  # fmt: skip
        rows.add("service_sessions", sid, old=old)

    async def code(session: uuid.UUID, expired: str, *, old: bool) -> bytes:
        code_hash = os.urandom(32)
        await pool.execute(
            "INSERT INTO oidc_codes (code_hash, client_id, account_id, session_id, redirect_uri, scope, "
            "code_challenge, code_challenge_method, auth_time, created_at, expires_at, used_at) "
            "VALUES ($1, $2, $3, $4, $5, 'openid', 'challenge', 'S256', now() - interval '40 days', "
            f"now() - interval '{expired}' - interval '1 minute', now() - interval '{expired}', "
            f"now() - interval '{expired}' - interval '30 seconds')",
            code_hash, service.client_id, account, session, service.redirect_uri,
        )  # fmt: skip
        rows.add("oidc_codes", code_hash.hex(), old=old)
        return code_hash

    async def token(code_hash: bytes, session: uuid.UUID, expired: str, *, old: bool) -> None:
        token_hash = os.urandom(32)
        await pool.execute(
            "INSERT INTO oidc_tokens (token_hash, code_hash, client_id, account_id, session_id, scope, "
            f"created_at, expires_at) VALUES ($1, $2, $3, $4, $5, 'openid', "
            f"now() - interval '{expired}' - interval '10 minutes', now() - interval '{expired}')",
            token_hash, code_hash, service.client_id, account, session,
        )  # fmt: skip
        rows.add("oidc_tokens", token_hash.hex(), old=old)

    # A session that ended 31 days ago goes with everything the services got
    # through it (their rows refer to it): purged before it, in the same run.
    ended = await portal_session("31 days", old=True)
    await service_session(ended, None, old=True)  # never logged out: ended with its session
    await token(await code(ended, "31 days", old=True), ended, "31 days", old=True)

    live = await portal_session(None, old=False)
    await service_session(live, None, old=False)
    # Tokens: a day after they expired. Codes: until their tokens are gone
    # (a code used twice revokes them), never while a token refers to one.
    await token(await code(live, "2 days", old=True), live, "25 hours", old=True)
    await token(await code(live, "2 days", old=False), live, "23 hours", old=False)
    await code(live, "1 day", old=False)  # its tokens could be live a day and 10 minutes after
    # Service sessions: 30 days after they (or their EduConnect session) ended.
    recent = await portal_session("29 days", old=False)
    await service_session(recent, "29 days", old=False)

    # Assertion ids: until their assertion expired, and its leeway (60 s) after.
    for expires, old in (("- interval '2 minutes'", True), ("+ interval '5 minutes'", False)):
        jti = uuid.uuid4().hex
        await pool.execute(
            "INSERT INTO client_assertion_ids (client_id, jti, expires_at) "
            f"VALUES ($1, $2, now() {expires})",
            service.client_id, jti,
        )  # fmt: skip
        rows.add("client_assertion_ids", f"{service.client_id}/{jti}", old=old)


async def test_housekeeping_removes_exactly_the_old_rows(
    time_skipping_env, workflow_worker, db_pool
):
    client = time_skipping_env.client
    # A process still running: no worker serves its task queue, so it just waits.
    running_process = f"sms-registration/{uuid.uuid4()}"
    waiting = await client.start_workflow(
        "SmsRegistration", id=running_process, task_queue=f"nobody-{uuid.uuid4()}"
    )
    rows = await insert_rows(db_pool, running_process)

    # Other tests' sign-in failures age out of their 10-minute window while the
    # suite runs: the ones already old now are the first run's, younger ones may
    # become the second run's (see below).
    ip_cutoff_at_first = await db_pool.fetchval(
        "SELECT now() - $1::interval", policies.SIGN_IN_IP_WINDOW
    )
    handle = await client.start_workflow(
        HousekeepingWorkflow.run, HousekeepingInput(), id=workflow_id(f"test-{uuid.uuid4()}"),
        task_queue=workflow_worker,
    )  # fmt: skip
    first = await handle.result()
    await record_history(handle, "housekeeping-with-service-grant-purges")

    for table, keys in rows.old.items():
        assert await present(db_pool, table, keys) == set(), table
    for table, keys in rows.fresh.items():
        assert await present(db_pool, table, keys) == {str(k) for k in keys}, table
    for purge in Purge:  # the database may hold other tests' old rows too
        assert first.removed[purge] >= len(rows.old.get(purge.value, [])), purge
    assert first.total >= sum(len(keys) for keys in rows.old.values())

    # What an operator reads in the Web UI: counts, in French.
    details = (
        await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    ).current_details
    assert f"**Terminé : {first.total} lignes supprimées**" in details, details
    assert f"- {PURGE_LABELS[Purge.SESSIONS]} : {first.removed[Purge.SESSIONS]}" in details, details
    assert (await handle.query(HousekeepingWorkflow.status)).removed == first.removed

    # Idempotent: a second run finds nothing more of what was old at the first;
    # only sign-in failures that crossed their window since then may go now.
    ip_failures = "SELECT ip, failed_at FROM sign_in_ip_failures"
    ip_before = Counter(tuple(r) for r in await db_pool.fetch(ip_failures))
    second = await client.execute_workflow(
        HousekeepingWorkflow.run, HousekeepingInput(), id=workflow_id(f"test-{uuid.uuid4()}"),
        task_queue=workflow_worker,
    )  # fmt: skip
    crossed = ip_before - Counter(tuple(r) for r in await db_pool.fetch(ip_failures))
    assert all(failed_at > ip_cutoff_at_first for _, failed_at in crossed), crossed
    # (Other tests' private_key_jwt assertion ids may have passed their leeway since too.)
    del second.removed[Purge.CLIENT_ASSERTION_IDS]
    assert second.removed == {
        purge: crossed.total() if purge == Purge.SIGN_IN_IP_FAILURES else 0
        for purge in Purge
        if purge != Purge.CLIENT_ASSERTION_IDS
    }
    for table, keys in rows.fresh.items():
        assert await present(db_pool, table, keys) == {str(k) for k in keys}, table

    # Once its process has ended, the accepted code and the waiting password go too.
    await waiting.terminate("test over")
    third = await client.execute_workflow(
        HousekeepingWorkflow.run, HousekeepingInput(), id=workflow_id(f"test-{uuid.uuid4()}"),
        task_queue=workflow_worker,
    )  # fmt: skip
    assert third.removed[Purge.SMS_CODES] == 1 and third.removed[Purge.PENDING_PASSWORDS] == 1, (
        third
    )


async def test_large_backlogs_go_in_batches(
    time_skipping_env, workflow_worker, db_pool, monkeypatch
):
    """More rows than one batch: several statements, every row gone, the count exact."""
    import activities.housekeeping as housekeeping

    monkeypatch.setattr(housekeeping, "BATCH", 7)
    await db_pool.execute(
        "INSERT INTO sign_in_ip_failures (ip, failed_at) "
        "SELECT 'batch-' || g, now() - interval '1 hour' FROM generate_series(1, 30) g"
    )
    result = await time_skipping_env.client.execute_workflow(
        HousekeepingWorkflow.run, HousekeepingInput(), id=workflow_id(f"test-{uuid.uuid4()}"),
        task_queue=workflow_worker,
    )  # fmt: skip
    assert result.removed[Purge.SIGN_IN_IP_FAILURES] >= 30
    assert (
        await db_pool.fetchval("SELECT count(*) FROM sign_in_ip_failures WHERE ip LIKE 'batch-%'")
        == 0
    )


async def test_binding_lifetimes_are_the_cookies_lifetimes(db_pool):
    """The housekeeping keeps a binding as long as the route's cookie lives:
    each binding stores the end of its own cookie, and opens nothing past it."""
    from fastapi import Response

    from api.routers import recovery, registration

    for binding in (registration.BROWSER, recovery.BROWSER):
        response, process_id = Response(), f"test-binding/{uuid.uuid4()}"
        await binding.bind(db_pool, response, uuid.uuid4(), process_id)
        cookie = response.headers["set-cookie"]
        token = cookie.split("=", 1)[1].split(";", 1)[0]
        assert f"Max-Age={int(binding.max_age.total_seconds())}" in cookie
        left = await db_pool.fetchval(
            "SELECT expires_at - now() FROM process_bindings WHERE process_id = $1", process_id
        )
        assert abs(left - binding.max_age) < timedelta(seconds=5)
        await binding.require(db_pool, process_id, token)  # bound: accepted
        await db_pool.execute(
            "UPDATE process_bindings SET expires_at = now() WHERE process_id = $1", process_id
        )
        with pytest.raises(DomainError) as refused:
            await binding.require(db_pool, process_id, token)
        assert refused.value.code == binding.not_found
