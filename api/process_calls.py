"""How a router calls a running process by its workflow id (DESIGN §5): the
status query, an update whose answer the person waits for (UPDATE_TIMEOUT_S at
most), and Temporal's errors turned into the caller's stable codes:

- the status of an unknown process: `not_found`;
- an update the workflow refused (its validator, or an `ApplicationError`):
  the code it gave, through `refusal`;
- an update that finds the process gone: `ended`, a fixed code or one read
  from the process's last status (e.g. expired, code locked), through `refusal`;
- no answer in time: `service_unavailable`.

Also the SMS code step that SMS registration, FranceConnect and the lost
password share (`workflows.steps.sms_code_step`): the typed code is stored hashed,
the workflow gets the row id, and its answer becomes French with the
attempts left."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import asyncpg
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from activities.sms_codes import store_code_submission
from api.errors import update_failure_code
from educonnect.errors import MESSAGES, DomainError, ErrorCode
from educonnect.models.sms_codes import CodeCheck, CodeSubmission, ResendCode

UPDATE_TIMEOUT_S = 20

K = TypeVar("K")  # what the route knows the process by (a registration id, an account id...)
T = TypeVar("T")


async def within_timeout(call: Awaitable[T]) -> T:
    """The answer of an update (or update-with-start); none within
    UPDATE_TIMEOUT_S: `service_unavailable`."""
    try:
        return await asyncio.wait_for(call, UPDATE_TIMEOUT_S)
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):  # ours, or the server's
        raise DomainError(ErrorCode.SERVICE_UNAVAILABLE) from None


def plain_refusal(code: ErrorCode, key: Any) -> DomainError:
    return DomainError(code)


@dataclass(frozen=True)
class ProcessCalls(Generic[K]):
    """One kind of process as its routes call it."""

    workflow: type[Any]  # the workflow class: `run`, the `status` query, its updates
    workflow_id: Callable[[K], str]
    not_found: ErrorCode  # the status of a process that does not exist
    ended: ErrorCode | Callable[[Any], ErrorCode] = (
        ErrorCode.PROCESS_ENDED
    )  # an update finds it gone
    refusal: Callable[[ErrorCode, K], DomainError] = field(
        default=plain_refusal
    )  # a code, as the route says it
    invalid_id_not_found: bool = (
        False  # INVALID_ARGUMENT on the status query also means "not found"
    )

    def handle(self, temporal: Client, key: K) -> WorkflowHandle:
        return temporal.get_workflow_handle_for(self.workflow.run, self.workflow_id(key))

    async def status(self, temporal: Client, key: K) -> Any:
        try:
            return await self.handle(temporal, key).query(self.workflow.status)
        except RPCError as err:
            missing = (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT)
            if err.status == RPCStatusCode.NOT_FOUND or (
                self.invalid_id_not_found and err.status in missing
            ):
                raise DomainError(self.not_found) from None
            raise

    async def update(
        self, temporal: Client, key: K, update: UpdateMethodMultiParam[[Any, Any], Any], arg: Any
    ) -> Any:
        """Run an update and wait for its answer."""
        try:
            return await within_timeout(self.handle(temporal, key).execute_update(update, arg))
        except WorkflowUpdateFailedError as err:
            raise self.refusal(update_failure_code(err), key) from None
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        # The process has ended meanwhile: say how.
        code = (
            self.ended
            if isinstance(self.ended, ErrorCode)
            else self.ended(await self.status(temporal, key))
        )
        raise self.refusal(code, key)


def wrong_answer(code: ErrorCode, field: str, attempts_left: int) -> DomainError:
    """A wrong code or birthdate: the French message says how many tries are left."""
    return DomainError(
        code,
        [{"field": field, "attempts_left": attempts_left}],
        message=f"{MESSAGES[code]} Il vous reste {attempts_left} essai{'s' if attempts_left > 1 else ''}.",
    )


# --- the SMS code step -------------------------------------------------------------------------


def six_digit_code(typed: str) -> str:
    """The code as typed, spaces aside; anything but 6 digits is refused."""
    code = "".join(typed.split())
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            [{"field": "code", "message": "Le code est composé de 6 chiffres."}],
        )
    return code


async def submit_sms_code(
    pool: asyncpg.Pool, temporal: Client, process: ProcessCalls[K], key: K, code: str
) -> None:
    """Send a typed code to the process's `submit_code` update. The code never
    enters Temporal: its HMAC waits in PostgreSQL, the workflow gets the row id.
    A wrong code is refused with the attempts left."""
    submission_id = await store_code_submission(pool, process.workflow_id(key), code)
    check: CodeCheck = await process.update(
        temporal, key, process.workflow.submit_code, CodeSubmission(submission_id=submission_id)
    )
    if check.error == ErrorCode.SMS_CODE_INCORRECT:
        raise wrong_answer(check.error, "code", check.attempts_left)
    if check.error is not None:
        raise DomainError(check.error, [{"field": "code", "attempts_left": check.attempts_left}])


async def resend_sms_code(temporal: Client, process: ProcessCalls[K], key: K) -> None:
    """A new code by SMS (the old one dies): the process's `resend_code` update."""
    await process.update(temporal, key, process.workflow.resend_code, ResendCode())
