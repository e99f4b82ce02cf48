"""A click on an emailed link is never lost, whatever the order in which the
workflow hears of it and of the completion of the activity that sent the
link (issue: 35 first clicks of 81 silently dropped under load).

The email leaves inside the send activity: the family can click before the
workflow has seen that activity complete. Here the SMTP sink stores the
message and holds its "250" (the activity still waits) while the test clicks
through the real API; two orders, for each process with a link:

- before: the workflow handles the click while the send is still running;
- same task: the workflow worker is down while the click arrives and the send
  completes, so that one workflow task delivers both.

The click wins every time, and the page says so from the workflow's answer.
Time-skipping server, real activities (PostgreSQL, SMTP), the real API in
process; workflows and activities on separate workers so that the workflow
worker can be stopped while activities go on."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from activities import all_activities
from educonnect.models.activation import ActivationStep, LinkClicked
from tests.support.accounts import make_active_account, sign_in
from tests.support.families import activation_awaiting_the_click, make_family
from tests.support.histories import LOCAL_ACTIVITY_MARKER
from tests.support.mail import Mailbox, link_in, token_of
from tests.support.pupils import make_pupil
from tests.support.smtp_gate import HoldReply
from workflows import ALL_WORKFLOWS
from workflows.activation import PROFILE_ANSWER_WITH_STATUS_PATCH, ActivationWorkflow
from workflows.steps.confirmation_link_step import EARLY_CLICK_PATCH
from workflows.steps.link_clicks import CLICK_READ_BACK_PATCH
from workflows.steps.short_steps import SHORT_STEPS_LOCAL_PATCH

pytestmark = pytest.mark.asyncio(loop_scope="session")

WAIT_S = 60
NEW_PASSWORD = "Soleil2027b"


class SplitWorkers:
    """Activities always served; workflows (and their local activities) by a worker that can be stopped
    (no sticky cache: a new worker takes the workflow up from its history)."""

    def __init__(self, client: Client, task_queue: str, db_pool) -> None:
        self._client, self._task_queue, self._db_pool = client, task_queue, db_pool
        self._workflows: Worker | None = None
        self._running: asyncio.Task | None = None

    async def start_workflows(self) -> None:
        self._workflows = Worker(
            self._client,
            task_queue=self._task_queue,
            workflows=ALL_WORKFLOWS,
            # The short steps are local activities: run by the workflow worker.
            activities=all_activities(self._db_pool),
            no_remote_activities=True,
            max_cached_workflows=0,
        )
        self._running = asyncio.create_task(self._workflows.run())

    async def stop_workflows(self) -> None:
        assert self._workflows is not None and self._running is not None
        await self._workflows.shutdown()
        await self._running
        self._workflows = self._running = None


@pytest_asyncio.fixture(loop_scope="session")
async def workers(time_skipping_env, db_pool, smtp_sink):
    from educonnect.settings import get_settings

    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    os.environ["TASK_QUEUE"] = task_queue
    get_settings.cache_clear()
    async with Worker(
        time_skipping_env.client, task_queue=task_queue, activities=all_activities(db_pool)
    ):
        split = SplitWorkers(time_skipping_env.client, task_queue, db_pool)
        await split.start_workflows()
        yield split
        if split._workflows is not None:
            await split.stop_workflows()


@pytest_asyncio.fixture(loop_scope="session")
async def web(time_skipping_env, db_pool, workers):
    from api.app import create_app

    app = create_app()
    app.state.pool = db_pool
    app.state.temporal = time_skipping_env.client
    client_address = (
        f"127.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}",
        123,
    )
    transport = httpx.ASGITransport(app=app, client=client_address)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", timeout=60
    ) as client:
        yield client


# --- the processes with a link ---------------------------------------------------------------


@dataclass
class Flow:
    """One process up to its link on its way: `address` gets the link, `asked`
    is the request still waiting for the send (email change), if any."""

    address: str
    process_of: Callable[[], Awaitable[str]]  # the workflow id, read once the link exists
    click: Callable[[str], Awaitable[httpx.Response]]  # the button of the link's page
    check: Callable[[httpx.Response], Awaitable[None]]  # the click won
    asked: asyncio.Task | None = None


async def _process_of_link(db_pool, address: str) -> str:
    return await db_pool.fetchval(
        "SELECT process_id FROM email_links WHERE email = $1 ORDER BY created_at DESC LIMIT 1",
        address,
    )


async def guardian_activation(web: httpx.AsyncClient, db_pool) -> Flow:
    family = await make_family(db_pool)

    async def start() -> None:
        await activation_awaiting_the_click(web, family, NEW_PASSWORD)

    async def check(page: httpx.Response) -> None:
        assert page.status_code == 200 and "Compte activé" in page.text, page.text
        assert (
            await db_pool.fetchval("SELECT state FROM accounts WHERE id = $1", family.account_id)
            == "active"
        )

    return Flow(
        family.email,
        lambda: _process_of_link(db_pool, family.email),
        lambda token: web.post("/activation/confirmation", data={"jeton": token}),
        check,
        asked=asyncio.create_task(start()),
    )


async def pupil_activation(web: httpx.AsyncClient, db_pool) -> Flow:
    pupil = await make_pupil(db_pool)
    address = f"{pupil.identifier.replace('.', '-')}@example.fr"
    assert (await sign_in(web, pupil.identifier, pupil.provisional_password)).status_code == 200

    async def start() -> None:
        body = {
            "password": "Cartable2027",
            "password_confirmation": "Cartable2027",
            "email": address,
        }
        profile = await web.post(
            "/pupil-activation/profile", json=body | {"birthdate": pupil.birthdate.isoformat()}
        )
        assert profile.status_code == 200 and profile.json()["step"] == "awaiting_confirmation", (
            profile.text
        )

    async def check(page: httpx.Response) -> None:
        assert page.status_code == 200 and "Compte activé" in page.text, page.text
        row = await db_pool.fetchrow(
            "SELECT state, email FROM accounts WHERE id = $1", pupil.account_id
        )
        assert (row["state"], row["email"]) == ("active", address)

    return Flow(
        address,
        lambda: _process_of_link(db_pool, address),
        lambda token: web.post("/activation/confirmation", data={"jeton": token}),
        check,
        asked=asyncio.create_task(start()),
    )


async def email_change(web: httpx.AsyncClient, db_pool) -> Flow:
    account = await make_active_account(db_pool)
    assert (await sign_in(web, account.identifier, account.password)).status_code == 200
    target = f"nouvelle.{uuid.uuid4().hex[:10]}@example.org"

    async def ask() -> None:
        asked = await web.post(
            "/account/email", json={"email": target, "email_confirmation": target}
        )
        assert asked.status_code == 200, asked.text

    async def check(page: httpx.Response) -> None:
        assert page.status_code == 200 and "Adresse validée" in page.text, page.text
        row = await db_pool.fetchrow(
            "SELECT email, email_verified_at FROM accounts WHERE id = $1", account.account_id
        )
        assert row["email"] == target and row["email_verified_at"] is not None

    return Flow(
        target,
        lambda: _process_of_link(db_pool, target),
        lambda token: web.post("/account/email/validation", data={"jeton": token}),
        check,
        asked=asyncio.create_task(ask()),
    )


async def password_reset(web: httpx.AsyncClient, db_pool) -> Flow:
    account = await make_active_account(db_pool)

    async def ask() -> None:
        asked = await web.post(
            "/recovery/password/email",
            json={"identifier": account.identifier, "email": account.email},
        )
        assert asked.status_code == 202, asked.text

    async def check(page: httpx.Response) -> None:
        assert page.status_code == 200 and "Mot de passe modifié" in page.text, page.text
        web.cookies.clear()
        signed = await sign_in(web, account.identifier, "Nuage2028k")
        assert signed.status_code == 200 and signed.json()["status"] == "signed_in", signed.text

    return Flow(
        account.email,
        lambda: _process_of_link(db_pool, account.email),
        lambda token: web.post(
            "/recovery/password/link",
            data={"jeton": token, "password": "Nuage2028k", "password_confirmation": "Nuage2028k"},
        ),
        check,
        asked=asyncio.create_task(ask()),
    )


FLOWS = {
    "guardian_activation": guardian_activation,
    "pupil_activation": pupil_activation,
    "email_change": email_change,
    "password_reset": password_reset,
}


# --- reading the history ---------------------------------------------------------------------


async def events(handle: WorkflowHandle) -> list:
    return (await handle.fetch_history()).events


async def wait_for_event(handle: WorkflowHandle, kind: int, count: int = 1) -> list:
    """The history once it holds `count` events of `kind`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while True:
        history = await events(handle)
        if sum(e.event_type == kind for e in history) >= count:
            return history
        assert loop.time() < deadline, f"no {EventType.Name(kind)} in {handle.id}"
        await asyncio.sleep(0.05)


