"""Nightly housekeeping: the tables that only grow lose the rows that serve
no more (expired sessions, links and SMS codes, counters out of their window,
browser bindings past their cookie...), with the retention of
`educonnect.policies`.

A short workflow started every night by the Temporal Schedule `housekeeping`
(`workflows/housekeeping_schedule.py`, created at worker start); its runs are
`housekeeping/nightly-<time>`. One activity per kind of data, in order, each
deleting in small batches; the result and the Web UI details give how many
rows each purge removed: counts only, nothing personal.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from educonnect.models.housekeeping import (
    PURGE_LABELS,
    PURGES_SINCE_FRANCECONNECT_LOGOUT,
    PURGES_SINCE_SERVICE_GRANTS,
    HousekeepingInput,
    HousekeepingResult,
    HousekeepingStatus,
    HousekeepingStep,
    Purge,
    PurgeRequest,
)
from educonnect.search_attributes import PROCESS_STEP
from workflows.steps.activity_options import activity_options

with workflow.unsafe.imports_passed_through():
    from activities.housekeeping import HousekeepingActivities

SUMMARY = (
    "Ménage nocturne : suppression des données expirées "
    "(sessions, liens, codes SMS, jetons des services, compteurs)"
)

# Runs that started before the purges of the OpenID Connect provider's rows replay without them.
SERVICE_GRANTS_PURGE_PATCH = "purge-service-grants"

# A purge of a large backlog may take a while; it heartbeats after each batch.
PURGE_OPTIONS = activity_options(timedelta(minutes=30), heartbeat_timeout=timedelta(minutes=2))


def workflow_id(label: str) -> str:
    """`housekeeping/<label>`, e.g. a date; the schedule's runs are `housekeeping/nightly-<time>`."""
    return f"housekeeping/{label}"


@workflow.defn(name="Housekeeping")
class HousekeepingWorkflow:
    @workflow.init
    def __init__(self, params: HousekeepingInput) -> None:
        self._step = HousekeepingStep.PURGING
        self._current: Purge | None = None
        self._removed: dict[Purge, int] = {}

    @workflow.run
    async def run(self, params: HousekeepingInput) -> HousekeepingResult:
        # Runs that started before these purges existed replay without them.
        franceconnect_purges = workflow.patched("purge-franceconnect-logouts-and-mobile-tries")
        service_purges = workflow.patched(SERVICE_GRANTS_PURGE_PATCH)
        for purge in Purge:
            if purge in PURGES_SINCE_FRANCECONNECT_LOGOUT and not franceconnect_purges:
                continue
            if purge in PURGES_SINCE_SERVICE_GRANTS and not service_purges:
                continue
            self._current = purge
            self._show()
            done = await workflow.execute_activity_method(
                HousekeepingActivities.purge,
                PurgeRequest(purge=purge),
                summary=f"Purge : {PURGE_LABELS[purge]}",
                **PURGE_OPTIONS,
            )
            self._removed[purge] = done.removed
        self._step, self._current = HousekeepingStep.COMPLETED, None
        self._show()
        return HousekeepingResult(removed=self._removed)

    @workflow.query
    def status(self) -> HousekeepingStatus:
        return HousekeepingStatus(step=self._step, current=self._current, removed=self._removed)

    def _show(self) -> None:
        """Search attribute and French details for the Web UI."""
        step = self._current.value if self._current is not None else self._step.value
        workflow.upsert_search_attributes([PROCESS_STEP.value_set(step)])
        if self._current is not None:
            lines = [f"**En cours : {PURGE_LABELS[self._current]}**"]
        else:
            lines = [f"**Terminé : {sum(self._removed.values())} lignes supprimées**"]
        lines += [f"- {PURGE_LABELS[p]} : {n}" for p, n in self._removed.items()]
        workflow.set_current_details("\n".join(lines))
