"""No account enumeration through "Je n'ai pas de compte" (DESIGN §4): the
start of a registration answers the same, in the same time, whether or not the
names and number match a guardian record. In-process API, real PostgreSQL,
real Temporal (time-skipping server), real SMS gateway."""

from __future__ import annotations

import asyncio
import statistics
import time

import pytest

from tests.support.http import answer_headers
from tests.workflows.test_sms_registration import (
    a_mobile,
    handle_of,
    make_guardian,
    national,
    sent_status,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

SAMPLES = 15
MAX_GAP = 0.10
# A timing measurement on a shared 2-core machine can be disturbed by other
# processes: each path's time is its fastest sample (what the code costs, the
# least disturbed), and a round that fails is measured again, at most this many
# rounds. A real difference (a password hash or a query on one path only) shows
# in the fastest samples too and fails every round.
ROUNDS = 5


async def test_match_and_no_match_answer_the_same_in_the_same_time(
    sms_gateway, api, db_pool, time_skipping_env
):
    api.cookies.clear()
    guardian = await make_guardian(db_pool)
    match = {
        "last_name": guardian.last_name,
        "first_name": guardian.first_name,
        "mobile": national(guardian.mobile),
    }
    no_match = {"last_name": "Inconnu", "first_name": "Personne", "mobile": national(a_mobile())}

    async def settled(rid: str) -> None:
        """Wait until the workflow's first step is done (SMS sent or not), so that
        no background work of one request overlaps the next measured one."""
        await sent_status(api, rid)
        handle = handle_of(time_skipping_env, rid)
        for _ in range(500):
            if not (await handle.describe()).raw_description.pending_activities:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{rid} did not settle")

    async def start(body: dict):
        began = time.perf_counter()
        response = await api.post("/registration", json=body)
        elapsed = time.perf_counter() - began
        await settled(response.json()["registration_id"])
        return elapsed, response

    for body in (match, no_match, match, no_match):  # warm-up, not measured
        await start(body)

    rounds = []
    for _ in range(ROUNDS):
        times: dict[str, list[float]] = {"match": [], "no_match": []}
        answers = {}
        for i in range(SAMPLES):
            order = [("match", match), ("no_match", no_match)]
            if i % 2:  # alternate who goes first
                order.reverse()
            for name, body in order:
                elapsed, answers[name] = await start(body)
                times[name].append(elapsed)

        a, b = answers["match"], answers["no_match"]
        assert a.status_code == b.status_code == 201
        body_a, body_b = a.json(), b.json()
        assert body_a.keys() == body_b.keys() == {"registration_id", "message"}
        assert body_a["message"] == body_b["message"]
        assert body_a["registration_id"] != body_b["registration_id"]
        assert answer_headers(a) == answer_headers(b)
        assert "httponly" in a.headers["set-cookie"].lower()  # the attempt is bound to this browser

        fastest_match, fastest_no_match = min(times["match"]), min(times["no_match"])
        gap = abs(fastest_match - fastest_no_match) / max(fastest_match, fastest_no_match)
        rounds.append((fastest_match, fastest_no_match, gap))
        print(
            f"\nregistration start, {SAMPLES} each: fastest match {fastest_match * 1000:.1f} ms, "
            f"no match {fastest_no_match * 1000:.1f} ms, gap {gap:.1%} "
            f"(medians {statistics.median(times['match']) * 1000:.1f} and "
            f"{statistics.median(times['no_match']) * 1000:.1f} ms)\n"
            f"  match (ms): {[round(t * 1000, 1) for t in times['match']]}\n"
            f"  no match (ms): {[round(t * 1000, 1) for t in times['no_match']]}"
        )
        if gap < MAX_GAP:
            break
    assert rounds[-1][2] < MAX_GAP, rounds
