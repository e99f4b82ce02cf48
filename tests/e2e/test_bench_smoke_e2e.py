"""The Temporal benchmarks run end to end at a tiny size and print their
figures (bench/README.md). Not a timing test: the figures are only read back
as numbers, never compared with a goal."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from educonnect.settings import PROJECT_ROOT

NUMBER = r"[0-9]+(?:\.[0-9]+)?"


def run_bench(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env=dict(os.environ, EDUCONNECT_ENV="development"),
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def test_activation_bench_prints_its_figures():
    out = run_bench("bench/activation.py", "--families", "3", "--concurrency", "2", "--warm-up", "1",
                    "--bare-flows", "3", "--update-calls", "8", "--ceiling-seconds", "0.2",
                    "--unhurried", "2")  # fmt: skip
    assert re.search(r"activations \(.*\): 3 activations of 3 in", out), out
    assert "3 accounts active in PostgreSQL; failures: none" in out, out
    for step in ("sign-in", "profile", "link in mailbox", "link page", "click→active"):
        assert re.search(rf"{step} +n=3 +p50 +{NUMBER} ms", out), (step, out)
    assert re.search(rf"engine floor \(the issue's shape.*\): 3 bare flows in {NUMBER} s", out), out
    assert re.search(rf"engine floor \(EduConnect's shape.*\): 3 bare flows in {NUMBER} s", out), (
        out
    )
    assert re.search(r"unhurried \(2 at a time\): 2 activations of 2 in", out), out
    assert re.search(rf"RESULT \(unhurried, 2 at a time\) profile p99 = {NUMBER} ms", out), out
    assert re.search(r"PostgreSQL rows read by sequential scans per activation: ", out), out
    assert re.search(rf"RESULT activations/s = {NUMBER}; engine floor = {NUMBER}/s", out), out
    assert re.search(rf"Temporal per activation \(one history\): {NUMBER} events", out), out
    assert out.count("load average") >= 3, out


def test_waiting_bench_prints_its_figures():
    out = run_bench("bench/waiting.py", "--activations", "4", "--clicks", "2", "--concurrency", "2")
    assert "started: 4 activations waiting at the link" in out, out
    assert re.search(rf"click→active +n=2 +p50 +{NUMBER} ms", out), out
    assert re.search(rf"RESULT waiting = 4; worker RSS = {NUMBER} MiB", out), out
    assert out.count("load average") >= 2, out
