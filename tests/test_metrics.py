"""The product's metrics (educonnect/metrics.py, DESIGN §9): corrections waiting
by age read from PostgreSQL at scrape time, emails and SMS counted sent or
failed where they are sent, sign-in failures and locks, a `/metrics` server of
its own; and the search attributes, which Temporal never encrypts, hold ids,
steps, UAIs and counts only."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import httpx
import pytest
from prometheus_client import REGISTRY
from temporalio.common import SearchAttributeIndexedValueType

from educonnect import metrics, search_attributes
from educonnect.devtools.processes import free_port
from educonnect.emails import Email
from educonnect.emails.sender import send_email
from educonnect.sms import send_sms
from tests.support.corrections import children_of, family_at, make_school
from tests.support.settings_env import settings_env


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def waiting_by_age(db_pool) -> dict[str, float]:
    collector = metrics.CorrectionsWaiting(db_pool, asyncio.get_running_loop())
    # Prometheus's server thread collects; the query runs on this loop meanwhile.
    [family] = await asyncio.to_thread(lambda: list(collector.collect()))
    return {sample.labels["age"]: sample.value for sample in family.samples}


async def test_corrections_waiting_are_counted_by_age(db_pool):
    before = await waiting_by_age(db_pool)
    assert set(before) == {"lt_2d", "2d_5d", "ge_5d"}
    school = await make_school(db_pool)
    ages = {"lt_2d": timedelta(hours=3), "2d_5d": timedelta(days=3), "ge_5d": timedelta(days=9)}
    for age in ages.values():
        family = await family_at(db_pool, school)
        pupil = (await children_of(db_pool, family))[0]
        await db_pool.execute(
            "INSERT INTO correction_requests (id, pupil_id, uai, academie, proposed_birthdate, created_at) "
            "VALUES ($1, $2, $3, $4, $5, now() - $6::interval)",
            uuid.uuid4(),
            pupil["id"],
            school.uai,
            school.academie,
            date(2014, 5, 1),
            age,
        )
    after = await waiting_by_age(db_pool)
    assert {label: after[label] - before[label] for label in ages} == dict.fromkeys(ages, 1)


async def test_emails_and_sms_are_counted_sent_or_failed(smtp_sink, sms_gateway):
    sent, failed = (
        value("educonnect_emails_total", outcome="sent"),
        value("educonnect_emails_total", outcome="failed"),
    )
    email = Email(to="compteur@example.org", subject="Essai", text="Bonjour")
    await send_email(email)
    with settings_env(SMTP_URL=f"smtp://127.0.0.1:{free_port()}"), pytest.raises(OSError):
        await send_email(email)
    assert value("educonnect_emails_total", outcome="sent") - sent == 1
    assert value("educonnect_emails_total", outcome="failed") - failed == 1

    sms_sent, sms_failed = (
        value("educonnect_sms_total", outcome="sent"),
        value("educonnect_sms_total", outcome="failed"),
    )
    await send_sms("+33612345678", "Essai")
    with settings_env(SMS_GATEWAY_TOKEN="wrong"), pytest.raises(httpx.HTTPStatusError):
        await send_sms("+33612345678", "Essai")
    assert value("educonnect_sms_total", outcome="sent") - sms_sent == 1
    assert value("educonnect_sms_total", outcome="failed") - sms_failed == 1


async def test_the_metrics_server_serves_this_process_registry():
    port = free_port()
    server = metrics.MetricsServer("127.0.0.1", port)
    try:
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"http://127.0.0.1:{port}/metrics")
        assert answer.status_code == 200
        assert "educonnect_sign_in_failures_total" in answer.text
        # A port already taken: the process goes on without its metrics.
        metrics.MetricsServer("127.0.0.1", port).close()
    finally:
        server.close()


def test_search_attributes_hold_ids_steps_uais_and_counts_only():
    """Temporal indexes search attributes in clear (the codec never sees them):
    only these, each of a kind that cannot carry a name, an email, a mobile or a
    birthdate (the values are checked after an activation in tests/e2e/test_operations_e2e.py)."""
    kinds = {key.name: key.indexed_value_type for key in search_attributes.ALL}
    assert kinds == {
        "EduProcessStep": SearchAttributeIndexedValueType.KEYWORD,  # a step's code
        "EduAccountId": SearchAttributeIndexedValueType.KEYWORD,  # a UUID
        "EduSchoolUai": SearchAttributeIndexedValueType.KEYWORD_LIST,  # UAI codes
        "EduRowsDone": SearchAttributeIndexedValueType.INT,
        "EduRowsTotal": SearchAttributeIndexedValueType.INT,
    }


def test_no_search_attribute_is_declared_anywhere_else():
    from educonnect.settings import PROJECT_ROOT

    elsewhere = [
        path
        for folder in ("workflows", "activities", "educonnect", "api")
        for path in (PROJECT_ROOT / folder).rglob("*.py")
        if "SearchAttributeKey.for_" in path.read_text() and path.name != "search_attributes.py"
    ]
    assert elsewhere == []
