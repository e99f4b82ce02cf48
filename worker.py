"""The worker: runs every EduConnect workflow and activity on the task queue.

Start several for more throughput; they share PostgreSQL and Temporal.
"""

from __future__ import annotations

import asyncio
import compileall
import logging
import signal
from pathlib import Path

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities import all_activities
from educonnect import db, tracing
from educonnect.metrics import MetricsServer
from educonnect.process_metrics import ProcessMetricsInterceptor
from educonnect.production_mode import ProductionSettingsError, require_production_ready
from educonnect.settings import Settings, get_settings
from educonnect.temporal import connect
from workflows import ALL_WORKFLOWS
from workflows.housekeeping_schedule import ensure_housekeeping_schedule

log = logging.getLogger("educonnect.worker")


# Modules the workflow sandbox imports once for the whole worker instead of once
# per workflow run (issue 14): `educonnect`, which workflows use only for
# deterministic things (pydantic models of the messages, error codes, policy
# numbers, search attribute keys, date formatting), and which activities
# import anyway. Re-imported per run, its pydantic models were rebuilt for
# every workflow started or brought back into the cache: most of the worker's
# CPU time and memory per cached workflow. The workflow modules themselves
# (`workflows`) stay sandboxed, so the sandbox still checks their code.
SANDBOX_PASSTHROUGH = ("educonnect",)


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox of every workflow, here and in the replay tests."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*SANDBOX_PASSTHROUGH)
    )


def compile_workflow_modules() -> bool:
    """Write the bytecode of the workflow modules, which the sandbox imports
    again for every workflow run: without it each run compiles their source
    (PYTHONDONTWRITEBYTECODE, set in the image and on some machines, stops
    Python from writing it on its own). The image compiles them when it is
    built (its code is read-only); False when the folder is not writable."""
    return compileall.compile_dir(Path(__file__).resolve().parent / "workflows", quiet=2)


def build_worker(client, pool, task_queue: str | None = None) -> Worker:
    """The worker; its processes counted (`educonnect.process_metrics`), and
    traced when its client is (`educonnect.tracing`)."""
    return Worker(
        client,
        task_queue=task_queue or get_settings().task_queue,
        workflows=ALL_WORKFLOWS,
        activities=all_activities(pool),
        interceptors=[ProcessMetricsInterceptor()],
        workflow_runner=workflow_runner(),
        max_cached_workflows=get_settings().worker_max_cached_workflows,
    )


def runtime_with_metrics(settings: Settings) -> Runtime | None:
    """A Temporal runtime exporting the SDK's metrics (workflow task latency,
    schedule-to-start, activity failures...) for Prometheus on
    WORKER_SDK_METRICS_PORT; None (the default runtime) when it is 0."""
    if not settings.worker_sdk_metrics_port:
        return None
    bind = f"{settings.metrics_host}:{settings.worker_sdk_metrics_port}"
    try:
        return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind)))
    except Exception:  # noqa: BLE001 - the processes come first; logged for the operators
        log.exception("SDK metrics: cannot listen on %s; set WORKER_SDK_METRICS_PORT", bind)
        return None


async def start_housekeeping_schedule(client, task_queue: str) -> None:
    """The nightly housekeeping's schedule, created by the first worker to start.
    A server that refuses schedules does not stop the worker: the processes come first."""
    try:
        created = await ensure_housekeeping_schedule(client, task_queue)
    except Exception:  # noqa: BLE001 - logged for the operators, the worker goes on
        log.exception(
            "could not create the housekeeping schedule; start it by hand (see README, operators)"
        )
        return
    log.info("housekeeping schedule %s", "created" if created else "already present")


async def main() -> None:
    settings = get_settings()
    require_production_ready(settings)  # before anything connects anywhere
    compile_workflow_modules()
    await db.migrate_url()
    pool = await db.create_pool()
    product_metrics = MetricsServer(settings.metrics_host, settings.worker_metrics_port)
    client = await connect(
        settings,
        interceptors=tracing.temporal_interceptors(tracing.tracer_provider("educonnect-worker")),
        runtime=runtime_with_metrics(settings),
    )
    worker = build_worker(client, pool)
    await start_housekeeping_schedule(client, settings.task_queue)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker polling task queue %s on %s", settings.task_queue, settings.temporal_address)
    async with worker:
        await stop.wait()
    await pool.close()
    product_metrics.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        asyncio.run(main())
    except ProductionSettingsError as refused:
        raise SystemExit(str(refused)) from None
