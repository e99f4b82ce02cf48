"""The engine's floor for an activation: a bare workflow of the activation's
shape, without PostgreSQL, SMTP, hashing or HTTP, on the same Temporal server.

The activation (`workflows.activation`) is: a start; the "Gérer mon compte"
update whose handler runs two activities (the birthdate check, the beginning
of the activation); the link's activity; the click's update whose handler runs
one activity (the click read back) and waits for the end, which runs one more
(the account made active). `BareActivation` does the same with activities that
return at once (`BareActivationLocal`: the short steps as local
activities, as EduConnect runs them since issue 14), and `Echo` answers an update without any activity (the bare
Update round trip).

    python -m bench.bare_activation worker ADDRESS TASK_QUEUE   (the floor's worker process)

The benchmark (`bench/activation.py`) starts that worker as a process of its
own, as the real one is, and drives the workflows from its process.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow

OPTIONS = {"start_to_close_timeout": timedelta(seconds=30)}


@activity.defn
async def bare_step(name: str) -> str:
    return name


@workflow.defn
class BareActivation:
    SHORT_STEPS_LOCAL = False  # the shape: every step an activity task

    def __init__(self) -> None:
        self.profile_accepted = False
        self.link_sent = False
        self.clicked = False
        self.done = False

    async def _short_step(self, name: str) -> None:
        """A step EduConnect runs as a local activity since issue 14."""
        if self.SHORT_STEPS_LOCAL:
            await workflow.execute_local_activity(bare_step, name, **OPTIONS)
        else:
            await workflow.execute_activity(bare_step, name, **OPTIONS)

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.profile_accepted)
        await workflow.execute_activity(bare_step, "send-link", **OPTIONS)
        self.link_sent = True
        await workflow.wait_condition(lambda: self.clicked)
        await self._short_step("complete")
        self.done = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "active"

    @workflow.update
    async def submit_profile(self) -> bool:
        await self._short_step("check-birthdate")
        await self._short_step("begin")
        self.profile_accepted = True
        return True

    @workflow.update
    async def confirm_link(self) -> str:
        # The click comes once the link is out (the benchmark sends it at once).
        await workflow.wait_condition(lambda: self.link_sent)
        await self._short_step("click-read-back")
        self.clicked = True
        await workflow.wait_condition(lambda: self.done)
        return "active"


@workflow.defn
class BareActivationLocal(BareActivation):
    """The same shape as EduConnect runs it since issue 14's local activities:
    the birthdate check, the activation begun, the click read back and the
    account made active run as local activities; the link's send stays an
    activity task."""

    SHORT_STEPS_LOCAL = True

    @workflow.run
    async def run(self) -> str:
        return await super().run()


@workflow.defn
class Echo:
    def __init__(self) -> None:
        self.stop = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.stop)

    @workflow.update
    def echo(self, n: int) -> int:
        return n

    @workflow.signal
    def finish(self) -> None:
        self.stop = True


async def _serve(address: str, task_queue: str) -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker

    from educonnect.temporal import data_converter

    # Payloads encrypted as the stack's are (its key ring is in this process's
    # environment): the floor pays what EduConnect pays per payload.
    client = await Client.connect(address, data_converter=data_converter())
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[BareActivation, BareActivationLocal, Echo],
        activities=[bare_step],
    )
    await worker.run()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    if len(sys.argv) != 4 or sys.argv[1] != "worker":
        raise SystemExit(__doc__)
    asyncio.run(_serve(sys.argv[2], sys.argv[3]))
