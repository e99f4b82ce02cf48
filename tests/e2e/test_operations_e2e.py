"""Operations (issue 17, DESIGN §9) after one activation end to end on the dev
server, with the real API and worker processes: the history holds no plain
email, identifier or birthdate, the codec endpoint gives them back (and the
French summaries) to an operator only, search attributes hold ids, steps and
UAIs only, and the metrics of the API and the worker moved by exactly what
that activation did."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest
import pytest_asyncio
from google.protobuf import json_format
from prometheus_client.parser import text_string_to_metric_families
from temporalio.api.common.v1 import Payloads

from educonnect import search_attributes
from educonnect.devtools.smtp_sink import read_mailbox
from educonnect.payload_codec import CODEC_PATH, ENCODING
from tests.e2e.conftest import E2E_CODEC_TOKEN
from tests.e2e.test_activation_e2e import (
    a_notified_guardian,
    confirmations,
    sign_in_and_fill_profile,
)
from tests.support.browser import SCREENSHOTS, browser  # noqa: F401 (fixture)
from tests.support.mail import Mailbox, link_in, token_of
from workflows.activation import ActivationWorkflow, workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")

NEW_PASSWORD = "Hiver2027kq"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
STEP_RE = re.compile(r"^[a-z_]+$")
UAI_RE = re.compile(r"^[0-9]{7}[A-Z]$")


async def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(url)
    assert answer.status_code == 200, url
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def moved(before: dict, after: dict, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def activate(stack, mailbox: Mailbox) -> tuple[str, str, str, uuid.UUID]:
    """One guardian's activation, with one wrong password first; returns what
    must never be read in clear in Temporal."""
    email, identifier, password, birthdate = await a_notified_guardian(stack, mailbox, 5)
    async with stack.http() as http:
        wrong = await http.post(
            "/sign-in", json={"identifier": identifier, "password": password + "x"}
        )
        assert wrong.status_code == 401
        await sign_in_and_fill_profile(http, identifier, password, birthdate, NEW_PASSWORD, email)
        await mailbox.wait_for(email, 2)
        [confirmation] = confirmations(mailbox, email)
        done = await http.post(
            "/activation/confirmation", data={"jeton": token_of(link_in(confirmation))}
        )
        assert done.status_code == 200 and "Compte activé" in done.text
    account_id = await stack.pool.fetchval(
        "SELECT id FROM accounts WHERE identifier = $1", identifier
    )
    return email, identifier, birthdate.isoformat(), account_id


async def decode(stack, payloads, token: str | None = E2E_CODEC_TOKEN) -> httpx.Response:
    headers = {"X-Namespace": stack.temporal.namespace}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with stack.http() as http:
        return await http.post(
            f"{CODEC_PATH}/decode",
            json=json_format.MessageToDict(Payloads(payloads=payloads)),
            headers=headers,
        )


@dataclass
class Activated:
    email: str
    identifier: str
    birthdate: str
    account_id: uuid.UUID
    api_before: dict
    worker_before: dict
    mails_before: set[str]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def activated(stack, smtp_sink) -> Activated:
    """One activation, the metrics and the mailbox read just before it."""
    mailbox = Mailbox(smtp_sink.folder)
    api_before = await scrape(stack.metrics_url("API_METRICS_PORT"))
    worker_before = await scrape(stack.metrics_url("WORKER_METRICS_PORT"))
    mails_before = {m.id for m in read_mailbox(mailbox.folder)}
    email, identifier, birthdate, account_id = await activate(stack, mailbox)
    return Activated(
        email, identifier, birthdate, account_id, api_before, worker_before, mails_before
    )


async def test_an_activation_leaves_only_ciphertext_and_moves_the_metrics(
    stack, mailbox: Mailbox, activated: Activated
):
    email, identifier, birthdate = activated.email, activated.identifier, activated.birthdate
    account_id, api_before = activated.account_id, activated.api_before
    worker_before, mails_before = activated.worker_before, activated.mails_before
    handle = stack.temporal.get_workflow_handle_for(ActivationWorkflow.run, workflow_id(account_id))
    result = await handle.result()  # decoded by the test's client, with the key ring
    assert result.email == email and result.identifier == identifier

    # --- the history, as stored by Temporal: ciphertext only ---------------------------
    history = await handle.fetch_history()
    raw = b"".join(event.SerializeToString() for event in history.events)
    as_json = history.to_json()
    for personal in (email, identifier, birthdate, email.split("@")[0]):
        assert personal.encode() not in raw, personal
        assert personal not in as_json, personal
    started = history.events[0].workflow_execution_started_event_attributes
    completed = history.events[-1].workflow_execution_completed_event_attributes
    assert started.input.payloads[0].metadata["encoding"] == ENCODING
    assert completed.result.payloads[0].metadata["encoding"] == ENCODING

    # --- the codec endpoint gives them back to an operator ----------------------------
    summaries = [
        e.user_metadata.summary
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.user_metadata.HasField("summary")
    ]
    answer = await decode(stack, [completed.result.payloads[0], *summaries])
    assert answer.status_code == 200, answer.text
    decoded = [
        json.loads(p.data) for p in json_format.ParseDict(answer.json(), Payloads()).payloads
    ]
    assert decoded[0]["email"] == email and decoded[0]["identifier"] == identifier
    assert "Envoi du lien de confirmation" in decoded[1:]
    update_inputs = [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input.args.payloads[
            0
        ]
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    profile = await decode(stack, update_inputs[:1])
    [submitted] = json_format.ParseDict(profile.json(), Payloads()).payloads
    assert json.loads(submitted.data)["child_birthdate"] == birthdate
    # ...and to nobody else.
    for token in (None, "wrong-token"):
        refused = await decode(stack, [completed.result.payloads[0]], token)
        assert refused.status_code == 401 and email not in refused.text

    # --- search attributes: ids, steps and UAIs only ----------------------------------
    described = await handle.describe()
    assert described.typed_search_attributes.get(search_attributes.ACCOUNT_ID) == str(account_id)
    names = {key.name for key in search_attributes.ALL}
    async for execution in stack.temporal.list_workflows():
        for pair in execution.typed_search_attributes:
            if pair.key.name not in names:
                continue  # Temporal's own (BuildIds, TemporalChangeVersion...)
            values = pair.value if isinstance(pair.value, list) else [pair.value]
            pattern = {
                search_attributes.PROCESS_STEP.name: STEP_RE,
                search_attributes.ACCOUNT_ID.name: UUID_RE,
                search_attributes.SCHOOL_UAI.name: UAI_RE,
            }.get(pair.key.name)
            for value in values:
                if pattern is None:
                    assert isinstance(value, int), (pair.key.name, value)
                else:
                    assert pattern.match(str(value)), (pair.key.name, value)
                assert "@" not in str(value) and identifier not in str(value)

    # --- metrics, moved by exactly this activation ------------------------------------
    api_after = await scrape(stack.metrics_url("API_METRICS_PORT"))
    worker_after = await scrape(stack.metrics_url("WORKER_METRICS_PORT"))
    new_mails = [m for m in read_mailbox(mailbox.folder) if m.id not in mails_before]
    assert new_mails and all(email in m.to for m in new_mails)
    assert moved(api_before, api_after, "educonnect_sign_in_failures_total") == 1
    assert moved(api_before, api_after, "educonnect_sign_in_locks_total") == 0
    for status in ("4xx", "2xx"):  # the wrong password, then the right one
        sign_ins = dict(handler="/sign-in", method="POST", status=status)
        assert moved(api_before, api_after, "http_requests_total", **sign_ins) == 1, status
    kind = "Activation"
    assert moved(worker_before, worker_after, "educonnect_processes_started_total", kind=kind) == 1
    assert (
        moved(
            worker_before,
            worker_after,
            "educonnect_processes_ended_total",
            kind=kind,
            outcome="active",
        )
        == 1
    )
    assert moved(worker_before, worker_after, "educonnect_emails_total", outcome="sent") == len(
        new_mails
    )
    assert moved(worker_before, worker_after, "educonnect_emails_total", outcome="failed") == 0
    assert moved(worker_before, worker_after, "educonnect_sms_total", outcome="sent") == 0
    assert ("educonnect_corrections_waiting", frozenset({("age", "lt_2d")})) in api_after

    # The Temporal SDK's own metrics, on the worker's other port.
    async with httpx.AsyncClient(timeout=10) as http:
        sdk = (await http.get(stack.metrics_url("WORKER_SDK_METRICS_PORT"))).text
    assert "workflow_task_schedule_to_start_latency" in sdk
    assert "activity_execution_latency" in sdk


# Copied by hand to docs/ (temporal-web-ui-decoded.png, temporal-web-ui-ciphertext.png).
SHOTS = SCREENSHOTS


async def body_with(page, *texts: str, timeout: float = 45) -> str:
    """The page's text once it holds every one of `texts` (the UI loads in steps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        body = await page.inner_text("body")
        if all(text in body for text in texts) or loop.time() > deadline:
            assert all(text in body for text in texts), (texts, body[:2000])
            return body
        await asyncio.sleep(0.5)


