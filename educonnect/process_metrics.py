"""Processes started and ended, counted by the worker that runs them
(`educonnect.metrics`, DESIGN §9): a worker interceptor around every workflow.

A run counts as started on its first workflow task and as ended when it
returns (outcome: the step its result names, e.g. `active`, `expired`; else
`completed`) or fails (`failed`); never while replaying history (a worker
that picks a process up again, a query on an ended one), so each run counts
once. A continue-as-new is neither an end nor a new start.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.worker import (
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from educonnect import metrics

FAILED = "failed"
COMPLETED = "completed"


def outcome_of(result: Any) -> str:
    step = getattr(result, "step", None)
    if step is None and isinstance(result, dict):
        step = result.get("step")
    return str(getattr(step, "value", step)) if step is not None else COMPLETED


def _count(counter: Any) -> None:
    if workflow.unsafe.is_replaying():
        return
    with workflow.unsafe.sandbox_unrestricted():
        counter.inc()


class _CountingInbound(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        info = workflow.info()
        kind = info.workflow_type
        if info.continued_run_id is None:
            _count(metrics.PROCESSES_STARTED.labels(kind=kind))
        try:
            result = await super().execute_workflow(input)
        except Exception:  # a failed process (continue-as-new and cancellation are not Exception)
            _count(metrics.PROCESSES_ENDED.labels(kind=kind, outcome=FAILED))
            raise
        _count(metrics.PROCESSES_ENDED.labels(kind=kind, outcome=outcome_of(result)))
        return result


class ProcessMetricsInterceptor(Interceptor):
    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return _CountingInbound
