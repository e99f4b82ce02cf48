"""Filing a birthdate correction (DESIGN §3.7, FAQ 6): the request in
PostgreSQL and its workflow `birthdate-correction/<request-id>`, for every
process that checks a birthdate (`file_birthdate_correction`, once the caller
has checked who asks and for which child). A second request for the same
child while one is open joins it. Only ids reach Temporal; what people wrote
stays in PostgreSQL.

The person-facing side (form, checks of what was typed, following a request)
is `api.correction_form`.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import asyncpg
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from educonnect import audit
from educonnect.blocked_processes import blocked_process
from educonnect.errors import DomainError, ErrorCode
from educonnect.french_dates import french_date
from educonnect.models.corrections import CorrectionInput, CorrectionStep, ParticipantJoined
from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP, SCHOOL_UAI
from educonnect.settings import get_settings
from workflows.birthdate_correction import BirthdateCorrectionWorkflow, summary
from workflows.birthdate_correction import workflow_id as correction_workflow_id

log = logging.getLogger(__name__)

MESSAGE_MAX = 2000
OLDEST_PUPIL = timedelta(days=366 * 30)


# --- the request and its workflow ---------------------------------------------------------


@dataclass(frozen=True)
class Filing:
    """A correction request, once the caller has checked who asks and for which child."""

    pupil_id: uuid.UUID
    proposed_birthdate: date
    message: str
    requester_name: str
    contact_channel: str  # 'email' | 'sms' | 'school' (a pupil without an address: staff tell them)
    contact_email: str | None
    contact_mobile: str | None
    blocked_process_id: str  # e.g. activation/<account-id>, sms-registration/<uuid>
    account_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Filed:
    request_id: uuid.UUID
    joined: bool  # an open request for the same child existed: this one joined it
    status: CorrectionStep


async def file_birthdate_correction(pool: asyncpg.Pool, temporal: Client, filing: Filing) -> Filed:
    """Record the request (or join the child's open one) and start (or signal)
    its workflow. Safe to call again: the person's blocked process takes part
    in a request once."""
    for _ in range(3):
        try:
            filed, uai, academie, participant_id, new_participant, first = await _record_filing(
                pool, filing
            )
            break
        except asyncpg.UniqueViolationError:  # a concurrent filing opened the child's request first
            continue
    else:  # pragma: no cover - three races in a row
        raise DomainError(ErrorCode.SERVICE_UNAVAILABLE)

    first_account = first["account_id"]
    params = CorrectionInput(
        request_id=filed.request_id,
        pupil_id=filing.pupil_id,
        uai=uai,
        academie=academie,
        account_id=first_account,
        filed_by_pupil=blocked_process(first["blocked_process_id"]).own_birthdate,
    )
    attributes: list[SearchAttributePair[Any]] = [
        SearchAttributePair(PROCESS_STEP, CorrectionStep.AWAITING_REVIEW.value)
    ]
    attributes.append(SearchAttributePair(SCHOOL_UAI, [uai]))
    if first_account is not None:
        attributes.append(SearchAttributePair(ACCOUNT_ID, str(first_account)))
    extra: dict[str, Any] = {}
    if filed.joined and new_participant:
        # Signal-with-start: also starts the workflow if an earlier start never reached Temporal.
        # Only for a process joining: the same one filing again is no news to the
        # workflow (a signal each time would grow its history without bound).
        extra = dict(
            start_signal="participant_joined",
            start_signal_args=[ParticipantJoined(participant_id=participant_id)],
        )
    try:
        await temporal.start_workflow(
            BirthdateCorrectionWorkflow.run,
            params,
            id=correction_workflow_id(filed.request_id),
            task_queue=get_settings().task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(attributes),
            static_summary=summary(uai, academie),
            **extra,
        )
    except WorkflowAlreadyStartedError:
        # The request closed meanwhile; the participant was recorded before it
        # closed, so its decision reaches this person too.
        log.info(
            "correction %s closed while %s joined", filed.request_id, filing.blocked_process_id
        )
    return filed


async def _record_filing(pool: asyncpg.Pool, filing: Filing):
    async with pool.acquire() as conn, conn.transaction():
        school = await conn.fetchrow(
            "SELECT p.uai, s.academie FROM pupils p JOIN schools s ON s.uai = p.uai WHERE p.id = $1",
            filing.pupil_id,
        )
        if school is None:
            raise DomainError(ErrorCode.CORRECTION_PUPIL_UNKNOWN)
        open_request = await conn.fetchrow(
            "SELECT id, uai, academie, status FROM correction_requests WHERE pupil_id = $1 AND closed_at IS NULL "
            "FOR UPDATE",
            filing.pupil_id,
        )
        if open_request is None:
            request_id, joined, status_ = uuid.uuid4(), False, CorrectionStep.AWAITING_REVIEW
            uai, academie = school["uai"], school["academie"]
            await conn.execute(
                "INSERT INTO correction_requests (id, pupil_id, uai, academie, proposed_birthdate) "
                "VALUES ($1, $2, $3, $4, $5)",
                request_id,
                filing.pupil_id,
                uai,
                academie,
                filing.proposed_birthdate,
            )
        else:
            request_id, joined = open_request["id"], True
            status_ = CorrectionStep(open_request["status"])
            uai, academie = open_request["uai"], open_request["academie"]
        participant = await conn.fetchrow(
            """
            INSERT INTO correction_participants (id, request_id, account_id, blocked_process_id, requester_name,
                                                 contact_channel, contact_email, contact_mobile)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (request_id, blocked_process_id) DO UPDATE
                SET contact_channel = excluded.contact_channel, contact_email = excluded.contact_email,
                    contact_mobile = excluded.contact_mobile
            RETURNING id, (xmax = 0) AS inserted
            """,
            uuid.uuid4(),
            request_id,
            filing.account_id,
            filing.blocked_process_id,
            filing.requester_name,
            filing.contact_channel,
            filing.contact_email,
            filing.contact_mobile,
        )
        participant_id = participant["id"]
        await conn.execute(
            "INSERT INTO correction_messages (id, request_id, kind, participant_id, body) "
            "VALUES ($1, $2, 'request', $3, $4)",
            uuid.uuid4(),
            request_id,
            participant_id,
            _proposal_text(filing),
        )
        first = await conn.fetchrow(
            "SELECT account_id, blocked_process_id FROM correction_participants WHERE request_id = $1 "
            "ORDER BY created_at, id LIMIT 1",
            request_id,
        )
        await audit.record(
            conn,
            audit.Actor("family", filing.account_id, filing.requester_name),
            "correction.joined" if joined else "correction.filed",
            "correction_request",
            request_id,
            details={
                "blocked_process_id": filing.blocked_process_id,
                "contact_channel": filing.contact_channel,
            },
        )
    return (
        Filed(request_id, joined, status_),
        uai,
        academie,
        participant_id,
        participant["inserted"],
        first,
    )


def _proposal_text(filing: Filing) -> str:
    return (
        f"Date de naissance proposée : {french_date(filing.proposed_birthdate)}\n\n{filing.message}"
    )


def check_plausible_birthdate(value: date, field: str) -> None:
    today = date.today()
    if value > today or value < today - OLDEST_PUPIL:
        raise DomainError(ErrorCode.CORRECTION_DATE_INVALID, [{"field": field}])
