"""Waiting on a condition with a deadline: the timers of every process.

Deterministic (workflow time only); shared by the workflows so that "until the
deadline" means the same thing in each of them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow


async def wait_until(
    condition: Callable[[], bool], deadline: datetime | None, summary: str | None = None
) -> bool:
    """Wait for `condition` until `deadline` (None: no deadline).

    True as soon as the condition holds; False if the deadline passed first.
    `summary`: what the deadline's timer means, in French, on the Web UI's
    timeline ("Rappel à J+3"); user metadata, which replay does not compare."""
    if deadline is None:
        await workflow.wait_condition(condition)
        return True
    remaining = deadline - workflow.now()
    if remaining <= timedelta(0):
        return condition()
    try:
        await workflow.wait_condition(condition, timeout=remaining, timeout_summary=summary)
        return True
    except TimeoutError:
        return condition()
