"""Histories recorded on earlier workflow code replay on the code of this
commit (samples-python `replay/`): a change that would break the processes
already running (non-determinism) fails here, without a Temporal server.

`histories/` holds one file per recorded run, {"workflow_id": ..., "history":
<`WorkflowHistory.to_json()`>}, taken from the workflow tests (synthetic
families, nothing secret). The ones there were recorded before the birthdate
step became one module (`workflows/birthdate_step.py`): wrong birthdates,
blocking, `birthdate_unblocked`, expiry, for the four processes that check a
birthdate; a birthdate correction filed by a pupil, recorded before the
workflow knew who filed; and a correction whose messages are read back from
PostgreSQL (a forged decision and a forged answer refused, then a real
question, answer and approval); an activation that reads
`birthdate_unblocked` back (forged ones ignored, then the approval), and the
correction that waited for its confirmation; a FranceConnect first visit
whose mobile was changed ("Modifier le numéro", a wrong code before the
change) then linked, and one replaced at the code when the person came back
through FranceConnect. Add one when a process gains a path worth guarding
(`tests.support.histories.record_history`, run with RECORD_HISTORIES=1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows import ALL_WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


@pytest.mark.asyncio(loop_scope="session")
async def test_recorded_histories_replay_on_the_current_code():
    histories: dict[str, tuple[str, WorkflowHistory]] = {}
    for path in HISTORIES:
        recorded = json.loads(path.read_text())
        history = WorkflowHistory.from_json(recorded["workflow_id"], recorded["history"])
        histories[history.run_id] = (path.name, history)
    types = {
        h.events[0].workflow_execution_started_event_attributes.workflow_type.name
        for _, h in histories.values()
    }
    assert {
        "Activation",
        "PupilActivation",
        "SmsRegistration",
        "FranceConnectLink",
        "BirthdateCorrection",
    } <= types

    async def all_histories():
        for _, history in histories.values():
            yield history

    replayer = Replayer(workflows=ALL_WORKFLOWS, data_converter=pydantic_data_converter)
    results = await replayer.replay_workflows(all_histories(), raise_on_replay_failure=False)
    failures = {
        histories[run_id][0]: repr(error) for run_id, error in results.replay_failures.items()
    }
    assert failures == {}
