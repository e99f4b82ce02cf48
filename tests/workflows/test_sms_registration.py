"""SMS self-registration (DESIGN §3.2, FAQ 2.1) on the time-skipping server,
with the real activities (PostgreSQL, the real HTTP SMS gateway on loopback)
and the real API in process."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg
import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.sms_codes import SmsCodeActivities
from educonnect import policies
from educonnect.models.activation import BirthdateUnblocked
from educonnect.models.registration import RegistrationStep
from educonnect.models.sms_codes import CheckCodeRequest, SendCodeRequest, SendOutcome, SmsPurpose
from educonnect.passwords import hash_password_async
from educonnect.search_attributes import PROCESS_STEP
from educonnect.sms_codes import store_code_submission
from tests.support.corrections import approved_correction, eventually
from tests.support.names import letters_tag
from tests.support.odd_gateway import odd_gateway
from tests.support.sms import SmsOutbox, code_in
from workflows.sms_registration import SmsRegistrationWorkflow, workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")

NEW_PASSWORD = "Soleil2027b"
SCHOOL_UAI = "0690002U"
SECOND = timedelta(seconds=1)


@dataclass
class Guardian:
    guardian_id: uuid.UUID
    last_name: str
    first_name: str
    mobile: str  # E.164, on file
    child_birthdates: list[date]
    account_id: uuid.UUID | None = None


def a_mobile() -> str:
    """A French mobile number of this test's own (06 1x xx xx xx)."""
    return f"+3361{uuid.uuid4().int % 10_000_000:07d}"


async def make_guardian(pool: asyncpg.Pool, *, with_account: bool = False) -> Guardian:
    tag = letters_tag()
    guardian = Guardian(
        uuid.uuid4(), f"Lefèvre-{tag}", "Hélène", a_mobile(), [date(2014, 3, 9), date(2017, 12, 30)]
    )
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO schools (uai, name, kind, degree, academie, city) "
            "VALUES ($1, 'École Test', 'ecole', 1, 'Lyon', 'Lyon') ON CONFLICT DO NOTHING",
            SCHOOL_UAI,
        )
        await conn.execute(
            "INSERT INTO guardians (id, last_name, first_name, mobile, email) VALUES ($1, $2, $3, $4, $5)",
            guardian.guardian_id,
            guardian.last_name,
            guardian.first_name,
            guardian.mobile,
            f"helene.{tag}@example.fr",
        )
        for first_name, birthdate in zip(["Zoé", "Noé"], guardian.child_birthdates, strict=True):
            pupil_id = uuid.uuid4()
            await conn.execute(
                "INSERT INTO pupils (id, last_name, first_name, birthdate, uai, class_name, level) "
                "VALUES ($1, $2, $3, $4, $5, 'CM1', 'CM1')",
                pupil_id,
                guardian.last_name,
                first_name,
                birthdate,
                SCHOOL_UAI,
            )
            await conn.execute(
                "INSERT INTO guardian_pupils (guardian_id, pupil_id) VALUES ($1, $2)",
                guardian.guardian_id,
                pupil_id,
            )
        if with_account:
            guardian.account_id = uuid.uuid4()
            await conn.execute(
                "INSERT INTO accounts (id, kind, identifier, guardian_id, state, password_hash) "
                "VALUES ($1, 'guardian', $2, $3, 'active', $4)",
                guardian.account_id,
                f"h.lefevre{tag}",
                guardian.guardian_id,
                await hash_password_async("Ancien2020x"),
            )
    return guardian


def national(e164: str) -> str:
    """As a person types it: "06 12 34 56 78"."""
    digits = "0" + e164[3:]
    return " ".join(digits[i : i + 2] for i in range(0, 10, 2))


async def start(api: httpx.AsyncClient, guardian: Guardian, **overrides) -> str:
    body = {
        # Typed without accents and in capitals: matching ignores both.
        "last_name": guardian.last_name.upper().replace("È", "E"),
        "first_name": "helene",
        "mobile": national(guardian.mobile),
    } | overrides
    started = await api.post("/registration", json=body)
    assert started.status_code == 201, started.text
    return started.json()["registration_id"]


async def wait_for_code(outbox: SmsOutbox, guardian: Guardian, count: int = 1) -> str:
    messages = await outbox.wait_for(guardian.mobile, count)
    assert len(messages) == count, messages
    return code_in(messages[-1])


