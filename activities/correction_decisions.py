"""What the birthdate-correction workflow hears, read back from PostgreSQL
(DESIGN §3.7, §4): the workflow trusts nothing a signal says about who acted.

- `apply_staff_decision`: a `decide` signal carries the id of a decision the
  staff API wrote (`educonnect.staff_decisions`); the decision is read back,
  checked again (this request, author active and in scope, request open, not
  applied by another process) and applied in one transaction with its audit
  entry, under its author's name as PostgreSQL holds it.
- `check_answer`: an `information_received` signal carries the id of an
  answer the API wrote; it must be an answer to this request's latest
  question.
- `check_participant`: a `participant_joined` signal carries the id of a
  requester the API recorded for this request.
- `check_unblock`: a `birthdate_unblocked` signal, received by a blocked
  process (activation, pupil activation, SMS registration, FranceConnect
  link), names a correction; it must be approved and joined by this very
  process (`correction_participants.blocked_process_id`, the calling
  workflow's id). Answered by a boolean: the process ignores a `False`.

A signal that names nothing of the kind is refused with a non-retryable
`ApplicationError` of type `MESSAGE_REFUSED` (detail: the `MessageRefusal`),
which the workflow notes for operators: nothing changes, nothing is retried.
A refused decision is audited under the platform's name (the signal's claims
name nobody).
"""

from __future__ import annotations

import uuid

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.idempotency import idempotency_key
from educonnect import audit, staff_decisions
from educonnect.models.corrections import (
    MESSAGE_REFUSED,
    AnswerToCheck,
    AppliedDecision,
    CorrectionStep,
    DecisionKind,
    DecisionToApply,
    MessageRefusal,
    ParticipantToCheck,
    UnblockToCheck,
)


def refusal(reason: MessageRefusal, what: str) -> ApplicationError:
    """Non-retryable; benign: an expected answer to a forged message, logged
    once by the caller rather than as a failure with its traceback."""
    return ApplicationError(
        f"{what} refused: {reason.value}", reason.value,
        type=MESSAGE_REFUSED, non_retryable=True, category=ApplicationErrorCategory.BENIGN,
    )  # fmt: skip


class CorrectionDecisionActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn
    async def apply_staff_decision(self, ref: DecisionToApply) -> AppliedDecision:
        """Read the decision back, check it, apply it (record corrected,
        request closed or waiting on the person) and audit it, at most once."""
        key = idempotency_key(f"decision/{ref.decision_id}")
        async with self._pool.acquire() as conn:
            try:
                async with conn.transaction():
                    return await self._apply(conn, ref, key)
            except staff_decisions.Refused as refused:
                activity.logger.warning(
                    "decision %s refused for correction %s: %s",
                    ref.decision_id,
                    ref.request_id,
                    refused.reason.value,
                )
                await audit.record(
                    conn, audit.SYSTEM, "correction.decision", "correction_request", ref.request_id,
                    outcome=audit.REFUSED,
                    details={"code": f"decision_{refused.reason.value}", "decision_id": str(ref.decision_id),
                             "checked_by": "workflow"},
                    idempotency_key=idempotency_key(f"refused/{ref.decision_id}"),
                )  # fmt: skip
                raise refusal(refused.reason, "staff decision") from None

    async def _apply(
        self, conn: asyncpg.Connection, ref: DecisionToApply, key: str
    ) -> AppliedDecision:
        decision = await staff_decisions.read(conn, ref.request_id, ref.decision_id, key)
        applied = AppliedDecision(
            decision_id=decision.id,
            kind=decision.kind,
            staff=decision.author.ref(),
            corrected_birthdate=decision.corrected_birthdate,
            message_id=decision.message_id,
        )
        if decision.applied_key is not None:  # by an earlier attempt of this activity
            if decision.kind == DecisionKind.APPROVE:
                applied.previous_birthdate = await conn.fetchval(
                    "SELECT previous_birthdate FROM correction_requests WHERE id = $1",
                    ref.request_id,
                )
            return applied
        author = decision.author.actor
        if decision.kind == DecisionKind.APPROVE:
            assert decision.corrected_birthdate is not None
            old = await conn.fetchval(
                "SELECT birthdate FROM pupils WHERE id = $1 FOR UPDATE", decision.pupil_id
            )
            await conn.execute(
                "UPDATE pupils SET birthdate = $2 WHERE id = $1",
                decision.pupil_id,
                decision.corrected_birthdate,
            )
            await conn.execute(
                """
                UPDATE correction_requests SET status = 'approved', corrected_birthdate = $2, previous_birthdate = $3,
                    decided_by = $4, decided_at = now(), closed_at = now(), updated_at = now()
                WHERE id = $1
                """,
                ref.request_id,
                decision.corrected_birthdate,
                old,
                decision.author.id,
            )
            await audit.record(
                conn, author, "pupil.birthdate_corrected", "pupil", decision.pupil_id,
                details={"old_birthdate": old.isoformat(), "new_birthdate": decision.corrected_birthdate.isoformat(),
                         "correction_request_id": str(ref.request_id), "decision_id": str(decision.id)},
                idempotency_key=idempotency_key("birthdate-corrected"),
            )  # fmt: skip
            applied.previous_birthdate = old
        elif decision.kind == DecisionKind.REJECT:
            await conn.execute(
                "UPDATE correction_requests SET status = 'rejected', decided_by = $2, decided_at = now(), "
                "closed_at = now(), updated_at = now() WHERE id = $1",
                ref.request_id,
                decision.author.id,
            )
            await audit.record(
                conn, author, "correction.rejected", "correction_request", ref.request_id,
                details={"decision_id": str(decision.id), "reason_message_id": str(decision.message_id)},
                idempotency_key=idempotency_key(f"rejected/{decision.id}"),
            )  # fmt: skip
        else:  # the person is asked: the staff queue shows the request waiting on them
            await conn.execute(
                "UPDATE correction_requests SET status = $2, updated_at = now() WHERE id = $1",
                ref.request_id,
                CorrectionStep.AWAITING_INFORMATION.value,
            )
        await staff_decisions.mark_applied(conn, decision.id, key)
        return applied

    @activity.defn
    async def check_answer(self, answer: AnswerToCheck) -> None:
        """The answer exists, was written by a requester of this request, after
        its latest question; otherwise refused."""
        row = await self._pool.fetchrow(
            """
            SELECT m.created_at, (SELECT max(q.created_at) FROM correction_messages q
                                  WHERE q.request_id = m.request_id AND q.kind = 'question') AS asked_at
            FROM correction_messages m
            WHERE m.id = $1 AND m.request_id = $2 AND m.kind = 'answer' AND m.participant_id IS NOT NULL
            """,
            answer.message_id,
            answer.request_id,
        )
        reason = None
        if row is None:
            reason = MessageRefusal.UNKNOWN
        elif row["asked_at"] is None or row["created_at"] < row["asked_at"]:
            reason = MessageRefusal.ALREADY_USED  # an answer to an earlier question
        if reason is not None:
            activity.logger.warning(
                "answer %s refused for correction %s: %s",
                answer.message_id,
                answer.request_id,
                reason.value,
            )
            raise refusal(reason, "answer")

    @activity.defn
    async def check_participant(self, joined: ParticipantToCheck) -> None:
        """The requester was recorded for this request; otherwise refused."""
        known = await self._pool.fetchval(
            "SELECT true FROM correction_participants WHERE id = $1 AND request_id = $2",
            joined.participant_id,
            joined.request_id,
        )
        if not known:
            activity.logger.warning(
                "participant %s refused for correction %s", joined.participant_id, joined.request_id
            )
            raise refusal(MessageRefusal.UNKNOWN, "participant")

    @activity.defn
    async def check_unblock(self, unblock: UnblockToCheck) -> bool:
        """Whether the correction named was approved and joined by the calling
        process (its workflow id, from Temporal: not from the signal)."""
        process_id = activity.info().workflow_id
        try:
            request_id = uuid.UUID(unblock.correction_id)
        except ValueError:
            approved = False
        else:
            approved = await self._pool.fetchval(
                """
                SELECT EXISTS (SELECT 1 FROM correction_requests r
                               JOIN correction_participants p ON p.request_id = r.id
                               WHERE r.id = $1 AND r.status = 'approved' AND p.blocked_process_id = $2)
                """,
                request_id,
                process_id,
            )
        if not approved:
            activity.logger.warning(
                "unblock of %s refused: correction %r not approved for it",
                process_id,
                unblock.correction_id[:64],
            )
        return bool(approved)
