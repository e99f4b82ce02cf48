"""How a workflow refuses a request, one way for every process.

A refusal is an `ApplicationError` whose type is the stable code and whose
message is the code's French text: update validators and handlers raise it,
the API answers it as that code (`api.errors.update_failure_code`). Histories
record it as it is: change nothing in it, or recorded histories no longer replay.
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from educonnect.errors import ErrorCode


def refusal(code: ErrorCode) -> ApplicationError:
    """The refusal with this code, to raise."""
    return ApplicationError(code.message, type=code)