async def submit_code(api, rid: str, code: str) -> httpx.Response:
    return await api.post(f"/registration/{rid}/code", json={"code": code})


async def sent_status(api, rid: str) -> dict:
    """The status once the first code step ran (the workflow starts after the answer)."""
    for _ in range(200):
        status = (await api.get(f"/registration/{rid}")).json()
        if status["code"] is not None:
            return status
        await asyncio.sleep(0.02)
    raise AssertionError(f"no code step in {status}")


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def handle_of(env, rid: str):
    return env.client.get_workflow_handle_for(SmsRegistrationWorkflow.run, workflow_id(rid))


async def unblock(pool: asyncpg.Pool, handle, status) -> None:
    """The seam for the correction process: `birthdate_unblocked` with an approved
    correction this registration joined; back at the birthdate step once read back."""
    correction_id = await approved_correction(pool, handle.id)
    await handle.signal(
        SmsRegistrationWorkflow.birthdate_unblocked, BirthdateUnblocked(correction_id=correction_id)
    )

    async def resumed() -> bool:
        return (await status()).json()["step"] == "birthdate"

    await eventually(resumed, "registration unblocked")


@pytest.fixture
def outbox(sms_gateway) -> SmsOutbox:
    return SmsOutbox(sms_gateway.outbox_path)


@pytest.fixture
async def sms_api(sms_gateway, api):
    """The in-process API, with the SMS gateway started before the worker."""
    api.cookies.clear()
    return api


