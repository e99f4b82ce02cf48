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
correction that waited for its confirmation; an email change told by SMS
(`email-change-notice-by-sms`); activations clicked by signal, before their
link was sent and by nobody (`click-read-back`, `early-click-waits-for-its-link`);
a FranceConnect first visit whose mobile was changed ("Modifier le numéro", a
wrong code before the change) then linked, and one replaced at the code when
the person came back through FranceConnect; housekeeping runs recorded
before the FranceConnect purges existed and with them
(`purge-franceconnect-logouts-and-mobile-tries`), and with the purges of
the OpenID Connect provider's codes, tokens, service sessions and assertion
ids (`purge-service-grants`, with the French summaries of its purges); a correction whose staff
decisions (a question, then an approval) came by the update `decide_and_wait`
(`birthdate-correction-decided-by-update`); an activation whose short steps
(the birthdate check, the activation begun and completed, the click read back)
ran as local activities (`short-steps-as-local-activities`, issue 14).
Every `workflow.patched` branch has at least one recorded history that took it.
The replayer decodes through the payload codec (`educonnect.temporal.data_converter`,
the tests' key ring `tests.support.payload_keys`): the histories recorded before
the codec hold plain JSON, which still decodes; those recorded after
(`activation-reminder-encrypted-with-summaries`, with the French summaries of its
activities and timers) hold ciphertext only.
Add one when a process gains a path worth guarding
(`tests.support.histories.record_history`, run with RECORD_HISTORIES=1)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from educonnect.payload_codec import ENCODING, EncryptionCodec
from educonnect.temporal import data_converter
from worker import workflow_runner
from workflows import ALL_WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
WORKFLOWS_DIR = Path(__file__).parents[2] / "workflows"


def patch_ids_in_code() -> set[str]:
    """The patch ids the workflows' code declares (`X_PATCH = "..."` or a literal), without
    the per-message suffix some add (`read-back-messages/<n>`)."""
    ids = set()
    for path in WORKFLOWS_DIR.rglob("*.py"):
        source = path.read_text()
        ids |= set(re.findall(r'^[A-Z_]+_PATCH = "([^"]+)"', source, re.MULTILINE))
        ids |= set(re.findall(r'patched\(\s*"([^"]+)"', source))
    return ids


def patch_ids_recorded(history: dict) -> set[str]:
    ids = set()
    for event in history["events"]:
        details = event.get("markerRecordedEventAttributes", {}).get("details", {})
        for payload in details.get("patch-data", {}).get("payloads", []):
            ids.add(json.loads(base64.b64decode(payload["data"]))["id"].split("/")[0])
    return ids


def test_every_patched_branch_has_a_recorded_history():
    declared = patch_ids_in_code()
    assert len(declared) >= 6  # the scan finds the declarations
    recorded = set().union(
        *(patch_ids_recorded(json.loads(p.read_text())["history"]) for p in HISTORIES)
    )
    assert declared - recorded == set()


def _input_encoding(history: dict) -> str:
    started = history["events"][0]["workflowExecutionStartedEventAttributes"]
    return base64.b64decode(started["input"]["payloads"][0]["metadata"]["encoding"]).decode()


def test_histories_of_before_and_after_the_codec_are_both_replayed():
    encodings = {_input_encoding(json.loads(p.read_text())["history"]) for p in HISTORIES}
    assert encodings == {"json/plain", ENCODING.decode()}
    assert isinstance(data_converter().payload_codec, EncryptionCodec)


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

    replayer = Replayer(
        workflows=ALL_WORKFLOWS,
        data_converter=data_converter(),
        workflow_runner=workflow_runner(),  # the worker's sandbox
    )
    results = await replayer.replay_workflows(all_histories(), raise_on_replay_failure=False)
    failures = {
        histories[run_id][0]: repr(error) for run_id, error in results.replay_failures.items()
    }
    assert failures == {}
