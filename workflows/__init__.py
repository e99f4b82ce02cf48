"""One module per process; each reads like the process it models.

`ALL_WORKFLOWS` (`workflows.registry`) is loaded on first use, not with the
package: the worker's sandbox imports the package again for every workflow
run (issue 14), and a run of one process then imports its own modules only,
not those of the twelve others."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "ALL_WORKFLOWS":
        from workflows.registry import ALL_WORKFLOWS

        return ALL_WORKFLOWS
    raise AttributeError(f"module 'workflows' has no attribute {name!r}")
