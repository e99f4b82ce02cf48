"""The API fuzzed from its own OpenAPI description (schemathesis), served as in
the image (`python -m api` on the dev server): every operation with generated
input, valid and not, without a session, then signed in as a guardian and as
staff (the sign-in's cookie carries the state from one call to the next; the
description has no links to follow, a session is a cookie). No answer is a
5xx; every answer has a status, a content type and a body the description
declares; every refusal carries a stable code and a French message.

Bounded: a few examples per operation, derandomized (the same inputs each run),
so that it stays well under a minute; the hand-written sweep
(`tests/test_bad_input_everywhere.py`) keeps its own malformed inputs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import hypothesis
import pytest
import requests
import schemathesis
from requests.adapters import HTTPAdapter
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from educonnect.errors import ErrorCode
from educonnect.models.corrections import StaffRole
from educonnect.staff import create_staff_account
from tests.support.accounts import make_active_account
from tests.support.families import SCHOOL_UAI
from tests.test_bad_input_everywhere import ENGLISH

pytestmark = pytest.mark.asyncio(loop_scope="session")

EXAMPLES_PER_OPERATION = 6
# Answers of routes that end the session the signed-in pass needs.
SIGN_OUTS = {"/sign-out", "/staff/sign-out", "/account/password", "/staff/password"}
CODES = {c.value for c in ErrorCode}


class FromAddress(HTTPAdapter):
    """Connections from a loopback address of this test's own: the per-address
    limits its wrong sign-ins reach close for it alone, not for the other tests."""

    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self._address, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session


def refusal_is_coded_and_french(ctx, response, case) -> bool | None:
    """A refusal: JSON with a stable code and a French message, or a French page."""
    if response.status_code < 400:
        return None
    kind = response.headers.get("content-type", [""])[0]
    text = response.content.decode(errors="replace")
    if kind.startswith("text/html"):
        assert "data-code=" in text and not ENGLISH.search(text), text[:300]
        return True
    body = response.json()
    assert isinstance(body, dict) and body.get("code") in CODES, text[:300]
    messages = [body.get("message") or ""] + [str(d.get("message", "")) for d in body["details"]]
    assert messages[0] and not any(ENGLISH.search(m) for m in messages), text[:300]
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    refusal_is_coded_and_french,
]


def fuzz(api_url: str, session: requests.Session, skip: Callable[[str], bool]) -> tuple[int, list]:
    """Every operation of the description, a bounded number of examples each;
    the failures found (schemathesis's report of each)."""
    schema = schemathesis.openapi.from_url(f"{api_url}/openapi.json")
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if skip(operation.path):
            continue

        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        @hypothesis.given(case=operation.as_strategy())
        def run(case) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(base_url=api_url, session=session, checks=CHECKS, timeout=30)

        try:
            run()
        except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - each report is kept
            failures.append(f"{operation.method.upper()} {operation.path}: {failure}")
    return calls, failures


async def test_every_operation_fuzzed_without_a_session(stack):
    session = session_from("127.0.0.201")
    calls, failures = await asyncio.to_thread(fuzz, stack.api_url, session, lambda p: False)
    assert calls > 300, calls  # the fuzz really covered the API
    assert not failures, "\n\n".join(failures[:10])


async def test_every_operation_fuzzed_signed_in_as_guardian_and_as_staff(stack):
    session = session_from("127.0.0.202")
    guardian = await make_active_account(stack.pool)
    tag = uuid.uuid4().hex[:8]
    login, password = f"fuzz.{tag}@ac-lyon.example.fr", f"Rentree-{tag}-Fort!9"
    await create_staff_account(
        stack.pool, login=login, email=login, display_name="Secrétariat", role=StaffRole.SCHOOL_ADMIN,
        password=password, uai=SCHOOL_UAI, academie="Lyon",
    )  # fmt: skip

    def sign_in_and_fuzz() -> tuple[int, list]:
        signed = session.post(
            f"{stack.api_url}/sign-in",
            json={"identifier": guardian.identifier, "password": guardian.password},
        )
        assert signed.json()["status"] == "signed_in", signed.text
        staff = session.post(
            f"{stack.api_url}/staff/sign-in", json={"login": login, "password": password}
        )
        assert staff.status_code == 200, staff.text
        found = fuzz(stack.api_url, session, lambda path: path in SIGN_OUTS)
        # Both sessions survived (no input ends a session).
        assert session.get(f"{stack.api_url}/portal").status_code == 200
        assert session.get(f"{stack.api_url}/staff/me").status_code == 200
        return found

    calls, failures = await asyncio.to_thread(sign_in_and_fuzz)
    assert calls > 300, calls
    assert not failures, "\n\n".join(failures[:10])
