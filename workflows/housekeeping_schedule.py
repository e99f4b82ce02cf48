"""The Temporal Schedule that starts the housekeeping every night at 03:30,
Europe/Paris time (`workflows/housekeeping.py`).

Not workflow code: the worker process runs it once at start (`worker.py`),
next to the workflow it starts. Created by every worker, idempotently: the first one
creates it, the others (and later starts) find it and leave it as it is, so
an operator's pause or edit holds. Operators: `temporal schedule list`,
`temporal schedule trigger --schedule-id housekeeping`."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from educonnect.models.housekeeping import HousekeepingInput, HousekeepingStep
from educonnect.search_attributes import PROCESS_STEP
from workflows.housekeeping import SUMMARY, HousekeepingWorkflow, workflow_id

SCHEDULE_ID = "housekeeping"
TIME_ZONE = "Europe/Paris"
AT_HOUR, AT_MINUTE = 3, 30
# A night missed while the Temporal server was down is caught up within half a
# day; beyond, the next night does the work.
CATCHUP_WINDOW = timedelta(hours=12)


def housekeeping_schedule(task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            HousekeepingWorkflow.run,
            HousekeepingInput(),
            id=workflow_id("nightly"),  # Temporal appends the scheduled time
            task_queue=task_queue,
            static_summary=SUMMARY,
            typed_search_attributes=TypedSearchAttributes(
                [SearchAttributePair(PROCESS_STEP, HousekeepingStep.PURGING.value)]
            ),
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    hour=[ScheduleRange(AT_HOUR)], minute=[ScheduleRange(AT_MINUTE)]
                )
            ],
            time_zone_name=TIME_ZONE,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
        state=ScheduleState(
            note="Ménage nocturne des données expirées (créé au démarrage du worker)"
        ),
    )


async def ensure_housekeeping_schedule(
    client: Client, task_queue: str, schedule_id: str = SCHEDULE_ID
) -> bool:
    """Create the schedule unless it exists; True when this call created it."""
    try:
        await client.create_schedule(schedule_id, housekeeping_schedule(task_queue))
    except ScheduleAlreadyRunningError:
        return False
    return True
