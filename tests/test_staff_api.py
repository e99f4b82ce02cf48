"""Staff access: strong passwords, separate sign-in and sessions, delays (never a lock-out),
scope (school / académie) of the queue and of tickets, the assistance form's
tickets, the append-only audit log, and the checks of the correction form."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import date, timedelta

import asyncpg
import httpx
import pytest
import pytest_asyncio

from educonnect import audit
from educonnect.errors import DomainError
from educonnect.models.corrections import StaffRole
from educonnect.passwords import check_staff_password_policy
from educonnect.policies import (
    SIGN_IN_IP_MAX_FAILURES,
    SIGN_IN_MAX_DELAY,
    TICKETS_MAX_PER_EMAIL,
    TICKETS_MAX_PER_IP,
)
from educonnect.staff import StaffPasswordRejected, authenticate, create_staff_account
from tests.support.corrections import (
    WRONG_BIRTHDATE,
    block_activation,
    children_of,
    family_at,
    file_request,
    flagged_child,
    make_school,
    make_staff,
    signed_in_staff,
)
from tests.support.mail import Mailbox

pytestmark = pytest.mark.asyncio(loop_scope="session")


def an_ip() -> str:
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


@pytest_asyncio.fixture(loop_scope="session")
async def make_client(db_pool):
    """Clients on the real app without Temporal (these routes do not need it),
    each from an address of its own (the per-IP sign-in limit never mixes tests)."""
    from api.app import create_app

    def make(ip: str | None = None) -> httpx.AsyncClient:
        app = create_app()
        app.state.pool = db_pool
        app.state.temporal = None
        transport = httpx.ASGITransport(app=app, client=(ip or an_ip(), 123))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    return make


# --- passwords ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password, codes",
    [
        ("Court!1a", {"staff_password_length"}),
        ("toutenminuscule1!", {"staff_password_upper"}),
        ("TOUTENMAJUSCULE1!", {"staff_password_lower"}),
        ("SansChiffre!!abc", {"staff_password_digit"}),
        ("SansSymbole12abc", {"staff_password_symbol"}),
        (" Espace-Debut12a", {"staff_password_whitespace"}),
        ("Durand#2026-xyzw", {"staff_password_name"}),
        ("ce.0690001t!Abc9", {"staff_password_login"}),
        ("Tr0ub4dour&Horse", set()),
        ("Élève-Été-2026-ok", set()),  # accented letters are allowed for staff
    ],
)
async def test_staff_password_policy(password, codes):
    found = {
        v.code
        for v in check_staff_password_policy(
            password, login="ce.0690001t@ac-lyon.fr", names=["Marie Durand"]
        )
    }
    assert found == codes
    for v in check_staff_password_policy(
        password, login="ce.0690001t@ac-lyon.fr", names=["Marie Durand"]
    ):
        assert v.message and v.message[0].isupper()  # a French sentence


async def test_a_weak_password_is_refused_at_creation(db_pool):
    school = await make_school(db_pool)
    with pytest.raises(StaffPasswordRejected) as refused:
        await create_staff_account(
            db_pool, login=f"x.{uuid.uuid4().hex[:6]}@ac-test.example.fr", email="x@ac-test.example.fr",
            display_name="Agent", role=StaffRole.SCHOOL_ADMIN, password="Bienvenue2x", uai=school.uai,
        )  # fmt: skip
    assert {v.code for v in refused.value.violations} == {
        "staff_password_length",
        "staff_password_symbol",
    }


# --- signing in ---------------------------------------------------------------------------


async def test_staff_sign_in_is_separate_from_families(db_pool, make_client):
    school = await make_school(db_pool)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    async with make_client() as http:
        anonymous = await http.get("/staff/requests")
        assert anonymous.status_code == 401 and anonymous.json()["code"] == "staff_session_required"
        wrong = await http.post(
            "/staff/sign-in", json={"login": admin.login, "password": admin.password + "x"}
        )
        unknown = await http.post(
            "/staff/sign-in", json={"login": "personne@ac-test.example.fr", "password": "x"}
        )
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()
        assert wrong.json()["message"] == "L'identifiant ou le mot de passe est incorrect."

        # A family's session cookie opens nothing here.
        http.cookies.set("educonnect_session", "un-jeton-de-famille")
        assert (await http.get("/staff/me")).status_code == 401

        signed = await http.post(
            "/staff/sign-in", json={"login": admin.login.upper(), "password": admin.password}
        )
        assert signed.status_code == 200, signed.text
        assert signed.json()["role"] == "school_admin" and signed.json()["uai"] == school.uai
        cookie = signed.headers["set-cookie"]
        assert (
            "educonnect_staff_session=" in cookie
            and "httponly" in cookie.lower()
            and "samesite=strict" in cookie.lower()
        )
        me = (await http.get("/staff/me")).json()
        assert me["scope_label"] == f"établissement {school.uai}"
        stored = await db_pool.fetchval(
            "SELECT token_hash FROM staff_sessions WHERE staff_id = $1", admin.id
        )
        assert (
            http.cookies["educonnect_staff_session"].encode() not in stored
        )  # only an HMAC is kept

        assert (await http.post("/staff/sign-out")).status_code == 204
        assert (await http.get("/staff/me")).status_code == 401
    actions = await db_pool.fetch(
        "SELECT action, outcome FROM audit_log WHERE actor_id = $1 ORDER BY id", admin.id
    )
    assert [(a["action"], a["outcome"]) for a in actions] == [
        ("staff.sign_in", "refused"), ("staff.sign_in", "accepted"), ("staff.sign_out", "accepted"),
    ]  # fmt: skip


async def wrong_then_right(
    make_client, login: str, right: str, ip: str
) -> list[tuple[int, dict, str | None]]:
    """Three wrong passwords, then a fourth try at once with `right`, from `ip`:
    what the person sees (status, body, Retry-After)."""
    answers = []
    async with make_client(ip) as http:
        for password in ["Mauvais-Mot-2026!"] * 3 + [right]:
            answer = await http.post("/staff/sign-in", json={"login": login, "password": password})
            answers.append((answer.status_code, answer.json(), answer.headers.get("retry-after")))
    return answers


async def test_staff_failures_slow_down_their_address_and_never_lock_the_account(
    db_pool, make_client
):
    """Issue 19 replaces the 15-minute lock-out after 5 failures (anyone could
    keep an administrator locked out): progressive delays per login and
    address, as for families."""
    school = await make_school(db_pool)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    stranger = an_ip()
    answers = await wrong_then_right(make_client, admin.login, admin.password, stranger)
    assert [a[0] for a in answers] == [401, 401, 401, 429]
    status, body, retry_after = answers[-1]
    assert (
        body["code"] == "too_many_attempts" and int(retry_after) >= 1
    )  # even with the right password
    assert "Réessayez dans 1 seconde" in body["message"]

    # The staff member, from their own address, is not slowed down by the stranger.
    async with make_client() as http:
        assert (
            await http.post(
                "/staff/sign-in", json={"login": admin.login, "password": admin.password}
            )
        ).status_code == 200

    # However long the stranger goes on, the account never locks: once the delay
    # (15 minutes at most) has passed, the right password works from there too.
    await db_pool.execute(
        "UPDATE staff_sign_in_failures SET failures = 500, last_failure_at = now() - $3::interval "
        "WHERE login = $1 AND ip = $2",
        admin.login, stranger, SIGN_IN_MAX_DELAY + timedelta(seconds=1),
    )  # fmt: skip
    async with make_client(stranger) as http:
        assert (
            await http.post(
                "/staff/sign-in", json={"login": admin.login, "password": admin.password}
            )
        ).status_code == 200
    assert (
        await db_pool.fetchval(
            "SELECT count(*) FROM staff_sign_in_failures WHERE login = $1", admin.login
        )
        == 0
    )


async def test_unknown_staff_logins_get_the_same_answers_and_counters(db_pool, make_client):
    school = await make_school(db_pool)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    unknown = f"personne.{uuid.uuid4().hex[:8]}@ac-test.example.fr"
    real = await wrong_then_right(make_client, admin.login, "Encore-Faux-2026!", an_ip())
    fake = await wrong_then_right(make_client, unknown, "Encore-Faux-2026!", an_ip())
    assert real == fake
    counters = await db_pool.fetch(
        "SELECT login, failures FROM staff_sign_in_failures WHERE login = ANY($1::text[])",
        [admin.login, unknown],
    )
    assert sorted(r["failures"] for r in counters) == [3, 3]


async def test_parallel_wrong_passwords_are_checked_at_most_three_times(db_pool):
    """A burst of simultaneous tries cannot slip past the delays while the
    first ones are being verified: each try takes its place in the series
    before its password is checked."""
    school = await make_school(db_pool)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    ip = an_ip()
    burst = [authenticate(db_pool, admin.login, f"Mauvais-Mot-{i}!Aa", ip) for i in range(12)]
    outcomes = await asyncio.gather(*burst, return_exceptions=True)
    codes = sorted(o.code.value for o in outcomes if isinstance(o, DomainError))
    assert len(codes) == 12 and codes.count("staff_invalid_credentials") == 3, codes
    assert codes.count("too_many_attempts") == 9
    checked = await db_pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE actor_id = $1 AND action = 'staff.sign_in' AND details ? 'checked'",
        admin.id,
    )
    assert checked == 3  # the other 9 were refused unchecked
    # Slowed down from that address only.
    with pytest.raises(DomainError) as waiting:
        await authenticate(db_pool, admin.login, admin.password, ip)
    assert waiting.value.code.value == "too_many_attempts"
    assert (await authenticate(db_pool, admin.login, admin.password, an_ip())).id == admin.id


async def test_staff_sign_in_counts_in_the_per_ip_limit(db_pool, make_client):
    """One address cannot try a few passwords on each of many staff logins
    (each below its delays): the per-IP limit of every sign-in applies."""
    school = await make_school(db_pool)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    ip = an_ip()
    await db_pool.execute(
        "INSERT INTO sign_in_ip_failures (ip) SELECT $1 FROM generate_series(1, $2)",
        ip,
        SIGN_IN_IP_MAX_FAILURES - 1,
    )
    try:
        async with make_client(ip) as http:
            wrong = await http.post(
                "/staff/sign-in", json={"login": f"x{admin.login}", "password": "Mauvais-Mot-2026!"}
            )
            assert wrong.status_code == 401  # the last failure this address may have
            refused = await http.post(
                "/staff/sign-in", json={"login": admin.login, "password": admin.password}
            )
            assert refused.status_code == 429 and refused.json()["code"] == "too_many_requests"
            assert (
                int(refused.headers["retry-after"]) > 0
                and "Réessayez dans" in refused.json()["message"]
            )
            assert "educonnect_staff_session" not in http.cookies
        async with make_client() as http:  # from elsewhere, the right password works
            assert (
                await http.post(
                    "/staff/sign-in", json={"login": admin.login, "password": admin.password}
                )
            ).status_code == 200
    finally:
        await db_pool.execute("DELETE FROM sign_in_ip_failures WHERE ip = $1", ip)
    refusal = await db_pool.fetchrow(
        "SELECT details FROM audit_log WHERE action = 'staff.sign_in' AND target_id = $1 AND outcome = 'refused' "
        "ORDER BY id DESC LIMIT 1",
        admin.login,
    )
    assert refusal is not None and '"too_many_requests"' in refusal["details"]


async def test_staff_password_change_enforces_the_strong_policy(db_pool, make_client):
    school = await make_school(db_pool)
    support = await make_staff(db_pool, StaffRole.ACADEMIE_SUPPORT, school)
    async with (
        signed_in_staff(make_client, support) as elsewhere,
        signed_in_staff(make_client, support) as http,
    ):
        weak = await http.post(
            "/staff/password",
            json={"current_password": support.password, "new_password": "Bienvenue2x", "new_password_confirmation": "Bienvenue2x"},
        )  # fmt: skip
        assert weak.status_code == 422 and weak.json()["code"] == "staff_password_policy"
        assert {d["code"] for d in weak.json()["details"]} == {
            "staff_password_length",
            "staff_password_symbol",
        }
        wrong = await http.post(
            "/staff/password",
            json={"current_password": "pas-le-bon", "new_password": "Nouveau-Secret-42", "new_password_confirmation": "Nouveau-Secret-42"},
        )  # fmt: skip
        assert wrong.status_code == 401
        done = await http.post(
            "/staff/password",
            json={"current_password": support.password, "new_password": "Nouveau-Secret-42", "new_password_confirmation": "Nouveau-Secret-42"},
        )  # fmt: skip
        assert done.status_code == 204
        # The session that changed it stays open; any other (someone holding the old password) ends.
        assert (await http.get("/staff/me")).status_code == 200
        ended = await elsewhere.get("/staff/me")
        assert ended.status_code == 401 and ended.json()["code"] == "staff_session_required"
    async with make_client() as http:
        old = await http.post(
            "/staff/sign-in", json={"login": support.login, "password": support.password}
        )
        assert old.status_code == 401
        new = await http.post(
            "/staff/sign-in", json={"login": support.login, "password": "Nouveau-Secret-42"}
        )
        assert new.status_code == 200


# --- the queue, by scope --------------------------------------------------------------------


async def insert_request(db_pool, pupil_id, school, status: str, age: timedelta) -> uuid.UUID:
    request_id = uuid.uuid4()
    closed = status in ("approved", "rejected", "expired")
    await db_pool.execute(
        "INSERT INTO correction_requests (id, pupil_id, uai, academie, proposed_birthdate, status, created_at, closed_at) "
        "VALUES ($1, $2, $3, $4, '2014-01-01', $5, now() - $6::interval, CASE WHEN $7 THEN now() END)",
        request_id, pupil_id, school.uai, school.academie, status, age, closed,
    )  # fmt: skip
    return request_id


async def test_queue_shows_the_staff_scope_pending_first_oldest_first(db_pool, make_client):
    school = await make_school(db_pool)
    neighbour = await make_school(db_pool, academie=school.academie)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    support = await make_staff(db_pool, StaffRole.ACADEMIE_SUPPORT, school)
    here = await children_of(db_pool, await family_at(db_pool, school))
    here += await children_of(db_pool, await family_at(db_pool, school))
    there = await children_of(db_pool, await family_at(db_pool, neighbour))

    approved_old = await insert_request(
        db_pool, here[0]["id"], school, "approved", timedelta(days=20)
    )
    info = await insert_request(
        db_pool, here[1]["id"], school, "awaiting_information", timedelta(days=9)
    )
    review_new = await insert_request(
        db_pool, here[2]["id"], school, "awaiting_review", timedelta(days=1)
    )
    escalated_old = await insert_request(
        db_pool, here[3]["id"], school, "escalated", timedelta(days=6)
    )
    neighbours = await insert_request(
        db_pool, there[0]["id"], neighbour, "awaiting_review", timedelta(days=3)
    )

    async with signed_in_staff(make_client, admin) as http:
        queue = (await http.get("/staff/requests")).json()
        assert [q["request_id"] for q in queue] == [
            str(escalated_old),
            str(review_new),
            str(info),
            str(approved_old),
        ]
        assert [q["waiting_on_staff"] for q in queue] == [True, True, False, False]
        only = (await http.get("/staff/requests", params={"etat": "awaiting_information"})).json()
        assert [q["request_id"] for q in only] == [str(info)]
        bad = await http.get("/staff/requests", params={"etat": "n_importe_quoi"})
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_input"
        # Another school's request answers like an unknown one (nothing learnt about its families).
        missing = await http.get(f"/staff/requests/{uuid.uuid4()}")
        assert missing.status_code == 404 and missing.json()["code"] == "correction_not_found"
        refused = await http.get(f"/staff/requests/{neighbours}")
        assert (refused.status_code, refused.json()) == (missing.status_code, missing.json())
        decided = await http.post(f"/staff/requests/{neighbours}/reject", json={"reason": "Non"})
        unknown = await http.post(f"/staff/requests/{uuid.uuid4()}/reject", json={"reason": "Non"})
        assert (
            (decided.status_code, decided.json())
            == (unknown.status_code, unknown.json())
            == (404, missing.json())
        )
        # Decisions refused before reaching the process (and audited).
        closed = await http.post(
            f"/staff/requests/{approved_old}/reject", json={"reason": "Trop tard"}
        )
        assert closed.status_code == 409 and closed.json()["code"] == "correction_closed"
        future = (date.today() + timedelta(days=1)).isoformat()
        too_late = await http.post(
            f"/staff/requests/{review_new}/approve", json={"corrected_birthdate": future}
        )
        assert too_late.status_code == 422 and too_late.json()["code"] == "correction_date_invalid"
        same = here[2]["birthdate"].isoformat()
        unchanged = await http.post(
            f"/staff/requests/{review_new}/approve", json={"corrected_birthdate": same}
        )
        assert (
            unchanged.status_code == 422 and unchanged.json()["code"] == "correction_date_unchanged"
        )
        no_date = await http.post(f"/staff/requests/{review_new}/approve", json={})
        assert (
            no_date.status_code == 422
            and no_date.json()["details"][0]["field"] == "corrected_birthdate"
        )
    async with signed_in_staff(make_client, support) as http:
        queue = (await http.get("/staff/requests")).json()
        assert [q["request_id"] for q in queue] == [
            str(escalated_old), str(neighbours), str(review_new), str(info), str(approved_old),
        ]  # fmt: skip
    refusals = await db_pool.fetch(
        "SELECT actor_id, details->>'code' AS code FROM audit_log WHERE target_id = $1 AND outcome = 'refused'",
        str(neighbours),
    )
    assert [(r["actor_id"], r["code"]) for r in refusals] == [(admin.id, "staff_out_of_scope")] * 2
    refused_decisions = await db_pool.fetch(
        "SELECT action, details->>'code' AS code FROM audit_log WHERE actor_id = $1 AND outcome = 'refused' "
        "AND action IN ('correction.approve', 'correction.reject') ORDER BY id",
        admin.id,
    )
    assert [(r["action"], r["code"]) for r in refused_decisions] == [
        ("correction.reject", "staff_out_of_scope"),
        ("correction.reject", "correction_not_found"),
        ("correction.reject", "correction_closed"),
        ("correction.approve", "correction_date_invalid"),
        ("correction.approve", "correction_date_unchanged"),
    ]


# --- assistance tickets ----------------------------------------------------------------------


async def test_tickets_reach_the_right_staff_who_answer_by_email(
    db_pool, make_client, mailbox: Mailbox
):
    school = await make_school(db_pool)
    other = await make_school(db_pool, academie=school.academie)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    other_admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, other)
    support = await make_staff(db_pool, StaffRole.ACADEMIE_SUPPORT, school)
    person = f"sacha.{uuid.uuid4().hex[:6]}@example.fr"
    form = {
        "last_name": "Martin", "first_name": "Sacha", "email": person, "category": "auto_inscription_sms",
        "message": "Mon numéro de mobile n'est pas reconnu lors de l'auto-inscription.",
    }  # fmt: skip
    async with make_client() as http:
        categories = (await http.get("/assistance/categories")).json()
        assert {"code": "autre", "label": "Autre question"} in categories
        unknown_school = await http.post("/assistance/tickets", json=form | {"uai": "0000000A"})
        assert (
            unknown_school.status_code == 422
            and unknown_school.json()["code"] == "assistance_school_unknown"
        )
        nowhere = await http.post("/assistance/tickets", json=form)
        assert (
            nowhere.status_code == 422 and nowhere.json()["code"] == "assistance_academie_unknown"
        )
        bad_category = await http.post(
            "/assistance/tickets", json=form | {"category": "date_de_naissance", "uai": school.uai}
        )
        assert (
            bad_category.status_code == 422
            and bad_category.json()["details"][0]["field"] == "category"
        )
        bad_email = await http.post(
            "/assistance/tickets", json=form | {"email": "pas-une-adresse", "uai": school.uai}
        )
        assert bad_email.status_code == 422 and bad_email.json()["code"] == "email_invalid"
        at_school = await http.post("/assistance/tickets", json=form | {"uai": school.uai.lower()})
        assert at_school.status_code == 201, at_school.text
        assert person in at_school.json()["message"]
        academie_wide = await http.post(
            "/assistance/tickets",
            json=form | {"academie": school.academie.upper(), "category": "autre"},
        )
        assert academie_wide.status_code == 201
    school_ticket, academie_ticket = (
        at_school.json()["ticket_id"],
        academie_wide.json()["ticket_id"],
    )

    async with signed_in_staff(make_client, admin) as http:
        assert [t["ticket_id"] for t in (await http.get("/staff/tickets")).json()] == [
            school_ticket
        ]
        # An académie-wide ticket answers a school administrator like an unknown one.
        hidden = await http.get(f"/staff/tickets/{academie_ticket}")
        unknown = await http.get(f"/staff/tickets/{uuid.uuid4()}")
        assert hidden.status_code == unknown.status_code == 404 and hidden.json() == unknown.json()
        assert unknown.json()["code"] == "ticket_not_found"
        answer = (
            "Votre numéro a été corrigé dans la fiche de renseignements : vous pouvez réessayer."
        )
        answered = await http.post(
            f"/staff/tickets/{school_ticket}/answer", json={"message": answer}
        )
        assert answered.status_code == 200, answered.text
        assert (
            answered.json()["status"] == "answered"
            and answered.json()["replies"][0]["text"] == answer
        )
    [reply] = await mailbox.wait_for(person, 1)
    assert "Réponse à votre demande d'assistance" in reply.subject and answer in reply.text
    async with signed_in_staff(make_client, other_admin) as http:
        assert (await http.get("/staff/tickets")).json() == []
        refused = await http.post(
            f"/staff/tickets/{school_ticket}/answer", json={"message": "Bonjour"}
        )
        assert refused.status_code == 404 and refused.json()["code"] == "ticket_not_found"
    async with signed_in_staff(make_client, support) as http:
        listed = (await http.get("/staff/tickets")).json()
        assert [t["ticket_id"] for t in listed] == [
            academie_ticket,
            school_ticket,
        ]  # without answer first
        assert listed[0]["category_label"] == "Autre question"
    entries = await audit.entries_for(db_pool, [("ticket", school_ticket)])
    assert [(e.action, e.outcome, e.actor_id) for e in entries if e.action == "ticket.answer"] == [
        ("ticket.answer", "accepted", admin.id), ("ticket.answer", "refused", other_admin.id),
    ]  # fmt: skip


# --- "Je ne suis pas le représentant légal" ---------------------------------------------------


async def test_another_schools_dispute_looks_unknown_and_the_refusal_is_audited(
    db_pool, make_client
):
    school = await make_school(db_pool)
    neighbour = await make_school(db_pool, academie=school.academie)
    neighbour_admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, neighbour)
    family = await family_at(db_pool, school)
    child = (await children_of(db_pool, family))[0]
    dispute_id = await flagged_child(db_pool, family, child["id"], school)
    async with signed_in_staff(make_client, neighbour_admin) as http:
        assert (await http.get("/staff/attachment-disputes")).json() == []
        refused = await http.post(f"/staff/attachment-disputes/{dispute_id}/detach")
        unknown = await http.post(f"/staff/attachment-disputes/{uuid.uuid4()}/detach")
        assert (
            refused.status_code == unknown.status_code == 404 and refused.json() == unknown.json()
        )
        assert unknown.json()["code"] == "dispute_not_found"
    # Nothing changed, and the refusal is in the audit log with its real reason.
    assert (
        await db_pool.fetchval("SELECT status FROM attachment_disputes WHERE id = $1", dispute_id)
        == "awaiting_review"
    )
    assert await db_pool.fetchval(
        "SELECT count(*) FROM guardian_pupils WHERE guardian_id = $1 AND pupil_id = $2", family.guardian_id, child["id"]
    )  # fmt: skip
    entries = await audit.entries_for(db_pool, [("attachment_dispute", str(dispute_id))])
    assert [(e.action, e.outcome, e.actor_id, e.details["code"]) for e in entries] == [
        ("attachment.detached", "refused", neighbour_admin.id, "staff_out_of_scope"),
    ]
    listed = await db_pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE actor_id = $1 AND action = 'attachment.list'",
        neighbour_admin.id,
    )
    assert listed == 1


# --- the audit log ------------------------------------------------------------------------------


async def test_the_audit_log_is_append_only(db_pool):
    await audit.record(db_pool, audit.SYSTEM, "test.append", "test", "x")
    for statement in (
        "UPDATE audit_log SET actor_label = 'effacé'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await db_pool.execute(statement)
    assert (
        await db_pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'test.append'") >= 1
    )


# --- the correction form's checks (needs the activation workflow) -----------------------------------


async def test_the_correction_form_checks_who_asks_and_what(api, db_pool, mailbox: Mailbox):
    school = await make_school(db_pool)
    family = await family_at(db_pool, school)
    stranger = await family_at(db_pool, school)
    lea = (await children_of(db_pool, family))[0]
    api.cookies.clear()
    no_session = await file_request(api, lea["id"], WRONG_BIRTHDATE)
    assert no_session.status_code == 401 and no_session.json()["code"] == "session_required"

    signed = await api.post(
        "/sign-in", json={"identifier": family.identifier, "password": family.provisional_password}
    )
    assert signed.status_code == 200
    not_yet = await file_request(api, lea["id"], WRONG_BIRTHDATE)
    assert not_yet.status_code == 409 and not_yet.json()["code"] == "correction_not_needed"

    await block_activation(api, family)
    form = (await api.get("/assistance/date-de-naissance")).json()
    assert {c["first_name"] for c in form["children"]} == {"Léa", "Hugo"} and form[
        "email_on_file"
    ] == family.email
    assert form["mobile_on_file"].startswith("+336") and "•" in form["mobile_on_file"]
    other_child = (await children_of(db_pool, stranger))[0]
    assert (await file_request(api, other_child["id"], WRONG_BIRTHDATE)).json()[
        "code"
    ] == "correction_pupil_unknown"
    future = await file_request(api, lea["id"], date.today() + timedelta(days=3))
    assert future.status_code == 422 and future.json()["code"] == "correction_date_invalid"
    bad_email = await file_request(api, lea["id"], WRONG_BIRTHDATE, email="pas-une-adresse")
    assert bad_email.status_code == 422 and bad_email.json()["code"] == "email_invalid"
    bad_contact = await file_request(api, lea["id"], WRONG_BIRTHDATE, contact="pigeon")
    assert bad_contact.status_code == 422 and bad_contact.json()["details"][0]["field"] == "contact"
    not_json = await api.post(
        "/assistance/date-de-naissance", content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422 and not_json.json()["code"] == "invalid_input"
    assert (
        await db_pool.fetchval(
            "SELECT count(*) FROM correction_requests WHERE pupil_id = $1", lea["id"]
        )
        == 0
    )

    filed = await file_request(api, lea["id"], WRONG_BIRTHDATE)
    assert filed.status_code == 201, filed.text
    request_id = filed.json()["request_id"]
    assert len(filed.json()["reference"]) == 8
    assert (await api.get("/assistance/date-de-naissance")).json()["requests"][0][
        "request_id"
    ] == request_id
    mine = (await api.get(f"/assistance/requests/{request_id}")).json()
    assert mine["status"] == "awaiting_review" and mine["exchanges"][0]["author"] == "Vous"
    assert "01/01/2014" in mine["exchanges"][0]["text"]

    # Another family cannot read it: the same answer as for an unknown request.
    await api.post(
        "/sign-in",
        json={"identifier": stranger.identifier, "password": stranger.provisional_password},
    )
    hidden = await api.get(f"/assistance/requests/{request_id}")
    assert hidden.status_code == 404 and hidden.json()["code"] == "correction_not_found"
    assert (await api.get(f"/assistance/requests/{uuid.uuid4()}")).status_code == 404


async def test_a_flood_of_tickets_is_refused(db_pool, make_client):
    """Anyone may write without a session: a few tickets per address and per
    connection reach the staff's queue, not a flood."""
    school = await make_school(db_pool)

    def form(email: str) -> dict:
        return {"last_name": "Martin", "first_name": "Sacha", "email": email, "category": "autre",
                "message": "Bonjour, une question.", "uai": school.uai}  # fmt: skip

    person = f"sacha.{uuid.uuid4().hex[:6]}@example.fr"
    async with make_client() as http:
        mistyped = await http.post("/assistance/tickets", json=form(person) | {"uai": "0000000A"})
        assert mistyped.status_code == 422  # not counted
        for _ in range(TICKETS_MAX_PER_EMAIL):
            assert (await http.post("/assistance/tickets", json=form(person))).status_code == 201
        refused = await http.post("/assistance/tickets", json=form(person.upper()))
        assert refused.status_code == 429 and refused.json()["code"] == "tickets_rate_limited"
        assert "vous recevrez une réponse par courriel" in refused.json()["message"]
        assert (await http.post("/assistance/tickets", json=form(f"x{person}"))).status_code == 201

    async with make_client() as http:  # one connection, a new address each time
        for i in range(TICKETS_MAX_PER_IP):
            assert (
                await http.post("/assistance/tickets", json=form(f"{i}{person}"))
            ).status_code == 201
        flood = await http.post("/assistance/tickets", json=form(f"last{person}"))
        assert flood.status_code == 429 and flood.json()["code"] == "tickets_rate_limited"
    opened = await db_pool.fetchval(
        "SELECT count(*) FROM assistance_tickets WHERE uai = $1", school.uai
    )
    assert opened == TICKETS_MAX_PER_EMAIL + 1 + TICKETS_MAX_PER_IP
