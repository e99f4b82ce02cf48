"""Short steps as local activities (issue 14).

A step that reads or writes a few rows in PostgreSQL (a birthdate checked
against the records, the activation begun or completed, a click read back)
runs as a local activity: the worker runs it within the workflow task that
asked for it, so the step costs no activity task, no trip through Temporal's
task queues and no second workflow task. The history keeps a marker with its
result and its French summary. It is retried like any activity (same retry
policy, `activity_options.LOCAL_ACTIVITY_OPTIONS`), so a database that is down
delays the step and loses nothing; the activities are idempotent, so a step
run again after a worker crash changes nothing.

Runs started before this change replay their recorded activity tasks: the
choice is made once per run (`workflow.patched` memoizes it), at the run's
first short step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import workflow

from workflows.steps.activity_options import ACTIVITY_OPTIONS, LOCAL_ACTIVITY_OPTIONS

SHORT_STEPS_LOCAL_PATCH = "short-steps-as-local-activities"


async def run_short_step(activity: Callable, argument: Any, *, summary: str) -> Any:
    """Run `activity(argument)` (an activity method) as a local activity; as an
    activity task in a run recorded before."""
    if workflow.patched(SHORT_STEPS_LOCAL_PATCH):
        return await workflow.execute_local_activity_method(
            activity, argument, summary=summary, **LOCAL_ACTIVITY_OPTIONS
        )
    return await workflow.execute_activity_method(
        activity, argument, summary=summary, **ACTIVITY_OPTIONS
    )
