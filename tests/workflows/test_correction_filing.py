"""Birthdate corrections filed from the processes other than the guardian's
activation (DESIGN §3.7): SMS registration, FranceConnect first visit, pupil
activation. Time-skipping server, real activities (PostgreSQL, SMTP, the HTTP
SMS gateway), the real API in process, a real OpenID Connect provider.

For each: blocked after three wrong birthdates → the person sees the children
concerned and files → staff ask for information, the person reads the question
and answers from the blocked process's own correction page → staff approve
through the staff API → the blocked process starts its birthdate step afresh
and goes on. And the refusals: not
blocked, a child of someone else, SMS code step not passed, process ended."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from educonnect.models.activation import ActivationStep
from educonnect.models.corrections import CorrectionStep, StaffRole, filed_label
from educonnect.models.franceconnect import LinkStep
from educonnect.models.registration import RegistrationStep
from educonnect.temporal import data_converter
from tests.support.corrections import (
    School,
    StaffUser,
    children_of,
    family_at,
    make_school,
    make_staff,
    move_children,
    signed_in_staff,
)
from tests.support.mail import Mailbox
from tests.support.pupils import make_pupil
from tests.support.sms import SmsOutbox, code_in
from tests.workflows.test_birthdate_correction import correction, wait_for_step
from tests.workflows.test_franceconnect_link import (  # noqa: F401 (fixture)
    enter_mobile_and_code,
    family_with_mobile,
    first_visit,
    provider,
)
from tests.workflows.test_franceconnect_link import handle as link_handle
from tests.workflows.test_pupil_activation import handle_of as pupil_handle
from tests.workflows.test_pupil_activation import profile as pupil_profile
from tests.workflows.test_pupil_activation import start as pupil_sign_in
from tests.workflows.test_sms_registration import (
    a_mobile,
    make_guardian,
    national,
    start,
    submit_code,
    wait_for_code,
)
from tests.workflows.test_sms_registration import handle_of as registration_handle
from workflows.birthdate_correction import BirthdateCorrectionWorkflow
from workflows.franceconnect_link import FranceConnectLinkWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

BELIEVED = date(2014, 1, 1)  # what the family believes right; on record: another date
MESSAGE = "La date de naissance enregistrée est erronée : voir le livret de famille."
QUESTION = "Pouvez-vous nous montrer le livret de famille ?"
ANSWER = "Je l'apporte au secrétariat lundi."


@pytest.fixture
def outbox(sms_gateway) -> SmsOutbox:
    return SmsOutbox(sms_gateway.outbox_path)


async def file_at(
    http: httpx.AsyncClient, url: str, pupil_id, proposed: date = BELIEVED
) -> httpx.Response:
    return await http.post(
        url,
        json={
            "pupil_id": str(pupil_id),
            "proposed_birthdate": proposed.isoformat(),
            "message": MESSAGE,
        },
    )


async def approve(
    make_client, staff: StaffUser, request_id: str, corrected: date = BELIEVED
) -> dict:
    async with signed_in_staff(make_client, staff) as http:
        approved = await http.post(
            f"/staff/requests/{request_id}/approve",
            json={"corrected_birthdate": corrected.isoformat()},
        )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    return approved.json()


async def ask_and_answer(
    person: httpx.AsyncClient, url: str, make_client, staff: StaffUser, request_id: str, env
) -> None:
    """Staff ask for information; the person reads the question on the correction
    page of their blocked process and answers there (`url/<request>/answer`);
    staff read the answer and the request is back under review."""
    answer_url = f"{url}/{request_id}/answer"
    early = await person.post(answer_url, json={"message": ANSWER})
    assert (
        early.status_code == 409 and early.json()["code"] == "correction_not_awaiting_information"
    )
    async with signed_in_staff(make_client, staff) as http:
        asked = await http.post(
            f"/staff/requests/{request_id}/ask-information", json={"question": QUESTION}
        )
    assert asked.status_code == 200 and asked.json()["status"] == "awaiting_information", asked.text
    await wait_for_step(correction(env, request_id), CorrectionStep.AWAITING_INFORMATION)

    [mine] = (await person.get(url)).json()["requests"]
    assert mine["request_id"] == request_id and mine["status"] == "awaiting_information"
    assert mine["question"] == QUESTION
    unknown = await person.post(f"{url}/{uuid.uuid4()}/answer", json={"message": ANSWER})
    assert unknown.status_code == 404 and unknown.json()["code"] == "correction_not_found"
    empty = await person.post(answer_url, json={"message": "   "})
    assert empty.status_code == 422 and empty.json()["code"] == "invalid_input"

    answered = await person.post(answer_url, json={"message": ANSWER})
    assert answered.status_code == 202, answered.text
    assert [(e["author"], e["kind"], e["text"]) for e in answered.json()["exchanges"]][1:] == [
        ("L'établissement", "question", QUESTION),
        ("Vous", "answer", ANSWER),
    ]
    await wait_for_step(correction(env, request_id), CorrectionStep.AWAITING_REVIEW)
    async with signed_in_staff(make_client, staff) as http:
        detail = (await http.get(f"/staff/requests/{request_id}")).json()
    assert [(m["kind"], m["text"]) for m in detail["messages"]][1:] == [
        ("question", QUESTION),
        ("answer", ANSWER),
    ]
    assert "answered" in [e["kind"] for e in detail["process"]["timeline"]]


async def school_with_admin(db_pool, uai: str | None = None) -> tuple[School, StaffUser]:
    school = School(uai, "Lyon", "Collège Test") if uai else await make_school(db_pool)
    return school, await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)


async def a_stranger_child(db_pool, school: School) -> uuid.UUID:
    return (await children_of(db_pool, await family_at(db_pool, school)))[0]["id"]


# --- SMS registration -------------------------------------------------------------------------


async def test_blocked_registration_files_by_sms_and_resumes_once_approved(
    sms_gateway, api, db_pool, outbox, mailbox: Mailbox, time_skipping_env, make_client
):
    api.cookies.clear()
    school, admin = await school_with_admin(db_pool)
    guardian = await make_guardian(db_pool)
    await move_children(db_pool, guardian.guardian_id, school)
    rid = await start(api, guardian)
    url = f"/registration/{rid}/correction"
    code = await wait_for_code(outbox, guardian)

    # Before the SMS code: the same refusal as for a registration that matched nobody.
    nobody = await start(api, guardian, mobile=national(a_mobile()))
    refusals = [
        await api.get(url),
        await api.get(f"/registration/{nobody}/correction"),
        await file_at(api, url, uuid.uuid4()),
    ]
    assert {(r.status_code, r.json()["code"]) for r in refusals} == {(409, "correction_not_needed")}
    assert refusals[0].json() == refusals[1].json() and "children" not in refusals[0].text
    assert (await api.get(f"/registration/{uuid.uuid4()}/correction")).json()[
        "code"
    ] == "registration_not_found"

    assert (await submit_code(api, rid, code)).json()["step"] == "birthdate"
    assert (await api.get(url)).json()["code"] == "correction_not_needed"  # not blocked yet
    for _ in range(3):
        blocked = await api.post(
            f"/registration/{rid}/birthdate", json={"birthdate": BELIEVED.isoformat()}
        )
    assert blocked.status_code == 423 and blocked.json()["details"][0]["assistance_url"] == url

    form = (await api.get(url)).json()
    assert {c["first_name"] for c in form["children"]} == {"Zoé", "Noé"}
    assert form["mobile_on_file"].startswith("+336") and "•" in form["mobile_on_file"]
    assert "SMS" in form["contact_note"] and form["requests"] == []
    zoe = next(c["pupil_id"] for c in form["children"] if c["first_name"] == "Zoé")
    stranger = await file_at(api, url, await a_stranger_child(db_pool, school))
    assert stranger.status_code == 422 and stranger.json()["code"] == "correction_pupil_unknown"

    filed = await file_at(api, url, zoe)
    assert filed.status_code == 201, filed.text
    assert "votre inscription" in filed.json()["message"] and not filed.json()["joined"]
    request_id = filed.json()["request_id"]
    _, received = await outbox.wait_for(guardian.mobile, 2)
    assert "bien reçue" in received["text"]
    status = (await api.get(f"/registration/{rid}")).json()
    assert (
        status["step"] == "birthdate_blocked" and status["correction"]["request_id"] == request_id
    )
    assert status["correction"]["status"] == "awaiting_review"

    # Days pass while staff decide (a reminder after 2): the registration keeps waiting.
    await time_skipping_env.sleep(timedelta(days=3))
    assert (await api.get(f"/registration/{rid}")).json()["step"] == "birthdate_blocked"
    assert (await mailbox.wait_for(admin.email, 2))[-1].subject.startswith("Rappel")
    async with signed_in_staff(make_client, admin) as http:
        [requester] = (await http.get(f"/staff/requests/{request_id}")).json()["requesters"]
    assert requester["blocked_process_id"] == f"sms-registration/{rid}"
    assert (requester["contact_channel"], requester["contact"]) == ("sms", guardian.mobile)
    assert (
        requester["process_label"].startswith("Inscription par SMS")
        and requester["account_identifier"] is None
    )
    await ask_and_answer(api, url, make_client, admin, request_id, time_skipping_env)
    _, _, asked = await outbox.wait_for(guardian.mobile, 3)
    assert QUESTION in asked["text"] and "demande des informations" in asked["text"]
    await approve(make_client, admin, request_id)

    *_, told = await outbox.wait_for(guardian.mobile, 4)
    assert "acceptée" in told["text"] and "reprendre votre inscription" in told["text"]
    status = (await api.get(f"/registration/{rid}")).json()
    assert (
        status["step"] == "birthdate"
        and status["birthdate_attempts_left"] == 3
        and status["assistance_url"] is None
    )
    resumed = await api.post(
        f"/registration/{rid}/birthdate", json={"birthdate": BELIEVED.isoformat()}
    )
    assert resumed.status_code == 200 and resumed.json()["step"] == "password", resumed.text

    # Ids only in Temporal: neither what the person wrote nor their number.
    history = (await correction(time_skipping_env, request_id).fetch_history()).to_json()
    assert "voir le livret de famille" not in history and guardian.mobile not in history
    await registration_handle(time_skipping_env, rid).terminate("test done")


async def test_an_ended_registration_cannot_file(
    sms_gateway, api, db_pool, outbox, time_skipping_env
):
    api.cookies.clear()
    guardian = await make_guardian(db_pool)
    rid = await start(api, guardian)
    assert (await submit_code(api, rid, await wait_for_code(outbox, guardian))).status_code == 200
    for _ in range(3):
        await api.post(f"/registration/{rid}/birthdate", json={"birthdate": BELIEVED.isoformat()})
    assert (await api.get(f"/registration/{rid}/correction")).status_code == 200

    # Blocked for longer than REGISTRATION_BLOCKED_MAX_WAIT without a correction: the attempt ends.
    await time_skipping_env.sleep(timedelta(days=31, minutes=1))
    assert (
        await registration_handle(time_skipping_env, rid).result()
    ).step == RegistrationStep.EXPIRED
    ended = await api.get(f"/registration/{rid}/correction")
    assert ended.status_code == 410 and ended.json()["code"] == "registration_expired"
    children = await db_pool.fetch(
        "SELECT pupil_id FROM guardian_pupils WHERE guardian_id = $1", guardian.guardian_id
    )
    refused = await file_at(api, f"/registration/{rid}/correction", children[0]["pupil_id"])
    assert refused.json()["code"] == "registration_expired"
    assert (
        await db_pool.fetchval(
            "SELECT count(*) FROM correction_participants WHERE blocked_process_id = $1",
            f"sms-registration/{rid}",
        )
        == 0
    )


# --- FranceConnect first visit ------------------------------------------------------------------


async def test_blocked_franceconnect_visit_files_and_links_once_approved(
    api, db_pool, provider, outbox, time_skipping_env, make_client
):
    school, admin = await school_with_admin(db_pool)
    family, mobile = await family_with_mobile(db_pool)
    await move_children(db_pool, family.guardian_id, school)
    link_id, _ = await first_visit(api, provider, family)
    url = f"/franceconnect/link/{link_id}/correction"

    assert (await api.get(url)).json()["code"] == "correction_not_needed"  # before the mobile
    entered = await api.post(
        f"/franceconnect/link/{link_id}/mobile", json={"mobile": national(mobile)}
    )
    assert entered.json()["step"] == "awaiting_code"
    before_code = await api.get(url)  # the code is on its way: still nothing to see
    assert before_code.status_code == 409 and before_code.json()["code"] == "correction_not_needed"
    [sms] = await outbox.wait_for(mobile, 1)
    assert (
        await api.post(f"/franceconnect/link/{link_id}/code", json={"code": code_in(sms)})
    ).status_code == 200
    for _ in range(3):
        blocked = await api.post(
            f"/franceconnect/link/{link_id}/birthdate",
            json={"child_birthdate": BELIEVED.isoformat()},
        )
    assert blocked.status_code == 423 and blocked.json()["details"][0]["assistance_url"] == url

    async with make_client() as other_browser:  # only the browser back from FranceConnect
        elsewhere = await other_browser.get(url)
        assert (
            elsewhere.status_code == 404
            and elsewhere.json()["code"] == "franceconnect_link_not_found"
        )
    form = (await api.get(url)).json()
    assert {c["first_name"] for c in form["children"]} == {"Léa", "Hugo"} and "SMS" in form[
        "contact_note"
    ]
    lea = next(c["pupil_id"] for c in form["children"] if c["first_name"] == "Léa")
    stranger = await file_at(api, url, await a_stranger_child(db_pool, school))
    assert stranger.status_code == 422 and stranger.json()["code"] == "correction_pupil_unknown"
    filed = await file_at(api, url, lea)
    assert filed.status_code == 201, filed.text
    request_id = filed.json()["request_id"]
    assert "bien reçue" in (await outbox.wait_for(mobile, 2))[-1]["text"]
    link = (await api.get(f"/franceconnect/link/{link_id}")).json()
    assert link["step"] == "birthdate_blocked" and link["correction"]["request_id"] == request_id

    await time_skipping_env.sleep(timedelta(days=2))
    await ask_and_answer(api, url, make_client, admin, request_id, time_skipping_env)
    assert QUESTION in (await outbox.wait_for(mobile, 3))[-1]["text"]
    await approve(make_client, admin, request_id)
    assert "FranceConnect" in (await outbox.wait_for(mobile, 4))[-1]["text"]
    status = await link_handle(time_skipping_env, link_id).query(FranceConnectLinkWorkflow.status)
    assert status.step == LinkStep.AWAITING_BIRTHDATE and status.birthdate_attempts_left == 3
    linked = await api.post(
        f"/franceconnect/link/{link_id}/birthdate", json={"child_birthdate": BELIEVED.isoformat()}
    )
    assert linked.status_code == 200 and linked.json()["step"] == "linked", linked.text
    assert (await link_handle(time_skipping_env, link_id).result()).step == LinkStep.LINKED
    done = await api.get(url)  # linked: this browser's first visit is over
    assert done.status_code == 404 and done.json()["code"] == "franceconnect_link_not_found"


async def test_an_expired_franceconnect_visit_cannot_file(
    api, db_pool, provider, outbox, time_skipping_env
):
    family, mobile = await family_with_mobile(db_pool)
    link_id, _ = await first_visit(api, provider, family)
    assert (await enter_mobile_and_code(api, outbox, link_id, mobile)).status_code == 200
    await time_skipping_env.sleep(timedelta(minutes=31))  # idle at the birthdate step
    assert (await link_handle(time_skipping_env, link_id).result()).step == LinkStep.EXPIRED
    ended = await api.get(f"/franceconnect/link/{link_id}/correction")
    assert ended.status_code == 410 and ended.json()["code"] == "franceconnect_link_expired"


# --- pupil activation -------------------------------------------------------------------------


async def block_pupil(api, pupil) -> None:
    await pupil_sign_in(api, pupil)
    assert (await api.get("/pupil-activation/correction")).json()["code"] == "correction_not_needed"
    wrong = pupil_profile(pupil, birthdate=BELIEVED)
    for _ in range(3):
        blocked = await api.post("/pupil-activation/profile", json=wrong)
    assert blocked.status_code == 423
    assert blocked.json()["details"][0]["assistance_url"] == "/pupil-activation/correction"


async def test_blocked_pupil_files_for_themself_the_school_tells_them(
    api, db_pool, mailbox: Mailbox, time_skipping_env, make_client
):
    pupil = await make_pupil(db_pool)
    school, admin = await school_with_admin(db_pool, pupil.uai)
    await block_pupil(api, pupil)

    form = (await api.get("/pupil-activation/correction")).json()
    assert [c["pupil_id"] for c in form["children"]] == [str(pupil.pupil_id)]  # themself only
    assert form["email_on_file"] is None and "établissement vous préviendra" in form["contact_note"]
    someone_else = await file_at(
        api, "/pupil-activation/correction", (await make_pupil(db_pool)).pupil_id
    )
    assert (
        someone_else.status_code == 422
        and someone_else.json()["code"] == "correction_pupil_unknown"
    )
    filed = await file_at(api, "/pupil-activation/correction", pupil.pupil_id)
    assert filed.status_code == 201, filed.text
    assert "compte élève" in filed.json()["message"]
    request_id = filed.json()["request_id"]
    status = (await api.get("/pupil-activation")).json()
    assert (
        status["step"] == "birthdate_blocked"
        and status["correction"]["status"] == "awaiting_review"
    )

    # What the school secretary needs: it is the pupil, no address, who and where to tell.
    [new] = await mailbox.wait_for(admin.email, 1)
    assert "l'élève lui-même" in new.text and "Prévenez-le" in new.text
    async with signed_in_staff(make_client, admin) as http:
        detail = (await http.get(f"/staff/requests/{request_id}")).json()
    [requester] = detail["requesters"]
    assert requester["contact_channel"] == "school" and "4e A" in requester["contact"]
    assert requester["account_identifier"] == pupil.identifier and requester["name"].startswith(
        "Inès"
    )
    assert requester["blocked_process_id"] == f"pupil-activation/{pupil.account_id}"
    assert "l'élève lui-même" in detail["school_informs"]
    # Who filed: the pupil, not a guardian (staff's view, and the workflow's for operators).
    assert detail["process"]["timeline"][0]["label"] == "Demande déposée par l'élève lui-même"
    handle = correction(time_skipping_env, request_id)
    assert (await handle.query(BirthdateCorrectionWorkflow.status)).timeline[
        0
    ].label == filed_label(by_pupil=True)
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert (
        "Déposée par l'élève lui-même le " in metadata.current_details
    )  # the Web UI's "Current details"

    # No address: the question reaches the pupil through the school; the pupil reads and answers it here.
    await ask_and_answer(
        api, "/pupil-activation/correction", make_client, admin, request_id, time_skipping_env
    )
    _, answer_told = await mailbox.wait_for(admin.email, 2)
    assert "a répondu" in answer_told.subject
    approved = await approve(make_client, admin, request_id)
    assert "prévenez-le vous-même" in approved["notice"]
    assert (
        await correction(time_skipping_env, request_id).result()
    ).step == CorrectionStep.APPROVED
    timeline = (
        await correction(time_skipping_env, request_id).query(BirthdateCorrectionWorkflow.status)
    ).timeline
    assert [e.kind for e in timeline if e.kind == "unblocked"] == ["unblocked"]

    status = (await api.get("/pupil-activation")).json()
    assert (
        status["step"] == "profile"
        and status["attempts_left"] == 3
        and status["assistance_url"] is None
    )
    done = await api.post(
        "/pupil-activation/profile", json=pupil_profile(pupil, birthdate=BELIEVED)
    )
    assert done.status_code == 200 and done.json()["step"] == "active", done.text
    assert (await pupil_handle(time_skipping_env, pupil).result()).step == ActivationStep.ACTIVE
    ended = await api.get("/pupil-activation/correction")
    assert ended.status_code == 410 and ended.json()["code"] == "process_ended"


async def test_a_pupil_with_an_address_is_told_by_email(
    api, db_pool, mailbox: Mailbox, time_skipping_env
):
    pupil = await make_pupil(db_pool)
    await school_with_admin(db_pool, pupil.uai)
    address = f"ines.{uuid.uuid4().hex[:8]}@example.fr"
    await db_pool.execute("UPDATE accounts SET email = $2 WHERE id = $1", pupil.account_id, address)
    await block_pupil(api, pupil)
    form = (await api.get("/pupil-activation/correction")).json()
    assert form["email_on_file"] == address and address in form["contact_note"]
    filed = await file_at(api, "/pupil-activation/correction", pupil.pupil_id)
    assert filed.status_code == 201, filed.text
    [received] = await mailbox.wait_for(address, 1)
    assert "bien reçue" in received.subject and "votre établissement" in received.text
    # Their own birthdate, not "la date de naissance de Inès".
    assert "correction de votre date de naissance a bien été reçue" in received.text
    assert pupil.first_name not in received.text
    await correction(time_skipping_env, filed.json()["request_id"]).terminate("test done")
    await pupil_handle(time_skipping_env, pupil).terminate("test done")


async def test_a_guardian_session_has_no_pupil_correction_form(api, db_pool, time_skipping_env):
    school = await make_school(db_pool)
    family = await family_at(db_pool, school)
    api.cookies.clear()
    assert (await api.post("/sign-in", json={"identifier": family.identifier,
                                             "password": family.provisional_password})).status_code == 200  # fmt: skip
    refused = await api.get("/pupil-activation/correction")
    assert refused.status_code == 404 and refused.json()["code"] == "process_not_found"


# Recorded on the code before the workflow knew who filed (its input has no
# `filed_by_pupil`, its timeline said "par le responsable"): only French
# strings changed, not the commands, so it replays on the current code.
PUPIL_HISTORY = Path(__file__).parent / "histories" / "birthdate-correction-filed-by-pupil.json"


async def test_a_pupil_request_recorded_before_the_filer_was_known_replays():
    recorded = json.loads(PUPIL_HISTORY.read_text())
    history = WorkflowHistory.from_json(recorded["workflow_id"], recorded["history"])
    started = history.events[0].workflow_execution_started_event_attributes
    assert b"filed_by_pupil" not in started.input.payloads[0].data  # really from before
    replayer = Replayer(workflows=[BirthdateCorrectionWorkflow], data_converter=data_converter())
    await replayer.replay_workflow(history)
