"""FranceConnect first visit on the time-skipping server, with the real
activities (PostgreSQL, the HTTP SMS gateway on loopback), the real API in
process, and a real OpenID Connect provider on loopback."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import httpx
import pytest

from educonnect.devtools.oidc_provider import LoopbackOidcProvider, ProviderIdentity
from educonnect.models.franceconnect import BirthdateUnblocked, LinkStep
from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP
from tests.support.corrections import approved_correction, eventually
from tests.support.families import Family, make_family
from tests.support.franceconnect import (
    fc_login,
    identity_for,
    unique_mobile,
    using_provider,
)
from tests.support.histories import record_history
from tests.support.sms import SmsOutbox, code_in
from workflows.franceconnect_link import FranceConnectLinkWorkflow, workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")

WRONG_BIRTHDATE = date(2001, 1, 1)


@pytest.fixture(scope="module")
def provider():
    with LoopbackOidcProvider() as provider, using_provider(provider.discovery_url):
        yield provider


@pytest.fixture(autouse=True)
def outbox(sms_gateway) -> SmsOutbox:
    """The real HTTP SMS gateway, for every test (the activities send to it)."""
    return SmsOutbox(sms_gateway.outbox_path)


async def family_with_mobile(db_pool, *, with_account: bool = True) -> tuple[Family, str]:
    family = await make_family(db_pool)
    mobile = unique_mobile()
    await db_pool.execute(
        "UPDATE guardians SET mobile = $2 WHERE id = $1", family.guardian_id, mobile
    )
    if not with_account:
        await db_pool.execute("DELETE FROM accounts WHERE id = $1", family.account_id)
    return family, mobile


async def first_visit(
    api: httpx.AsyncClient, provider: LoopbackOidcProvider, family: Family
) -> tuple[uuid.UUID, ProviderIdentity]:
    guardian = await app_pool(api).fetchrow(
        "SELECT first_name, last_name FROM guardians WHERE id = $1", family.guardian_id
    )
    identity = identity_for(guardian["first_name"], guardian["last_name"])
    provider.add_identity(identity)
    answer = await fc_login(api, identity.sub)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "link_required"
    assert body["link"]["step"] == "awaiting_mobile"
    return uuid.UUID(body["link"]["link_id"]), identity


def app_pool(api: httpx.AsyncClient):
    return api._transport.app.state.pool  # the API's own pool


def national(mobile: str) -> str:
    """+33612345678 -> "06 12 34 56 78", as a person types it."""
    digits = "0" + mobile[3:]
    return " ".join(digits[i : i + 2] for i in range(0, 10, 2))


async def enter_mobile_and_code(api, outbox: SmsOutbox, link_id, mobile: str) -> httpx.Response:
    entered = await api.post(
        f"/franceconnect/link/{link_id}/mobile", json={"mobile": national(mobile)}
    )
    assert entered.status_code == 200, entered.text
    assert entered.json()["step"] == "awaiting_code"
    [sms] = await outbox.wait_for(mobile, 1)
    return await api.post(f"/franceconnect/link/{link_id}/code", json={"code": code_in(sms)})


def handle(env, link_id):
    return env.client.get_workflow_handle_for(FranceConnectLinkWorkflow.run, workflow_id(link_id))


async def test_first_visit_links_the_identity_then_later_visits_sign_in_directly(
    api, db_pool, provider, outbox, time_skipping_env
):
    family, mobile = await family_with_mobile(db_pool)
    link_id, identity = await first_visit(api, provider, family)

    coded = await enter_mobile_and_code(api, outbox, link_id, mobile)
    assert coded.status_code == 200, coded.text
    assert coded.json()["step"] == "awaiting_birthdate"

    wrong = await api.post(
        f"/franceconnect/link/{link_id}/birthdate",
        json={"child_birthdate": WRONG_BIRTHDATE.isoformat()},
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "birthdate_incorrect"
    assert "Il vous reste 2 essais." in wrong.json()["message"]
    linked = await api.post(
        f"/franceconnect/link/{link_id}/birthdate",
        json={"child_birthdate": family.child_birthdates[0].isoformat()},
    )
    assert linked.status_code == 200, linked.text
    assert linked.json()["step"] == "linked" and linked.json()["identifier"] == family.identifier
    assert api.cookies.get("educonnect_session"), "signed in to the portal"

    row = await db_pool.fetchrow(
        "SELECT i.account_id, a.state, a.mobile_verified_at FROM franceconnect_identities i "
        "JOIN accounts a ON a.id = i.account_id WHERE i.sub = $1",
        identity.sub,
    )
    assert row["account_id"] == family.account_id
    assert row["state"] == "active" and row["mobile_verified_at"] is not None
    assert (
        await db_pool.fetchval(
            "SELECT count(*) FROM sessions WHERE account_id = $1 AND scope = 'portal'",
            family.account_id,
        )
        == 1
    )
    result = await handle(time_skipping_env, link_id).result()
    assert result.step == LinkStep.LINKED and result.account_id == family.account_id
    attributes = (await handle(time_skipping_env, link_id).describe()).typed_search_attributes
    assert attributes.get(PROCESS_STEP) == "linked" and attributes.get(ACCOUNT_ID) == str(
        family.account_id
    )

    # A later visit: FranceConnect signs in directly, no new process.
    api.cookies.clear()
    again = await fc_login(api, identity.sub)
    assert again.status_code == 200, again.text
    assert again.json() == {
        "status": "signed_in",
        "message": "Vous êtes connecté avec FranceConnect.",
        "identifier": family.identifier,
        "link": None,
    }
    assert api.cookies.get("educonnect_session")
    assert (
        await db_pool.fetchval(
            "SELECT count(*) FROM franceconnect_links l JOIN franceconnect_identities i ON i.id = l.identity_id "
            "WHERE i.sub = $1",
            identity.sub,
        )
        == 1
    )


async def test_account_created_for_a_guardian_without_one(api, db_pool, provider, outbox):
    family, mobile = await family_with_mobile(db_pool, with_account=False)
    link_id, identity = await first_visit(api, provider, family)
    assert (await enter_mobile_and_code(api, outbox, link_id, mobile)).status_code == 200
    linked = await api.post(
        f"/franceconnect/link/{link_id}/birthdate",
        json={"child_birthdate": family.child_birthdates[1].isoformat()},
    )
    assert linked.status_code == 200, linked.text
    account = await db_pool.fetchrow(
        "SELECT * FROM accounts WHERE guardian_id = $1", family.guardian_id
    )
    assert linked.json()["identifier"] == account["identifier"]
    assert account["identifier"].startswith("c.famille")
    assert account["state"] == "active" and account["kind"] == "guardian"
    assert account["mobile"] == mobile and account["mobile_verified_at"] is not None
    assert account["password_hash"] is None and account["provisional_password_hash"] is None
    assert (
        await db_pool.fetchval(
            "SELECT account_id FROM franceconnect_identities WHERE sub = $1", identity.sub
        )
        == account["id"]
    )


async def test_the_answer_is_the_same_whether_or_not_the_mobile_matches(
    api, db_pool, provider, outbox
):
    family, mobile = await family_with_mobile(db_pool)
    other_family, other_mobile = await family_with_mobile(db_pool)
    stranger = unique_mobile()  # on file for nobody
    answers = []
    for typed in (mobile, stranger, other_mobile):  # match; unknown number; number of someone else
        api.cookies.clear()
        link_id, _ = await first_visit(api, provider, family)
        answer = await api.post(
            f"/franceconnect/link/{link_id}/mobile", json={"mobile": national(typed)}
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        for moving in ("link_id", "expires_at"):
            body.pop(moving)
        for moving in ("last_sent_at", "resend_available_at", "code_expires_at"):
            body["code"].pop(moving)
        answers.append(body)
        if typed != mobile:
            # Any code is wrong: no code exists.
            wrong = await api.post(f"/franceconnect/link/{link_id}/code", json={"code": "123456"})
            assert wrong.status_code == 422 and wrong.json()["code"] == "sms_code_incorrect"
    assert answers[0] == answers[1] == answers[2]
    assert len(outbox.to(mobile)) == 1
    assert outbox.to(stranger) == [] and outbox.to(other_mobile) == []


async def test_only_the_browser_back_from_franceconnect_drives_the_process(api, db_pool, provider):
    family, mobile = await family_with_mobile(db_pool)
    link_id, _ = await first_visit(api, provider, family)
    api.cookies.clear()  # someone else who learnt the id
    for answer in (
        await api.get(f"/franceconnect/link/{link_id}"),
        await api.post(f"/franceconnect/link/{link_id}/mobile", json={"mobile": national(mobile)}),
    ):
        assert answer.status_code == 404 and answer.json()["code"] == "franceconnect_link_not_found"


async def test_invalid_mobile_is_refused_in_french(api, db_pool, provider):
    family, _ = await family_with_mobile(db_pool)
    link_id, _ = await first_visit(api, provider, family)
    answer = await api.post(f"/franceconnect/link/{link_id}/mobile", json={"mobile": "01 23"})
    assert answer.status_code == 422 and answer.json()["code"] == "phone_invalid"
    assert "numéro" in answer.json()["message"]
    still = await api.get(f"/franceconnect/link/{link_id}")
    assert still.json()["step"] == "awaiting_mobile"


async def test_first_visit_expires_after_30_minutes_without_progress(
    api, db_pool, provider, outbox, time_skipping_env
):
    family, mobile = await family_with_mobile(db_pool)
    link_id, _ = await first_visit(api, provider, family)
    wf = handle(time_skipping_env, link_id)

    await time_skipping_env.sleep(timedelta(minutes=29))
    assert (await wf.query(FranceConnectLinkWorkflow.status)).step == LinkStep.AWAITING_MOBILE
    entered = await api.post(
        f"/franceconnect/link/{link_id}/mobile", json={"mobile": national(mobile)}
    )
    assert entered.json()["step"] == "awaiting_code"  # progress: a new 30 minutes

    await time_skipping_env.sleep(timedelta(minutes=29))
    assert (await wf.query(FranceConnectLinkWorkflow.status)).step == LinkStep.AWAITING_CODE
    await time_skipping_env.sleep(timedelta(minutes=2))
    result = await wf.result()
    assert result.step == LinkStep.EXPIRED
    assert (await wf.describe()).typed_search_attributes.get(PROCESS_STEP) == "expired"

    [sms] = outbox.to(mobile)
    late = await api.post(f"/franceconnect/link/{link_id}/code", json={"code": code_in(sms)})
    assert late.status_code == 410 and late.json()["code"] == "franceconnect_link_expired"
    assert "30 minutes" in late.json()["message"]
    assert (
        await db_pool.fetchval("SELECT ended_at FROM franceconnect_links WHERE id = $1", link_id)
        is not None
    )


async def test_code_rules_apply(api, db_pool, provider, outbox, time_skipping_env):
    """The SMS code step's rules (resend cooldown, 5 wrong codes end the process)."""
    family, mobile = await family_with_mobile(db_pool)
    link_id, _ = await first_visit(api, provider, family)
    await api.post(f"/franceconnect/link/{link_id}/mobile", json={"mobile": national(mobile)})
    [first] = await outbox.wait_for(mobile, 1)

    too_soon = await api.post(f"/franceconnect/link/{link_id}/resend-code")
    assert too_soon.status_code == 429 and too_soon.json()["code"] == "sms_resend_too_soon"
    await time_skipping_env.sleep(timedelta(seconds=61))
    resent = await api.post(f"/franceconnect/link/{link_id}/resend-code")
    assert resent.status_code == 200, resent.text
    assert resent.json()["code"]["sends"] == 2
    _, second = await outbox.wait_for(mobile, 2)

    old = await api.post(f"/franceconnect/link/{link_id}/code", json={"code": code_in(first)})
    if code_in(first) != code_in(second):
        assert old.status_code == 422, "the first code died with the new one"
    for _ in range(4 if old.status_code == 422 else 5):
        wrong = "000000" if code_in(second) != "000000" else "111111"
        last = await api.post(f"/franceconnect/link/{link_id}/code", json={"code": wrong})
    assert last.status_code == 423 and last.json()["code"] == "sms_code_locked"
    sixth = await api.post(f"/franceconnect/link/{link_id}/code", json={"code": code_in(second)})
    assert sixth.status_code in (410, 423), sixth.text  # refused even though correct
    result = await handle(time_skipping_env, link_id).result()
    assert result.step == LinkStep.CODE_LOCKED and result.account_id is None


