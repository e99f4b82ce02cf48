"""The birthdate step of a workflow (DESIGN §3.1 to §3.4 and §3.7, FAQ 6):
a birthdate checked against the school records, shared by the guardian's
activation ("Gérer mon compte"), the pupil's activation (their own
birthdate), SMS self-registration and the FranceConnect first visit (a
child's birthdate). Deterministic workflow-side code: it keeps the tries, the
workflow's activity compares the date with the records.

Rules it enforces (numbers in `educonnect.policies`):
- BIRTHDATE_MAX_ATTEMPTS (3) wrong dates block the step: the third wrong
  answer is BIRTHDATE_BLOCKED (the API adds the way to the correction form),
  the ones before BIRTHDATE_INCORRECT, each with the tries left;
- blocked, the step stays blocked until staff approve a correction: the
  birthdate-correction workflow then signals `birthdate_unblocked`, an
  activity reads back from PostgreSQL that the correction it names was
  approved and joined by this very process, and only then the step starts
  afresh with all its tries (and the correction hears it did); a signal
  naming anything else (sent from the Temporal Web UI, another process's
  correction, a correction used already) changes nothing and is noted in
  the operators' details. The status reads blocked until the check is done;
- one submission is checked at a time (`lock`): a concurrent one waits, then
  finds where the process went;
- a process that waits for a correction waits at most a time of its own
  choosing (`wait_for_unblock`).

A workflow owns one `BirthdateStep`: `check()` inside `lock` from its
`submit_birthdate` update (an error: BIRTHDATE_INCORRECT or _BLOCKED),
`unblock_if_approved()` from its `birthdate_unblocked` signal,
`wait_for_unblock(max_wait)` while it waits for a correction, and
`attempts_left`, `blocked`, `details()` for the status and the operators.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import FailureError

from educonnect import policies
from educonnect.errors import ErrorCode
from educonnect.models.activation import BirthdateUnblocked
from educonnect.models.corrections import UnblockConfirmed, UnblockToCheck
from workflows.steps.activity_options import ACTIVITY_OPTIONS
from workflows.steps.correction_link import UNBLOCK_CONFIRMED_SIGNAL, correction_workflow_id
from workflows.steps.short_steps import run_short_step
from workflows.steps.waiting import wait_until

with workflow.unsafe.imports_passed_through():
    from activities.correction_decisions import CorrectionDecisionActivities

# Unblocks handled since this patch are read back from PostgreSQL; one marker
# per unblock handled (`.../1`, `.../2`...), as `workflows.birthdate_correction`
# numbers its messages: a process that was unblocked on the code of before and
# blocked again reads back the next one.
READ_BACK_UNBLOCK_PATCH = "read-back-unblock"

# The French summary of the timer while a blocked step waits for a correction.
BLOCKED_SUMMARY = "Attente d'une correction de la date de naissance"


class BirthdateStep:
    def __init__(
        self, *, check: Callable, on_blocked: Callable[[], None], on_failed: Callable[[], None]
    ) -> None:
        self._check_activity = check
        self._on_blocked = on_blocked
        self._on_failed = on_failed
        self.attempts_left = policies.BIRTHDATE_MAX_ATTEMPTS
        self.confirmed = False  # a date matched
        self.lock = asyncio.Lock()  # one submission (or unblock) checked at a time
        self._unblocks_handled = 0  # numbers the read-back patch markers
        self._used_corrections: set[str] = set()  # each approved correction unblocks once

    @property
    def blocked(self) -> bool:
        return self.attempts_left == 0

    async def check(self, argument: Any) -> ErrorCode | None:
        """Check a submitted date (hold `lock`). None when it matches the
        records; otherwise the refusal, the wrong try counted."""
        if await run_short_step(
            self._check_activity, argument, summary="Vérification de la date de naissance"
        ):
            self.confirmed = True
            return None
        self.attempts_left -= 1
        if self.blocked:
            self._on_blocked()
            return ErrorCode.BIRTHDATE_BLOCKED
        self._on_failed()
        return ErrorCode.BIRTHDATE_INCORRECT

    def unblock(self) -> None:
        """A correction was approved: the step starts afresh, all tries back."""
        self.attempts_left = policies.BIRTHDATE_MAX_ATTEMPTS

    async def unblock_if_approved(
        self,
        event: BirthdateUnblocked,
        *,
        is_blocked: Callable[[], bool],
        resume: Callable[[], None],
    ) -> None:
        """The `birthdate_unblocked` signal: unblock (all tries back, then
        `resume()` enters the birthdate step) only if PostgreSQL holds the
        correction named as approved and joined by this process; tell that
        correction so. Ignored unless `is_blocked()`."""
        if not is_blocked():
            return
        self._unblocks_handled += 1
        if not workflow.patched(f"{READ_BACK_UNBLOCK_PATCH}/{self._unblocks_handled}"):
            self.unblock()  # a history of before: the signal was trusted
            resume()
            return
        async with self.lock:
            approved = (
                event.correction_id not in self._used_corrections
                and await workflow.execute_activity_method(
                    CorrectionDecisionActivities.check_unblock,
                    UnblockToCheck(correction_id=event.correction_id),
                    summary="Vérification de la correction approuvée",
                    **ACTIVITY_OPTIONS,
                )
            )
            if not is_blocked():  # the process ended meanwhile
                return
            if not approved:
                self._refuse_unblock(event.correction_id)
                return
            self._used_corrections.add(event.correction_id)
            self.unblock()
            resume()
        try:
            await workflow.get_external_workflow_handle(
                correction_workflow_id(event.correction_id)
            ).signal(
                UNBLOCK_CONFIRMED_SIGNAL, UnblockConfirmed(process_id=workflow.info().workflow_id)
            )
        except FailureError:  # the correction ended without waiting: nothing to tell
            workflow.logger.info(
                "correction %s no longer waits for its unblock", event.correction_id
            )

    def _refuse_unblock(self, correction_id: str) -> None:
        shown = correction_id[:64]
        workflow.logger.warning(
            "unblock refused: correction %r not approved for this process", shown
        )
        note = (
            f"Déblocage ignoré : la correction « {shown} » n'est pas une correction approuvée "
            "pour ce processus, ou elle a déjà servi"
        )
        details = workflow.get_current_details()
        workflow.set_current_details(f"{details}\n\n{note}" if details else note)

    async def wait_for_unblock(self, max_wait: timedelta) -> bool:
        """Blocked: wait for an approved correction, at most `max_wait`.
        True once unblocked; False when none came in time."""
        return await wait_until(
            lambda: not self.blocked, workflow.now() + max_wait, BLOCKED_SUMMARY
        )

    def details(self) -> str | None:
        """For the operators' details while the step waits for a date."""
        if self.attempts_left >= policies.BIRTHDATE_MAX_ATTEMPTS:
            return None
        return f"Essais de date de naissance restants : {self.attempts_left}"
