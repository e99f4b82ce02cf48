"""Idempotency keys for side effects: workflow id + run id + step.

A retried activity computes the same key and finds what its first attempt did;
a new run of the same workflow id (a later activation) gets new keys."""

from temporalio import activity


def idempotency_key(step: str) -> str:
    info = activity.info()
    return f"{info.workflow_id}/{info.workflow_run_id}/{step}"