async def test_birthdate_blocks_after_three_tries_until_a_correction(
    api, db_pool, provider, outbox, time_skipping_env
):
    family, mobile = await family_with_mobile(db_pool)
    link_id, _ = await first_visit(api, provider, family)
    assert (await enter_mobile_and_code(api, outbox, link_id, mobile)).status_code == 200

    for left in (2, 1):
        wrong = await api.post(
            f"/franceconnect/link/{link_id}/birthdate",
            json={"child_birthdate": WRONG_BIRTHDATE.isoformat()},
        )
        assert wrong.status_code == 422 and wrong.json()["details"][0]["attempts_left"] == left
    blocked = await api.post(
        f"/franceconnect/link/{link_id}/birthdate",
        json={"child_birthdate": WRONG_BIRTHDATE.isoformat()},
    )
    assert blocked.status_code == 423 and blocked.json()["code"] == "birthdate_blocked"
    assert (
        blocked.json()["details"][0]["assistance_url"]
        == f"/franceconnect/link/{link_id}/correction"
    )
    status = (await api.get(f"/franceconnect/link/{link_id}")).json()
    assert status["step"] == "birthdate_blocked"
    assert status["assistance_url"] == f"/franceconnect/link/{link_id}/correction"
    refused = await api.post(
        f"/franceconnect/link/{link_id}/birthdate",
        json={"child_birthdate": family.child_birthdates[0].isoformat()},
    )
    assert refused.status_code == 423, "blocked: even the right date waits for the correction"

    # Blocked for days (longer than the 30-minute idle timeout) while staff decide.
    wf = handle(time_skipping_env, link_id)
    await time_skipping_env.sleep(timedelta(days=3))
    assert (await wf.query(FranceConnectLinkWorkflow.status)).step == LinkStep.BIRTHDATE_BLOCKED
    # An approved correction this process joined, read back before the step starts afresh.
    correction_id = await approved_correction(db_pool, wf.id)
    await wf.signal(
        FranceConnectLinkWorkflow.birthdate_unblocked,
        BirthdateUnblocked(correction_id=correction_id),
    )

    async def resumed() -> bool:
        return (
            await wf.query(FranceConnectLinkWorkflow.status)
        ).step == LinkStep.AWAITING_BIRTHDATE

    await eventually(resumed, "link unblocked")
    status = await wf.query(FranceConnectLinkWorkflow.status)
    assert status.step == LinkStep.AWAITING_BIRTHDATE and status.birthdate_attempts_left == 3

    # The person comes back later through FranceConnect and carries on.
    await time_skipping_env.sleep(timedelta(days=2))
    api.cookies.clear()
    identity_sub = await db_pool.fetchval(
        "SELECT i.sub FROM franceconnect_links l JOIN franceconnect_identities i ON i.id = l.identity_id "
        "WHERE l.id = $1",
        link_id,
    )
    back = await fc_login(api, identity_sub)
    assert back.json()["link"]["link_id"] == str(link_id)
    assert back.json()["link"]["step"] == "awaiting_birthdate"
    linked = await api.post(
        f"/franceconnect/link/{link_id}/birthdate",
        json={"child_birthdate": family.child_birthdates[0].isoformat()},
    )
    assert linked.status_code == 200, linked.text
    assert (await wf.result()).step == LinkStep.LINKED


