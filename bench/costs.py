"""What one activation costs the parts that scale with the rentrée
(`docs/capacity.md`): Temporal history (events, bytes, what Temporal Cloud
counts as actions), PostgreSQL (transactions and rows, from pg_stat_database)
and mails (SMTP sink)."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

import asyncpg
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

STATS = ("xact_commit", "tup_inserted", "tup_updated", "tup_deleted", "tup_fetched")

# Events that Temporal Cloud bills as actions (docs.temporal.io/cloud/actions):
# the start, each activity started, each signal, each update accepted, each
# search attribute upsert (not those of `TemporalChangeVersion` alone, which
# `workflow.patched` writes: exempt), each timer started; and the local
# activities of one workflow task as one action together. Queries are actions
# too but leave no event: they are counted apart.
LOCAL_ACTIVITY_MARKER = "core_local_activity"  # the SDK's marker of a local activity's result
ACTION_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: "start",
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activity",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: "signal",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: "update",
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: "search attributes",
    EventType.EVENT_TYPE_TIMER_STARTED: "timer",
}


async def database_stats(pool: asyncpg.Pool) -> dict[str, int]:
    await asyncio.sleep(1.2)  # backends flush their counters within a second
    row = await pool.fetchrow(
        f"SELECT {', '.join(STATS)} FROM pg_stat_database WHERE datname = current_database()"
    )
    return dict(row)


def database_line(before: dict[str, int], after: dict[str, int], n: int) -> str:
    per = {k: (after[k] - before[k]) / n for k in STATS}
    return "  PostgreSQL per activation (all processes): " + ", ".join(
        f"{k} {v:.1f}" for k, v in per.items()
    )


async def table_reads(pool: asyncpg.Pool) -> dict[str, tuple[int, int]]:
    """Per table: rows read by sequential scans, and index scans (pg_stat_user_tables)."""
    rows = await pool.fetch(
        "SELECT relname, seq_tup_read, coalesce(idx_scan, 0) AS idx_scan FROM pg_stat_user_tables"
    )
    return {r["relname"]: (r["seq_tup_read"], r["idx_scan"]) for r in rows}


def table_reads_line(
    before: dict[str, tuple[int, int]],
    after: dict[str, tuple[int, int]],
    n: int,
    per: str = "activation",
) -> str:
    """The tables read by sequential scans during the run, most rows first: a
    table whose rows read per activation grow with the table is a missing index."""
    seq = {t: (after[t][0] - before.get(t, (0, 0))[0]) / n for t in after}
    top = sorted(((v, t) for t, v in seq.items() if v >= 1), reverse=True)[:5]
    listed = ", ".join(f"{t} {v:.0f}" for v, t in top) or "none"
    return f"  PostgreSQL rows read by sequential scans per {per}: {listed}"


@dataclass
class HistoryCost:
    events: int
    bytes: int
    actions: Counter

    def line(self) -> str:
        actions = ", ".join(f"{k} {v}" for k, v in self.actions.items())
        return (
            f"  Temporal per activation (one history): {self.events} events, {self.bytes} bytes; "
            f"billable actions {sum(self.actions.values())} ({actions})"
        )


async def history_cost(client: Client, workflow_id: str) -> HistoryCost:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    actions: Counter = Counter()
    local_activity_tasks = set()  # the workflow tasks that recorded local activities
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == LOCAL_ACTIVITY_MARKER:
                local_activity_tasks.add(marker.workflow_task_completed_event_id)
            continue
        if event.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES and set(
            event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        ) <= {"TemporalChangeVersion"}:
            continue  # exempt
        if kind := ACTION_EVENTS.get(event.event_type):
            actions[kind] += 1
    if local_activity_tasks:
        actions["local activities"] = len(local_activity_tasks)
    size = sum(event.ByteSize() for event in history.events)
    return HistoryCost(len(history.events), size, actions)
