"""The worker: runs every EduConnect workflow and activity on the task queue.

Start several for more throughput; they share PostgreSQL and Temporal.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from temporalio.worker import Worker

from activities import all_activities
from educonnect import db
from educonnect.settings import get_settings
from educonnect.temporal import connect
from workflows import ALL_WORKFLOWS

log = logging.getLogger("educonnect.worker")


def build_worker(client, pool, task_queue: str | None = None) -> Worker:
    return Worker(
        client,
        task_queue=task_queue or get_settings().task_queue,
        workflows=ALL_WORKFLOWS,
        activities=all_activities(pool),
    )


async def main() -> None:
    settings = get_settings()
    await db.migrate_url()
    pool = await db.create_pool()
    client = await connect(settings)
    worker = build_worker(client, pool)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker polling task queue %s on %s", settings.task_queue, settings.temporal_address)
    async with worker:
        await stop.wait()
    await pool.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(main())
