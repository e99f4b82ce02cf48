"""Latency figures the Temporal benchmarks print: percentiles per step, and
the CPU time and memory of the stack's processes over a run."""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field

import psutil

from bench.stack import cpu_seconds, rss_mib


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (q in 0..100)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class StepTimes:
    """Seconds taken by each step, in the order the steps were first seen."""

    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def add(self, step: str, seconds: float) -> None:
        self.samples[step].append(seconds)

    def p(self, step: str, q: float) -> float:
        """The q-th percentile of `step`, in milliseconds."""
        return percentile(sorted(self.samples[step]), q) * 1000

    def lines(self, indent: str = "  ") -> list[str]:
        out = []
        for step, values in self.samples.items():
            out.append(
                f"{indent}{step:<16} n={len(values):<6} p50 {self.p(step, 50):7.0f} ms   "
                f"p95 {self.p(step, 95):7.0f} ms   p99 {self.p(step, 99):7.0f} ms"
            )
        return out


class CpuWindow:
    """CPU seconds each process spent between `start()` and `lines()`."""

    def __init__(self, processes: dict[str, psutil.Process]) -> None:
        self.processes = processes
        self._at: dict[str, float] = {}
        self._self_at = 0.0
        self._wall = 0.0

    def start(self) -> CpuWindow:
        self._at = {name: cpu_seconds(p) for name, p in self.processes.items()}
        t = os.times()
        self._self_at = t.user + t.system
        self._wall = time.perf_counter()
        return self

    def lines(self, per: int = 0, what: str = "activation") -> list[str]:
        """CPU seconds of each process (and, given `per`, CPU ms per `what`), RSS now."""
        wall = time.perf_counter() - self._wall
        t = os.times()
        used = {name: cpu_seconds(p) - self._at[name] for name, p in self.processes.items()}
        used["bench (clients, SMTP sink)"] = t.user + t.system - self._self_at
        total = sum(used.values())
        out = [
            f"  CPU seconds over {wall:.1f} s of wall time: "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in used.items())
            + f" (total {total:.1f} s = {total / wall:.2f} cores busy)"
        ]
        if per:
            out.append(
                f"  CPU ms per {what}: "
                + ", ".join(f"{name} {1000 * seconds / per:.0f}" for name, seconds in used.items())
                + f" (total {1000 * total / per:.0f})"
            )
        out.append(
            "  RSS now: "
            + ", ".join(f"{name} {rss_mib(p):.0f} MiB" for name, p in self.processes.items())
        )
        return out