async def test_the_web_ui_shows_the_history_decoded_and_without_the_codec_ciphertext(
    stack, activated: Activated, browser, temporal_ui_url
):
    """Screenshots (for docs/): the dev stack's Web UI decodes through the codec
    endpoint; the same page whose codec calls are refused (anyone without
    credentials) shows ciphertext only."""
    handle = stack.temporal.get_workflow_handle_for(
        ActivationWorkflow.run, workflow_id(activated.account_id)
    )
    result = await handle.result()
    run_id = (await handle.describe()).run_id
    url = f"{temporal_ui_url}/namespaces/{stack.temporal.namespace}/workflows/{quote(handle.id, safe='')}/{run_id}/history"

    SHOTS.mkdir(parents=True, exist_ok=True)
    decoded = await browser.new_context(viewport={"width": 1400, "height": 1100})
    page = await decoded.new_page()
    await page.goto(url)
    # Decoded: the result's values and the French summaries of the timers.
    await body_with(page, result.email, "Rappel à J+3", "Workflow Execution Completed")
    await page.screenshot(path=SHOTS / "temporal-web-ui-decoded.png", full_page=True)
    await decoded.close()

    refused = await browser.new_context(viewport={"width": 1400, "height": 1100})
    await refused.route(
        f"**{CODEC_PATH}/**",
        lambda route: route.fulfill(
            status=401, content_type="application/json", body='{"code":"codec_access_refused"}'
        ),
    )
    page = await refused.new_page()
    await page.goto(url)
    # The UI says so, and shows the payloads as they are stored: base64 of ciphertext.
    body = await body_with(page, "Codec Server could not connect", "Workflow Execution Completed")
    assert result.email not in body and result.identifier not in body
    assert await page.get_by_text("Rappel à J+3").count() == 0
    await page.screenshot(path=SHOTS / "temporal-web-ui-ciphertext.png", full_page=True)
    await refused.close()
