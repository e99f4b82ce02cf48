"""The nightly housekeeping's schedule, created at worker start, on the
Temporal dev server (the time-skipping test server has no schedules)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.client import ScheduleActionStartWorkflow

from workflows.housekeeping import SUMMARY
from workflows.housekeeping_schedule import ensure_housekeeping_schedule

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_schedule_is_created_once_and_runs_at_half_past_three_paris_time(dev_server):
    client = dev_server.client
    schedule_id = f"housekeeping-test-{uuid.uuid4().hex[:8]}"
    assert await ensure_housekeeping_schedule(client, "e2e-housekeeping", schedule_id) is True
    # Another worker, or a restart: the schedule is found and left as it is.
    assert await ensure_housekeeping_schedule(client, "another-queue", schedule_id) is False

    handle = client.get_schedule_handle(schedule_id)
    try:
        schedule = (await handle.describe()).schedule
        assert schedule.spec.time_zone_name == "Europe/Paris"
        [calendar] = schedule.spec.calendars
        assert [r.start for r in calendar.hour] == [3] and [r.start for r in calendar.minute] == [
            30
        ]
        action = schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.workflow == "Housekeeping" and action.id == "housekeeping/nightly"
        assert action.task_queue == "e2e-housekeeping"  # the first worker's

        # "temporal schedule trigger": a run starts now, named after the schedule's action.
        await handle.trigger()
        run_ids = []
        for _ in range(50):
            run_ids = [a.action.workflow_id for a in (await handle.describe()).info.recent_actions]
            if run_ids:
                break
            await asyncio.sleep(0.2)
        [run_id] = run_ids
        assert run_id.startswith("housekeeping/nightly-"), run_id
        run = client.get_workflow_handle(run_id)
        assert await (await run.describe()).static_summary() == SUMMARY
        await run.terminate("test over")  # no worker serves this task queue
    finally:
        await handle.delete()
