"""Recording a workflow's history for the replay suite
(`tests/workflows/test_replay_histories.py`, `tests/workflows/histories/`).

A test that runs a path worth guarding calls `record_history(handle, name)`
at its end; it writes `histories/<name>.json` only when the run asks for it:

    RECORD_HISTORIES=1 .venv/bin/python -m pytest tests/workflows/test_franceconnect_link.py -k ...

so that an ordinary run never rewrites a recorded history (they must stay as
the code of their time made them)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from temporalio.client import Client, WorkflowHandle, WorkflowHistory

from educonnect.payload_codec import ENCODING

LOCAL_ACTIVITY_MARKER = "core_local_activity"  # the SDK's marker for a local activity's result
HISTORIES_DIR = Path(__file__).resolve().parent.parent / "workflows" / "histories"


async def record_history(handle: WorkflowHandle, name: str) -> None:
    if os.environ.get("RECORD_HISTORIES") != "1":
        return
    history = await handle.fetch_history()
    recorded = {"workflow_id": handle.id, "history": json.loads(history.to_json())}
    (HISTORIES_DIR / f"{name}.json").write_text(json.dumps(recorded, separators=(",", ":")))


async def timeline_summaries(client: Client, handle: WorkflowHandle) -> tuple[list[str], list[str]]:
    """The French summaries of the run's activities (local ones included) and timers, in order,
    decoded by the client's converter; each checked to be stored encrypted."""
    history: WorkflowHistory = await handle.fetch_history()
    activities, timers = [], []
    for event in history.events:
        if not event.HasField("user_metadata") or not event.user_metadata.HasField("summary"):
            continue
        summary = event.user_metadata.summary
        assert summary.metadata["encoding"] == ENCODING, "a summary stored in clear"
        [text] = await client.data_converter.decode([summary], [str])
        if event.HasField("activity_task_scheduled_event_attributes") or (
            event.HasField("marker_recorded_event_attributes")  # a local activity's
            and event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
        ):
            activities.append(text)
        elif event.HasField("timer_started_event_attributes"):
            timers.append(text)
    return activities, timers