# --- a mistyped mobile: "Modifier le numéro" (issue 11) --------------------------------


def comparable(view: dict) -> dict:
    """A step's answer without what moves with time and ids."""
    view = dict(view, code=dict(view["code"]))
    for moving in ("link_id", "expires_at"):
        view.pop(moving)
    for moving in ("last_sent_at", "resend_available_at", "code_expires_at"):
        view["code"].pop(moving)
    return view


async def change_mobile(api, link_id, mobile: str) -> httpx.Response:
    return await api.post(
        f"/franceconnect/link/{link_id}/change-mobile", json={"mobile": national(mobile)}
    )


async def test_mistyped_mobile_changed_while_waiting_for_the_code(
    api, db_pool, provider, outbox, time_skipping_env
):
    family, mobile = await family_with_mobile(db_pool)
    link_id, identity = await first_visit(api, provider, family)
    mistyped = unique_mobile()
    entered = await api.post(
        f"/franceconnect/link/{link_id}/mobile", json={"mobile": national(mistyped)}
    )
    assert entered.status_code == 200 and entered.json()["step"] == "awaiting_code"
    assert "Modifier le numéro" in entered.json()["message"]
    wrong = await api.post(f"/franceconnect/link/{link_id}/code", json={"code": "123456"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "sms_code_incorrect"

    await time_skipping_env.sleep(timedelta(minutes=25))  # a while before noticing
    changed = await change_mobile(api, link_id, mobile)
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["step"] == "awaiting_code" and body["code"]["sends"] == 1
    assert body["code"]["attempts_left"] == 4, "the wrong code typed before still counts"
    [sms] = await outbox.wait_for(mobile, 1)
    assert outbox.to(mistyped) == []

    # The change was progress: a fresh 30 minutes from it (34 since the start).
    await time_skipping_env.sleep(timedelta(minutes=9))
    coded = await api.post(f"/franceconnect/link/{link_id}/code", json={"code": code_in(sms)})
    assert coded.status_code == 200, coded.text
    assert coded.json()["step"] == "awaiting_birthdate"
    late = await change_mobile(api, link_id, unique_mobile())
    assert late.status_code == 409 and late.json()["code"] == "franceconnect_link_wrong_step"

    linked = await api.post(
        f"/franceconnect/link/{link_id}/birthdate",
        json={"child_birthdate": family.child_birthdates[0].isoformat()},
    )
    assert linked.status_code == 200, linked.text
    wf = handle(time_skipping_env, link_id)
    assert (await wf.result()).step == LinkStep.LINKED
    history = (await wf.fetch_history()).to_json()
    assert code_in(sms) not in history, "no code in the history"
    await record_history(wf, "franceconnect-link-mobile-changed-linked")


async def test_changing_the_number_answers_the_same_whether_or_not_it_is_on_file(
    api, db_pool, provider, outbox
):
    family, mobile = await family_with_mobile(db_pool)
    answers = []
    for typed in (mobile, unique_mobile()):
        api.cookies.clear()
        link_id, _ = await first_visit(api, provider, family)
        first = await api.post(
            f"/franceconnect/link/{link_id}/mobile", json={"mobile": national(unique_mobile())}
        )
        assert first.status_code == 200
        changed = await change_mobile(api, link_id, typed)
        assert changed.status_code == 200, changed.text
        answers.append(comparable(changed.json()))
    assert answers[0] == answers[1]
    assert len(await outbox.wait_for(mobile, 1)) == 1


async def test_three_numbers_per_first_visit(api, db_pool, provider, outbox):
    family, mobile = await family_with_mobile(db_pool)
    link_id, _ = await first_visit(api, provider, family)
    too_early = await change_mobile(api, link_id, mobile)
    assert too_early.status_code == 409 and too_early.json()["code"] == (
        "franceconnect_link_wrong_step"
    )
    await api.post(
        f"/franceconnect/link/{link_id}/mobile", json={"mobile": national(unique_mobile())}
    )
    assert (await change_mobile(api, link_id, unique_mobile())).status_code == 200
    assert (await change_mobile(api, link_id, unique_mobile())).status_code == 200
    fourth = await change_mobile(api, link_id, mobile)
    assert fourth.status_code == 429 and fourth.json()["code"] == "franceconnect_mobile_limit"
    assert "numéros de téléphone mobile (3)" in fourth.json()["message"]
    assert outbox.to(mobile) == [], "refused before anything was sent"
    status = (await api.get(f"/franceconnect/link/{link_id}")).json()
    assert status["step"] == "awaiting_code"


async def test_coming_back_before_the_code_starts_afresh_within_a_daily_limit(
    api, db_pool, provider, outbox, time_skipping_env
):
    """Every number tried counts for the FranceConnect identity's day: a fresh
    first visit (coming back through FranceConnect) does not start it again."""
    family, mobile = await family_with_mobile(db_pool)
    first_link, identity = await first_visit(api, provider, family)
    tried = [unique_mobile() for _ in range(6)]
    await api.post(f"/franceconnect/link/{first_link}/mobile", json={"mobile": national(tried[0])})
    for number in tried[1:3]:
        assert (await change_mobile(api, first_link, number)).status_code == 200

    # Stuck at the code (3 numbers, none right): back through FranceConnect.
    api.cookies.clear()
    back = await fc_login(api, identity.sub)
    assert back.status_code == 200, back.text
    second_link = uuid.UUID(back.json()["link"]["link_id"])
    assert second_link != first_link and back.json()["link"]["step"] == "awaiting_mobile"
    old = handle(time_skipping_env, first_link)
    assert (await old.result()).step == LinkStep.REPLACED
    await record_history(old, "franceconnect-link-replaced-at-the-code")
    assert await db_pool.fetchval(
        "SELECT ended_at IS NOT NULL FROM franceconnect_links WHERE id = $1", first_link
    )

    await api.post(f"/franceconnect/link/{second_link}/mobile", json={"mobile": national(tried[3])})
    for number in tried[4:6]:
        assert (await change_mobile(api, second_link, number)).status_code == 200

    api.cookies.clear()
    third_link = uuid.UUID((await fc_login(api, identity.sub)).json()["link"]["link_id"])
    seventh = await api.post(
        f"/franceconnect/link/{third_link}/mobile", json={"mobile": national(mobile)}
    )
    assert seventh.status_code == 429, seventh.text
    assert seventh.json()["code"] == "franceconnect_mobile_daily_limit"
    assert outbox.to(mobile) == []
    # A number already tried today does not count again (the same answer as before).
    again = await api.post(
        f"/franceconnect/link/{third_link}/mobile", json={"mobile": national(tried[0])}
    )
    assert again.status_code == 200 and again.json()["step"] == "awaiting_code"
    assert (
        await db_pool.fetchval(
            "SELECT count(*) FROM franceconnect_mobile_tries t "
            "JOIN franceconnect_identities i ON i.id = t.identity_id WHERE i.sub = $1",
            identity.sub,
        )
        == 6
    )
    stored = b"".join(
        bytes(r["mobile_hash"])
        for r in await db_pool.fetch("SELECT mobile_hash FROM franceconnect_mobile_tries")
    )
    assert all(number.encode() not in stored for number in tried), "numbers kept as HMACs"


async def test_coming_back_after_an_expired_first_visit_starts_a_fresh_one(
    api, db_pool, provider, time_skipping_env
):
    family, _ = await family_with_mobile(db_pool)
    link_id, identity = await first_visit(api, provider, family)
    await time_skipping_env.sleep(timedelta(minutes=31))
    assert (await handle(time_skipping_env, link_id).result()).step == LinkStep.EXPIRED
    api.cookies.clear()
    back = await fc_login(api, identity.sub)
    assert back.status_code == 200, back.text
    fresh = back.json()["link"]
    assert fresh["link_id"] != str(link_id) and fresh["step"] == "awaiting_mobile"
