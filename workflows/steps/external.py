"""Acting on another process from inside a workflow (deterministic: the
request is a workflow command, recorded in history)."""

from __future__ import annotations

from temporalio import workflow


async def cancel_if_running(workflow_id: str) -> bool:
    """Ask the process `workflow_id` to cancel; False when none is running
    (nothing to end)."""
    try:
        await workflow.get_external_workflow_handle(workflow_id).cancel()
    except Exception:  # not found or already closed
        workflow.logger.info("no %s to cancel", workflow_id)
        return False
    return True