async def wait_for_send(handle: WorkflowHandle, sends: int) -> list:
    """The history once `sends` activities (read-backs aside) completed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while completions(history := await events(handle)) < sends:
        assert loop.time() < deadline, f"activity {sends} of {handle.id} never completed"
        await asyncio.sleep(0.05)
    return history


def completed_activities(history: list) -> list[int]:
    """Indices of the completed activities, the read-backs of clicks aside."""
    kinds = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    return [
        i
        for i, e in enumerate(history)
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
        and kinds[e.activity_task_completed_event_attributes.scheduled_event_id] != "click_recorded"
    ]


def read_backs(history: list) -> list[int]:
    """Indices of the clicks' read-backs (`click_recorded`, local activities) answered."""
    return [
        i
        for i, e in enumerate(history)
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
        and json.loads(e.marker_recorded_event_attributes.details["data"].payloads[0].data)[
            "activity_type"
        ]
        == "click_recorded"
    ]


def completions(history: list) -> int:
    return len(completed_activities(history))


def patches(history: list) -> list[str]:
    """The patch ids the run recorded (`workflow.patched`)."""
    return [
        json.loads(e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data)["id"]
        for e in history
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and "patch-data" in e.marker_recorded_event_attributes.details  # not a local activity's
    ]


def nth(history: list, kind: int, n: int) -> int:
    """The index of the n-th event (from 1) of `kind`."""
    return [i for i, e in enumerate(history) if e.event_type == kind][n - 1]