async def test_registration_creates_the_account_and_signs_in(
    sms_api, db_pool, outbox, time_skipping_env
):
    api = sms_api
    guardian = await make_guardian(db_pool)
    rid = await start(api, guardian)
    code = await wait_for_code(outbox, guardian)
    [sms] = outbox.to(guardian.mobile)
    assert (
        sms["text"]
        == f"Votre code EduConnect est {code}. Il est valable 10 minutes. Ne le communiquez à personne."
    )

    status = (await api.get(f"/registration/{rid}")).json()
    assert status["step"] == "awaiting_code" and status["code"]["sends_left"] == 2
    assert "guardian_id" not in status

    after_code = await submit_code(api, rid, code)
    assert after_code.status_code == 200, after_code.text
    assert after_code.json()["step"] == "birthdate"
    # Single use: the same code again is refused.
    again = await submit_code(api, rid, code)
    assert again.status_code == 409 and again.json()["code"] == "registration_wrong_step"

    birthdate = await api.post(f"/registration/{rid}/birthdate", json={"birthdate": "2017-12-30"})
    assert birthdate.status_code == 200 and birthdate.json()["step"] == "password"

    weak = await api.post(
        f"/registration/{rid}/password",
        json={"password": "Lefevre2024", "password_confirmation": "Lefevre2024"},
    )
    assert weak.status_code == 422 and weak.json()["code"] == "password_policy"
    assert {d["code"] for d in weak.json()["details"]} == {"password_name"}
    mismatch = await api.post(
        f"/registration/{rid}/password",
        json={"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD + "x"},
    )
    assert mismatch.status_code == 422 and mismatch.json()["code"] == "password_mismatch"
    done = await api.post(
        f"/registration/{rid}/password",
        json={"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD},
    )
    assert done.status_code == 200, done.text
    identifier = done.json()["identifier"]
    assert identifier.startswith("h.lefevre") and identifier in done.json()["message"]
    assert done.json()["status"] == "signed_in" and "educonnect_session" in api.cookies

    account = await db_pool.fetchrow(
        "SELECT id, state, mobile, mobile_verified_at, password_hash FROM accounts WHERE guardian_id = $1",
        guardian.guardian_id,
    )
    assert account["state"] == "active" and account["mobile"] == guardian.mobile
    assert account["mobile_verified_at"] is not None
    children = await db_pool.fetchval(
        "SELECT count(*) FROM accounts a JOIN guardian_pupils gp ON gp.guardian_id = a.guardian_id WHERE a.id = $1",
        account["id"],
    )
    assert children == 2
    session_account = await db_pool.fetchval(
        "SELECT account_id FROM sessions WHERE account_id = $1 AND scope = 'portal'", account["id"]
    )
    assert session_account == account["id"]
    pending = await db_pool.fetchrow(
        "SELECT password_hash, account_id FROM registrations WHERE process_id = $1",
        workflow_id(rid),
    )
    assert pending["password_hash"] is None and pending["account_id"] == account["id"]

    handle = handle_of(time_skipping_env, rid)
    assert (await handle.result()).step == RegistrationStep.COMPLETED
    # Nothing secret entered Temporal: neither the code nor the password nor its hash.
    history = (await handle.fetch_history()).to_json()
    for secret in (code, NEW_PASSWORD, account["password_hash"]):
        assert secret not in history
    api.cookies.clear()
    signed = await api.post("/sign-in", json={"identifier": identifier, "password": NEW_PASSWORD})
    assert signed.status_code == 200 and signed.json()["status"] == "signed_in"


async def test_only_the_browser_that_started_may_continue(
    sms_api, db_pool, outbox, make_client, time_skipping_env
):
    """The registration id shows in the address bar, the history, a shared
    screen: another browser holding it is told the same as for an unknown id.
    It cannot read the step, answer a step, file or read a correction, nor
    finish the registration and be signed in as the guardian."""
    api = sms_api
    guardian = await make_guardian(db_pool)
    rid = await start(api, guardian)
    code = await wait_for_code(outbox, guardian)
    assert (await submit_code(api, rid, code)).json()["step"] == "birthdate"
    stranger = make_client()

    async def refusals() -> list[httpx.Response]:
        return [
            await stranger.get(f"/registration/{rid}"),
            await stranger.post(f"/registration/{rid}/code", json={"code": code}),
            await stranger.post(f"/registration/{rid}/resend-code"),
            await stranger.post(f"/registration/{rid}/birthdate", json={"birthdate": "2015-01-01"}),
            await stranger.post(
                f"/registration/{rid}/password",
                json={"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD},
            ),
            await stranger.get(f"/registration/{rid}/correction"),
            await stranger.post(
                f"/registration/{rid}/correction/{uuid.uuid4()}/answer", json={"message": "Bonjour"}
            ),
        ]

    unknown = (await stranger.get(f"/registration/{uuid.uuid4()}")).json()
    for refused in await refusals():
        assert refused.status_code == 404 and refused.json() == unknown, refused.text
    # Its wrong birthdate did not count: the guardian still has three tries.
    assert (await api.get(f"/registration/{rid}")).json()["birthdate_attempts_left"] == 3

    # Blocked on a birthdate: the children's names stay with the guardian's browser.
    for _ in range(3):
        await api.post(f"/registration/{rid}/birthdate", json={"birthdate": "2015-01-01"})
    assert (await api.get(f"/registration/{rid}/correction")).status_code == 200
    for refused in await refusals():
        assert refused.status_code == 404 and refused.json() == unknown, refused.text
        assert "Zoé" not in refused.text and "•" not in refused.text

    # Unblocked, at the password step: only the guardian's browser finishes and is signed in.
    await unblock(
        db_pool, handle_of(time_skipping_env, rid), lambda: api.get(f"/registration/{rid}")
    )
    assert (
        await api.post(f"/registration/{rid}/birthdate", json={"birthdate": "2014-03-09"})
    ).json()["step"] == "password"
    for refused in await refusals():
        assert refused.status_code == 404 and refused.json() == unknown, refused.text
    assert "educonnect_session" not in stranger.cookies
    assert (
        await db_pool.fetchval(
            "SELECT count(*) FROM accounts WHERE guardian_id = $1", guardian.guardian_id
        )
        == 0
    )
    done = await api.post(
        f"/registration/{rid}/password",
        json={"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD},
    )
    assert done.status_code == 200 and done.json()["status"] == "signed_in", done.text
    # Ended: the guardian's browser is told how; another still reads "unknown".
    assert (await api.get(f"/registration/{rid}")).json()["step"] == "completed"
    ended = await stranger.get(f"/registration/{rid}")
    assert (
        ended.status_code == 404
        and ended.json() == unknown
        and done.json()["identifier"] not in ended.text
    )
    await stranger.aclose()


async def test_code_expires_after_ten_minutes(sms_api, db_pool, outbox, time_skipping_env):
    api = sms_api
    guardian = await make_guardian(db_pool)
    rid = await start(api, guardian)
    first = await wait_for_code(outbox, guardian)

    await time_skipping_env.sleep(timedelta(minutes=9, seconds=50))
    wrong_in_time = await submit_code(api, rid, wrong(first))
    assert wrong_in_time.json()["code"] == "sms_code_incorrect"  # still live: checked and wrong

    await time_skipping_env.sleep(timedelta(seconds=11))
    expired = await submit_code(api, rid, first)
    assert expired.status_code == 410 and expired.json()["code"] == "sms_code_expired"
    assert "expiré" in expired.json()["message"]

    resent = await api.post(f"/registration/{rid}/resend-code")
    assert resent.status_code == 200, resent.text
    second = await wait_for_code(outbox, guardian, 2)
    assert (await submit_code(api, rid, second)).json()["step"] == "birthdate"


async def test_resend_cooldown_send_cap_and_old_code_dies(
    sms_api, db_pool, outbox, time_skipping_env
):
    api = sms_api
    guardian = await make_guardian(db_pool)
    rid = await start(api, guardian)
    first = await wait_for_code(outbox, guardian)

    too_soon = await api.post(f"/registration/{rid}/resend-code")
    assert too_soon.status_code == 429 and too_soon.json()["code"] == "sms_resend_too_soon"
    await time_skipping_env.sleep(timedelta(seconds=55))
    assert (await api.post(f"/registration/{rid}/resend-code")).json()[
        "code"
    ] == "sms_resend_too_soon"

    await time_skipping_env.sleep(timedelta(seconds=6))
    resent = await api.post(f"/registration/{rid}/resend-code")
    assert resent.status_code == 200 and resent.json()["code"]["sends_left"] == 1
    second = await wait_for_code(outbox, guardian, 2)
    await time_skipping_env.sleep(timedelta(seconds=61))
    assert (await api.post(f"/registration/{rid}/resend-code")).status_code == 200
    third = await wait_for_code(outbox, guardian, 3)

    await time_skipping_env.sleep(timedelta(seconds=61))
    capped = await api.post(f"/registration/{rid}/resend-code")
    assert capped.status_code == 429 and capped.json()["code"] == "sms_send_limit"
    assert len(outbox.to(guardian.mobile)) == policies.SMS_MAX_SENDS

    # Each new code killed the previous ones (unless a code repeats by chance).
    for old in {first, second} - {third}:
        assert (await submit_code(api, rid, old)).json()["code"] == "sms_code_incorrect"
    assert (await submit_code(api, rid, third)).json()["step"] == "birthdate"


async def test_failures_are_kept_across_resends_and_the_sixth_is_refused(
    sms_api, db_pool, outbox, time_skipping_env
):
    api = sms_api
    guardian = await make_guardian(db_pool)
    rid = await start(api, guardian)
    first = await wait_for_code(outbox, guardian)
    for left in (4, 3, 2):
        refused = await submit_code(api, rid, wrong(first))
        assert refused.status_code == 422 and refused.json()["details"][0]["attempts_left"] == left

    await time_skipping_env.sleep(timedelta(seconds=61))
    assert (await api.post(f"/registration/{rid}/resend-code")).status_code == 200
    latest = await wait_for_code(outbox, guardian, 2)
    fourth = await submit_code(api, rid, wrong(latest))
    assert fourth.json()["details"][0]["attempts_left"] == 1  # the new code did not reset the count
    fifth = await submit_code(api, rid, wrong(latest))
    assert fifth.status_code == 423 and fifth.json()["code"] == "sms_code_locked"

    sixth = await submit_code(api, rid, latest)  # the right code, too late
    assert sixth.status_code == 423 and sixth.json()["code"] == "sms_code_locked"
    handle = handle_of(time_skipping_env, rid)
    assert (await handle.result()).step == RegistrationStep.CODE_LOCKED
    assert (await api.get(f"/registration/{rid}")).json()["step"] == "code_locked"
    assert (
        await db_pool.fetchval(
            "SELECT count(*) FROM accounts WHERE guardian_id = $1", guardian.guardian_id
        )
        == 0
    )
    # The right code was never even compared (its row is unused), and it died with the attempt.
    codes = await db_pool.fetch(
        "SELECT used_at, revoked_at FROM sms_codes WHERE process_id = $1", workflow_id(rid)
    )
    assert len(codes) == 2 and all(
        c["used_at"] is None and c["revoked_at"] is not None for c in codes
    )


async def test_attempt_expires_after_thirty_minutes_without_progress(
    sms_api, db_pool, outbox, time_skipping_env
):
    api = sms_api
    guardian = await make_guardian(db_pool)
    rid = await start(api, guardian)
    await wait_for_code(outbox, guardian)
    await time_skipping_env.sleep(timedelta(minutes=15))
    assert (await api.post(f"/registration/{rid}/resend-code")).status_code == 200
    code = await wait_for_code(outbox, guardian, 2)
    await time_skipping_env.sleep(timedelta(minutes=5))
    assert (await submit_code(api, rid, code)).json()[
        "step"
    ] == "birthdate"  # progress at minute 20

    await time_skipping_env.sleep(timedelta(minutes=25))  # minute 45: alive, the deadline moved
    assert (await api.get(f"/registration/{rid}")).json()["step"] == "birthdate"

    await time_skipping_env.sleep(
        timedelta(minutes=5, seconds=1)
    )  # minute 50: 30 min without progress
    handle = handle_of(time_skipping_env, rid)
    assert (await handle.result()).step == RegistrationStep.EXPIRED
    assert (await handle.describe()).typed_search_attributes.get(PROCESS_STEP) == "expired"
    late = await api.post(f"/registration/{rid}/birthdate", json={"birthdate": "2014-03-09"})
    assert late.status_code == 410 and late.json()["code"] == "registration_expired"


async def test_an_untouched_attempt_expires_after_thirty_minutes(
    sms_api, db_pool, outbox, time_skipping_env
):
    api = sms_api
    guardian = await make_guardian(db_pool)
    rid = await start(api, guardian)
    await wait_for_code(outbox, guardian)
    await time_skipping_env.sleep(timedelta(minutes=29))
    assert (await api.get(f"/registration/{rid}")).json()["step"] == "awaiting_code"
    await time_skipping_env.sleep(timedelta(minutes=1, seconds=1))
    assert (await handle_of(time_skipping_env, rid).result()).step == RegistrationStep.EXPIRED


async def test_three_wrong_birthdates_block_until_a_correction(
    sms_api, db_pool, outbox, time_skipping_env
):
    api = sms_api
    guardian = await make_guardian(db_pool)
    rid = await start(api, guardian)
    assert (await submit_code(api, rid, await wait_for_code(outbox, guardian))).status_code == 200

    wrong_date = {"birthdate": "2015-01-01"}
    first = await api.post(f"/registration/{rid}/birthdate", json=wrong_date)
    assert first.status_code == 422 and first.json()["code"] == "birthdate_incorrect"
    assert "2 essai" in first.json()["message"]
    assert (await api.post(f"/registration/{rid}/birthdate", json=wrong_date)).json()["details"][0][
        "attempts_left"
    ] == 1
    third = await api.post(f"/registration/{rid}/birthdate", json=wrong_date)
    assert third.status_code == 423 and third.json()["code"] == "birthdate_blocked"
    assert third.json()["details"][0]["assistance_url"] == f"/registration/{rid}/correction"
    assert "formulaire d'assistance" in third.json()["message"]

    right = {"birthdate": guardian.child_birthdates[0].isoformat()}
    assert (await api.post(f"/registration/{rid}/birthdate", json=right)).json()[
        "code"
    ] == "birthdate_blocked"
    # Blocked is not idle: the attempt waits for the correction for days.
    await time_skipping_env.sleep(timedelta(hours=3))
    status = (await api.get(f"/registration/{rid}")).json()
    assert (
        status["step"] == "birthdate_blocked"
        and status["assistance_url"] == f"/registration/{rid}/correction"
    )

    # The seam for the correction process (same signal as activation).
    handle = handle_of(time_skipping_env, rid)
    await unblock(db_pool, handle, lambda: api.get(f"/registration/{rid}"))
    status = (await api.get(f"/registration/{rid}")).json()
    assert status["step"] == "birthdate" and status["birthdate_attempts_left"] == 3
    assert (await api.post(f"/registration/{rid}/birthdate", json=right)).json()[
        "step"
    ] == "password"


async def test_a_guardian_with_an_account_gets_an_sms_not_a_new_account(
    sms_api, db_pool, outbox, time_skipping_env
):
    """Three people, three identical screens: a guardian with an account (told by
    SMS), a guardian without one (gets a code), and a name that matches no record
    on a number on file (nothing sent, no code can succeed)."""
    api = sms_api
    with_account = await make_guardian(db_pool, with_account=True)
    fresh = await make_guardian(db_pool)
    stranger = await make_guardian(db_pool)
    bodies = [
        {
            "last_name": with_account.last_name,
            "first_name": with_account.first_name,
            "mobile": with_account.mobile,
        },
        {"last_name": fresh.last_name, "first_name": fresh.first_name, "mobile": fresh.mobile},
        {
            "last_name": stranger.last_name,
            "first_name": "Hélèna",
            "mobile": stranger.mobile,
        },  # not the name on file
    ]
    answers = [await api.post("/registration", json=body) for body in bodies]
    assert [a.status_code for a in answers] == [201] * 3
    assert [set(a.json()) for a in answers] == [{"registration_id", "message"}] * 3
    assert len({a.json()["message"] for a in answers}) == 1
    rids = [a.json()["registration_id"] for a in answers]

    [notice] = await outbox.wait_for(with_account.mobile, 1)
    assert "déjà un compte EduConnect" in notice["text"] and "/identifiant-oublie" in notice["text"]
    assert not any(ch.isdigit() for ch in notice["text"].split("http")[0])  # no code in it
    await wait_for_code(outbox, fresh)

    statuses = [await sent_status(api, rid) for rid in rids]
    assert {s["step"] for s in statuses} == {"awaiting_code"}
    assert {s["code"]["sends_left"] for s in statuses} == {2}
    for rid in (rids[0], rids[2]):
        for guess in ("000000", "123456"):
            assert (await submit_code(api, rid, guess)).json()["code"] == "sms_code_incorrect"
    assert (
        await db_pool.fetchval(
            "SELECT count(*) FROM accounts WHERE guardian_id = $1", with_account.guardian_id
        )
        == 1
    )
    assert outbox.to(stranger.mobile) == []

    await time_skipping_env.sleep(timedelta(minutes=31))
    assert (await handle_of(time_skipping_env, rids[0]).result()).step == RegistrationStep.EXPIRED
    assert len(outbox.to(with_account.mobile)) == 1


async def test_daily_cap_per_number(sms_api, db_pool, outbox):
    api = sms_api
    guardian = await make_guardian(db_pool)
    await db_pool.execute(
        "INSERT INTO sms_daily_counts (mobile, day, sent) VALUES ($1, (now() AT TIME ZONE 'Europe/Paris')::date, $2)",
        guardian.mobile,
        policies.SMS_DAILY_CAP_PER_NUMBER - 1,
    )
    first_rid = await start(api, guardian)
    await wait_for_code(outbox, guardian)  # the 10th SMS of the day goes out
    second_rid = await start(api, guardian)
    status = await sent_status(api, second_rid)
    assert status["code"]["sends"] == 1  # counted like any send: same answers
    assert (await submit_code(api, second_rid, "123456")).json()["code"] == "sms_code_incorrect"
    assert len(await outbox.wait_for(guardian.mobile, 2, timeout=1)) == 1  # the 11th did not
    assert first_rid != second_rid
    row = await db_pool.fetchrow(
        "SELECT outcome, code_hash FROM sms_codes WHERE process_id = $1", workflow_id(second_rid)
    )
    assert row["outcome"] == "daily_cap" and row["code_hash"] is None


async def test_invalid_inputs_are_french_refusals(sms_api):
    api = sms_api
    bad_phone = await api.post(
        "/registration", json={"last_name": "Durand", "first_name": "Léa", "mobile": "12"}
    )
    assert bad_phone.status_code == 422 and bad_phone.json()["code"] == "phone_invalid"
    landline = await api.post(
        "/registration",
        json={"last_name": "Durand", "first_name": "Léa", "mobile": "04 78 12 34 56"},
    )
    assert landline.json()["code"] == "phone_invalid"
    no_letters = await api.post(
        "/registration", json={"last_name": "---", "first_name": "Léa", "mobile": "06 12 34 56 78"}
    )
    assert no_letters.status_code == 422 and no_letters.json()["code"] == "invalid_input"
    unknown = await api.get(f"/registration/{uuid.uuid4()}")
    assert unknown.status_code == 404 and unknown.json()["code"] == "registration_not_found"
    not_a_uuid = await api.post("/registration/not-a-uuid/code", json={"code": "123456"})
    assert not_a_uuid.status_code == 422 and not_a_uuid.json()["code"] == "invalid_input"
    bad_code = await api.post(f"/registration/{uuid.uuid4()}/code", json={"code": "12a456"})
    assert bad_code.status_code == 422 and bad_code.json()["code"] == "invalid_input"


# --- the activities alone: idempotent per step --------------------------------------


def activity_env(process_id: str) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=process_id, workflow_run_id="run-1")
    return env


async def test_send_code_is_idempotent_per_step_and_revokes_the_previous_code(
    sms_gateway, db_pool, outbox
):
    activities = SmsCodeActivities(db_pool)
    process_id = f"test-sms/{uuid.uuid4()}"
    mobile = a_mobile()
    expires = datetime.now(UTC) + timedelta(minutes=10)
    request = SendCodeRequest(
        process_id=process_id,
        step="sms-code-1",
        purpose=SmsPurpose.FRANCECONNECT,
        mobile=mobile,
        expires_at=expires,
    )
    env = activity_env(process_id)
    first = await env.run(activities.send_code, request)
    replay = await env.run(activities.send_code, request)
    assert first.outcome == SendOutcome.SENT and replay.code_id == first.code_id
    [sms] = await outbox.wait_for(mobile, 1)
    code = code_in(sms)

    submission = await store_code_submission(db_pool, process_id, code)
    check = CheckCodeRequest(process_id=process_id, submission_id=submission, code_id=first.code_id)
    assert await env.run(activities.check_code_submission, check) is True
    assert await env.run(activities.check_code_submission, check) is True  # a retry: same answer
    stored = await db_pool.fetchrow(
        "SELECT code_hash, matched FROM sms_code_submissions WHERE id = $1", submission
    )
    assert stored["code_hash"] is None and stored["matched"] is True
    # Single use: the same code, submitted again, no longer matches.
    again = await store_code_submission(db_pool, process_id, code)
    reused = CheckCodeRequest(process_id=process_id, submission_id=again, code_id=first.code_id)
    assert await env.run(activities.check_code_submission, reused) is False

    second = await env.run(activities.send_code, request.model_copy(update={"step": "sms-code-2"}))
    assert second.code_id != first.code_id
    assert len(await outbox.wait_for(mobile, 2)) == 2
    revoked = await db_pool.fetchval(
        "SELECT revoked_at FROM sms_codes WHERE id = $1", first.code_id
    )
    assert revoked is None  # a used code stays used, not revoked
    # A code typed for another process never matches this one (salted hash).
    other = await store_code_submission(
        db_pool, "another/process", code_in((await outbox.wait_for(mobile, 2))[-1])
    )
    cross = CheckCodeRequest(process_id=process_id, submission_id=other, code_id=second.code_id)
    assert await env.run(activities.check_code_submission, cross) is False


async def test_retries_after_an_unclear_gateway_answer_stop_at_the_daily_cap(db_pool):
    """A gateway that takes each SMS but answers in a shape we cannot read: the
    try fails after the person got a code, and each retry sends a new one. The
    retries count against the number's daily cap, so they stop there instead
    of texting the person every minute for as long as the gateway misbehaves."""
    from educonnect.sms import SmsGatewayError

    def queued(_: dict) -> tuple[bytes, bytes]:
        return b"202 Accepted", b'{"status": "queued"}'

    async with odd_gateway(queued) as received:
        activities = SmsCodeActivities(db_pool)
        process_id, mobile = f"test-sms/{uuid.uuid4()}", a_mobile()
        request = SendCodeRequest(
            process_id=process_id, step="sms-code-1", purpose=SmsPurpose.PASSWORD_RESET, mobile=mobile,
            expires_at=datetime.now(UTC) + timedelta(minutes=10),
        )  # fmt: skip
        env = activity_env(process_id)
        failures = 0
        for attempt in range(1, 3 * policies.SMS_DAILY_CAP_PER_NUMBER):
            env.info = dataclasses.replace(env.info, attempt=attempt)
            try:
                issued = await env.run(activities.send_code, request)
                break
            except SmsGatewayError:
                failures += 1
        else:
            raise AssertionError("the retries never stopped")
        assert issued.outcome == SendOutcome.DAILY_CAP and issued.code_id is None
        assert failures == len(received) == policies.SMS_DAILY_CAP_PER_NUMBER
        assert {m["to"] for m in received} == {mobile}
        live = await db_pool.fetchval(
            "SELECT count(*) FROM sms_codes WHERE process_id = $1 AND code_hash IS NOT NULL",
            process_id,
        )
        assert live == 0  # none of the codes sent can be used any more
