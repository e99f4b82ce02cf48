"""Side effects of the birthdate correction (DESIGN §3.7): the request's row,
the correction of the school record (audited), the blocked processes, and
the notices to the person who asked (email or SMS).

Idempotent: a retried activity finds what its first attempt did (decisions
are guarded by the request's status, audit entries and messages by keys
derived from workflow id + run id + step)."""

from __future__ import annotations

import logging
import uuid

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.idempotency import idempotency_key
from educonnect import audit
from educonnect.blocked_processes import blocked_process
from educonnect.emails import corrections as correction_emails
from educonnect.emails.delivery import send_email_once
from educonnect.models.corrections import (
    ApplyCorrection,
    CloseRequest,
    CorrectionApplied,
    CorrectionStep,
    NoticeOutcome,
    RefusedDecision,
    RequesterNotice,
    StaffRef,
    StepRecord,
)
from educonnect.sms import send_sms

log = logging.getLogger(__name__)


def staff_actor(staff: StaffRef) -> audit.Actor:
    return audit.Actor("staff", staff.staff_id, staff.label)


class CorrectionActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn
    async def record_correction_step(self, record: StepRecord) -> None:
        """Mirror the workflow's step in the request's row (the staff queue reads it)."""
        await self._pool.execute(
            "UPDATE correction_requests SET status = $2, escalated = escalated OR $3, updated_at = now() "
            "WHERE id = $1 AND closed_at IS NULL",
            record.request_id,
            record.step.value,
            record.escalated,
        )

    @activity.defn
    async def apply_birthdate_correction(self, request: ApplyCorrection) -> CorrectionApplied:
        """Correct the pupil's birthdate, close the request as approved and audit
        who changed what (old and new value), in one transaction."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT status, previous_birthdate, corrected_birthdate FROM correction_requests "
                "WHERE id = $1 FOR UPDATE",
                request.request_id,
            )
            if row is None:
                raise ApplicationError(
                    "unknown correction request", type="correction_unknown", non_retryable=True
                )
            if row["status"] == CorrectionStep.APPROVED:  # done by an earlier attempt
                return CorrectionApplied(
                    old_birthdate=row["previous_birthdate"],
                    new_birthdate=row["corrected_birthdate"],
                )
            if row["status"] not in ("awaiting_review", "awaiting_information", "escalated"):
                raise ApplicationError(
                    f"correction request already {row['status']}",
                    type="correction_closed",
                    non_retryable=True,
                )
            old = await conn.fetchval(
                "SELECT birthdate FROM pupils WHERE id = $1 FOR UPDATE", request.pupil_id
            )
            await conn.execute(
                "UPDATE pupils SET birthdate = $2 WHERE id = $1",
                request.pupil_id,
                request.corrected_birthdate,
            )
            await conn.execute(
                """
                UPDATE correction_requests SET status = 'approved', corrected_birthdate = $2, previous_birthdate = $3,
                    decided_by = $4, decided_at = now(), closed_at = now(), updated_at = now()
                WHERE id = $1
                """,
                request.request_id,
                request.corrected_birthdate,
                old,
                request.staff.staff_id,
            )
            await audit.record(
                conn,
                staff_actor(request.staff),
                "pupil.birthdate_corrected",
                "pupil",
                request.pupil_id,
                details={
                    "old_birthdate": old.isoformat(),
                    "new_birthdate": request.corrected_birthdate.isoformat(),
                    "correction_request_id": str(request.request_id),
                    "decision_id": str(request.decision_id),
                },
                idempotency_key=idempotency_key("birthdate-corrected"),
            )
        return CorrectionApplied(old_birthdate=old, new_birthdate=request.corrected_birthdate)

    @activity.defn
    async def close_correction_request(self, request: CloseRequest) -> None:
        """Close the request as rejected (by staff) or expired (30 days)."""
        assert request.step in (CorrectionStep.REJECTED, CorrectionStep.EXPIRED)
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """
                UPDATE correction_requests SET status = $2, decided_by = $3,
                    decided_at = CASE WHEN $3::uuid IS NULL THEN NULL ELSE now() END,
                    closed_at = now(), updated_at = now()
                WHERE id = $1 AND closed_at IS NULL
                """,
                request.request_id,
                request.step.value,
                request.staff.staff_id if request.staff else None,
            )
            if request.step == CorrectionStep.EXPIRED:
                await audit.record(
                    conn, audit.SYSTEM, "correction.expired", "correction_request", request.request_id,
                    idempotency_key=idempotency_key("expired"),
                )  # fmt: skip
            else:
                assert request.staff is not None
                await audit.record(
                    conn, staff_actor(request.staff), "correction.rejected", "correction_request", request.request_id,
                    details={"decision_id": str(request.decision_id), "reason_message_id": str(request.message_id)},
                    idempotency_key=idempotency_key(f"rejected/{request.decision_id}"),
                )  # fmt: skip

    @activity.defn
    async def audit_refused_decision(self, refused: RefusedDecision) -> None:
        """A decision the workflow refused without reading it back (its signal
        named an author outside the request's scope). Audited under the
        platform's name: what a signal says about who acted names nobody."""
        decision = refused.decision
        await audit.record(
            self._pool,
            audit.SYSTEM,
            f"correction.{decision.kind.value}" if decision.kind else "correction.decision",
            "correction_request",
            refused.request_id,
            outcome=audit.REFUSED,
            details={
                "code": refused.reason,
                "decision_id": str(decision.decision_id),
                "checked_by": "workflow",
            },
            idempotency_key=idempotency_key(f"refused/{decision.decision_id}"),
        )

    @activity.defn
    async def blocked_processes(self, request_id: uuid.UUID) -> list[str]:
        """Workflow ids of the processes waiting on this correction (the first
        requester's and those of the requests that joined)."""
        rows = await self._pool.fetch(
            "SELECT blocked_process_id FROM correction_participants WHERE request_id = $1 ORDER BY created_at, id",
            request_id,
        )
        return [r["blocked_process_id"] for r in rows]

    @activity.defn
    async def notify_requesters(self, notice: RequesterNotice) -> NoticeOutcome:
        """Tell everyone who asked (email or SMS, as each chose), once each, in
        the words of the process they are blocked in. A pupil without an
        address (channel 'school') gets nothing: the school tells them."""
        request = await self._pool.fetchrow(
            "SELECT r.corrected_birthdate, p.first_name FROM correction_requests r JOIN pupils p ON p.id = r.pupil_id "
            "WHERE r.id = $1",
            notice.request_id,
        )
        if request is None:
            raise ApplicationError(
                "unknown correction request", type="correction_unknown", non_retryable=True
            )
        text = None
        if notice.message_id is not None:
            text = await self._pool.fetchval(
                "SELECT body FROM correction_messages WHERE id = $1", notice.message_id
            )
        participants = await self._pool.fetch(
            "SELECT id, account_id, blocked_process_id, contact_channel, contact_email, contact_mobile "
            "FROM correction_participants WHERE request_id = $1 AND contact_channel <> 'school' "
            "ORDER BY created_at, id",
            notice.request_id,
        )
        facts = dict(
            request_id=notice.request_id,
            child_first_name=request["first_name"],
            corrected_birthdate=request["corrected_birthdate"],
            text=text,
        )
        sent, seen = 0, set()
        for p in participants:
            address = p["contact_email"] if p["contact_channel"] == "email" else p["contact_mobile"]
            if (p["contact_channel"], address) in seen:
                continue
            seen.add((p["contact_channel"], address))
            key = idempotency_key(f"{notice.step}/{p['id']}")
            process = blocked_process(p["blocked_process_id"])
            if p["contact_channel"] == "email":
                email = correction_emails.requester_email(
                    notice.kind, to=address, process=process, **facts
                )
                sent += await send_email_once(
                    self._pool, key, email, f"correction_{notice.kind}", account_id=p["account_id"]
                )
            else:
                # The gateway answers the first message's id for a repeated key: never sent twice.
                text_sms = correction_emails.requester_sms(notice.kind, process=process, **facts)
                await send_sms(address, text_sms, idempotency_key=key)
                sent += 1
        return NoticeOutcome(sent=sent, recipients=len(seen))