def count(history: list, kind: int) -> int:
    return sum(e.event_type == kind for e in history)


def one_task_delivered_both(history: list, send: int, click_event: int, click: int) -> bool:
    """The send's completion (the `send`-th activity completed) and the click
    (the `click`-th event of `click_event`) came in one workflow task. A
    signal is written when it arrives, so no task started between the two; an
    update's acceptance is written by the task that took it, so exactly that
    one started between the completion and the acceptance."""
    completed = completed_activities(history)[send - 1]
    lo, hi = sorted((completed, nth(history, click_event, click)))
    started = count(history[lo:hi], EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
    return started == (1 if click_event == UPDATE_ACCEPTED else 0)


UPDATE_ACCEPTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
SIGNALED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED


# --- the tests -------------------------------------------------------------------------------


async def _link_on_its_way(flow: Flow, hold: HoldReply, mailbox: Mailbox, client: Client):
    assert await hold.wait_stored(WAIT_S), "the link's email never reached the sink"
    [mail] = mailbox.to(flow.address)
    handle = client.get_workflow_handle(await flow.process_of())
    return token_of(link_in(mail)), handle


@pytest.mark.parametrize("process", list(FLOWS))
async def test_a_click_handled_before_the_send_completes_wins(
    process, web, db_pool, smtp_sink, mailbox: Mailbox, time_skipping_env
):
    flow_of = FLOWS[process]
    # The address is known before the request: hold from the first message on.
    flow = await flow_of(web, db_pool)
    with HoldReply(smtp_sink, flow.address) as hold:
        token, handle = await _link_on_its_way(flow, hold, mailbox, time_skipping_env.client)
        history = await events(handle)
        sends_done, accepted = completions(history), count(history, UPDATE_ACCEPTED)
        clicked = asyncio.create_task(flow.click(token))
        # The workflow took the click while its link is still on its way.
        await wait_for_event(handle, UPDATE_ACCEPTED, accepted + 1)
        assert completions(await events(handle)) == sends_done
        assert not clicked.done()
    page = await asyncio.wait_for(clicked, WAIT_S)
    await flow.check(page)
    if flow.asked is not None:
        await asyncio.wait_for(flow.asked, WAIT_S)


@pytest.mark.parametrize("process", list(FLOWS))
async def test_a_click_in_the_same_workflow_task_as_the_send_completion_wins(
    process, web, db_pool, smtp_sink, mailbox: Mailbox, workers: SplitWorkers, time_skipping_env
):
    flow = await FLOWS[process](web, db_pool)
    with HoldReply(smtp_sink, flow.address) as hold:
        token, handle = await _link_on_its_way(flow, hold, mailbox, time_skipping_env.client)
        history = await events(handle)
        sends_done, accepted = completions(history), count(history, UPDATE_ACCEPTED)
        await workers.stop_workflows()
        clicked = asyncio.create_task(flow.click(token))
        await asyncio.sleep(0.5)  # the click reaches the server first; the order does not matter
    history = await wait_for_send(handle, sends_done + 1)
    assert count(history, UPDATE_ACCEPTED) == accepted  # nobody has looked at the click yet
    await workers.start_workflows()

    page = await asyncio.wait_for(clicked, WAIT_S)
    await flow.check(page)
    assert one_task_delivered_both(
        await events(handle), sends_done + 1, UPDATE_ACCEPTED, accepted + 1
    )
    if flow.asked is not None:
        await asyncio.wait_for(flow.asked, WAIT_S)


@pytest.mark.parametrize("timing", ["before", "same_task"])
async def test_a_click_signalled_as_before_the_update_is_not_lost_either(
    timing, web, db_pool, smtp_sink, mailbox: Mailbox, workers: SplitWorkers, time_skipping_env
):
    """The `link_clicked` signal (the page's durable way when the update is not
    answered in time, and an API not yet upgraded) waits for its link too."""
    flow = await guardian_activation(web, db_pool)
    with HoldReply(smtp_sink, flow.address) as hold:
        _, handle = await _link_on_its_way(flow, hold, mailbox, time_skipping_env.client)
        link_id = await db_pool.fetchval(
            "SELECT id FROM email_links WHERE email = $1", flow.address
        )
        # The link page records the click before it signals (a click nobody made is not read back).
        await db_pool.execute("UPDATE email_links SET clicked_at = now() WHERE id = $1", link_id)
        history = await events(handle)
        sends_done = completions(history)
        if timing == "same_task":
            await workers.stop_workflows()
        await handle.signal(ActivationWorkflow.link_clicked, LinkClicked(link_id=link_id))
        if timing == "before":  # the click read back and kept for its link, still on its way
            loop = asyncio.get_running_loop()
            deadline = loop.time() + WAIT_S
            while EARLY_CLICK_PATCH not in patches(history := await events(handle)):
                assert loop.time() < deadline, "the click was not kept for its link"
                await asyncio.sleep(0.05)
            assert completions(history) == sends_done
            assert patches(history) == [
                SHORT_STEPS_LOCAL_PATCH,  # the birthdate check, a local activity
                PROFILE_ANSWER_WITH_STATUS_PATCH,  # "Gérer mon compte", before the link
                CLICK_READ_BACK_PATCH,
                EARLY_CLICK_PATCH,
            ]
    if timing == "same_task":
        await wait_for_send(handle, sends_done + 1)
        await workers.start_workflows()
    typed = time_skipping_env.client.get_workflow_handle_for(ActivationWorkflow.run, handle.id)
    assert (await asyncio.wait_for(typed.result(), WAIT_S)).step == ActivationStep.ACTIVE
    if timing == "same_task":
        assert one_task_delivered_both(await events(handle), sends_done + 1, SIGNALED, 1)
    await asyncio.wait_for(flow.asked, WAIT_S)


async def test_a_link_counts_as_sent_once_it_went_out(
    web, db_pool, smtp_sink, mailbox: Mailbox, time_skipping_env
):
    """`links_sent` (status, operators' details) counts a link once its email
    is out, not when its sending begins (a slow mail server showed 1 too early)."""
    flow = await guardian_activation(web, db_pool)
    with HoldReply(smtp_sink, flow.address) as hold:
        token, handle = await _link_on_its_way(flow, hold, mailbox, time_skipping_env.client)
        await asyncio.wait_for(flow.asked, WAIT_S)
        status = (await web.get("/activation")).json()
        assert (status["step"], status["links_sent"], status["link_clicked"]) == (
            "awaiting_confirmation",
            0,
            False,
        )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while (status := (await web.get("/activation")).json())[
        "links_sent"
    ] == 0 and loop.time() < deadline:
        await asyncio.sleep(0.05)
    assert status["links_sent"] == 1 and status["last_link_sent_at"] is not None
    await flow.check(await flow.click(token))


async def test_a_click_nobody_made_changes_nothing(
    web, db_pool, mailbox: Mailbox, time_skipping_env
):
    """A link id is readable in the history: a click sent straight to Temporal
    (the Web UI, the CLI), by update or by signal, without the link's token
    shown to the API, is refused or ignored; the real click then works."""
    from temporalio.client import WorkflowUpdateFailedError

    from educonnect.models.activation import LinkClick

    flow = await guardian_activation(web, db_pool)
    await asyncio.wait_for(flow.asked, WAIT_S)
    [mail] = await mailbox.wait_for(flow.address, 1, timeout=WAIT_S)
    link_id = await db_pool.fetchval("SELECT id FROM email_links WHERE email = $1", flow.address)
    handle = time_skipping_env.client.get_workflow_handle_for(
        ActivationWorkflow.run, await flow.process_of()
    )

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(ActivationWorkflow.confirm_link, LinkClick(link_id=link_id))
    assert refused.value.cause.type == "link_invalid"
    await handle.signal(ActivationWorkflow.link_clicked, LinkClicked(link_id=link_id))
    # Both read back (the update's and the signal's), and a workflow task looked at the answer.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while True:
        # Local activities: their markers are written by the workflow task that looked at the answer.
        if len(read_backs(await events(handle))) == 2:
            break
        assert loop.time() < deadline, "the clicks were not read back"
        await asyncio.sleep(0.05)
    status = await handle.query(ActivationWorkflow.status)
    assert (status.step, status.link_clicked) == (ActivationStep.AWAITING_CONFIRMATION, False)
    row = await db_pool.fetchrow(
        "SELECT state, clicked_at FROM accounts a JOIN email_links l ON l.account_id = a.id WHERE l.id = $1",
        link_id,
    )
    assert (row["state"], row["clicked_at"]) == ("activating", None)

    await flow.check(await flow.click(token_of(link_in(mail))))
