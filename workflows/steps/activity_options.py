"""How long an activity may run and how it is retried, for every process.

Activities are idempotent (DESIGN §5), so a failed one is retried until it
succeeds, backing off to one try a minute: a database or mail server that is
down for an hour delays a step, it does not fail the family's process."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy

RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1))


def activity_options(start_to_close: timedelta = timedelta(seconds=30), **more) -> dict:
    """Options for `workflow.execute_activity*`: `start_to_close` for one try,
    the shared retry policy, and `more` (e.g. a heartbeat timeout)."""
    return dict(start_to_close_timeout=start_to_close, retry_policy=RETRY, **more)


# A step that reads or writes a few rows, or sends one email or SMS.
ACTIVITY_OPTIONS = activity_options()


# A short step run by the worker within its workflow task (`short_steps`): one
# try may take 10 s, retried as any activity (after a minute of quick tries,
# the SDK waits between tries on a timer, so the workflow task is not held).
LOCAL_ACTIVITY_OPTIONS: dict[str, Any] = dict(
    start_to_close_timeout=timedelta(seconds=10), retry_policy=RETRY
)
