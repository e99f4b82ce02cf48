"""One-time SMS codes (DESIGN §4): issue, send, check. Shared by SMS
self-registration and the FranceConnect first visit.

- A code is 6 digits from `secrets`; only its HMAC is stored, salted with the
  process id (`educonnect.tokens.code_hash`); issuing a code revokes the
  previous codes of the process.
- The code a person types is stored hashed by the API
  (`educonnect.sms_codes.store_code_submission`), the workflow passes the row
  id to `check_code_submission`, which compares in constant time and answers a
  boolean. Counting failures, sends, cooldown and
  expiry is the workflow's job (`workflows.steps.sms_code_step.SmsCodeStep`).
- Every SMS to a number counts against its daily cap (`reserve_daily_sms`).
"""

from __future__ import annotations

import uuid

import asyncpg
from temporalio import activity

from activities.idempotency import idempotency_key
from educonnect import sms_texts
from educonnect.models.sms_codes import (
    CheckCodeRequest,
    CloseCodes,
    CodeIssued,
    SendCodeRequest,
    SendOutcome,
)
from educonnect.policies import SMS_CODE_DIGITS, SMS_DAILY_CAP_PER_NUMBER
from educonnect.sms import not_taken, send_sms
from educonnect.tokens import code_hash, hashes_equal, new_numeric_code

# Compared against when a process has no live code, so that a check costs the
# same with or without one.
_NO_CODE = b"\x00" * 32


async def reserve_daily_sms(conn: asyncpg.Connection, mobile: str) -> bool:
    """Count one SMS to `mobile` today (Europe/Paris) if the daily cap allows it.

    Atomic: concurrent callers never exceed SMS_DAILY_CAP_PER_NUMBER. Call it
    in the transaction that records the SMS, once per SMS handed to the gateway
    (a retry that may send again counts again; one the gateway refused is given
    back, `give_back_daily_sms`)."""
    counted = await conn.fetchval(
        """
        INSERT INTO sms_daily_counts (mobile, day, sent)
        VALUES ($1, (now() AT TIME ZONE 'Europe/Paris')::date, 1)
        ON CONFLICT (mobile, day) DO UPDATE SET sent = sms_daily_counts.sent + 1
            WHERE sms_daily_counts.sent < $2
        RETURNING sent
        """,
        mobile,
        SMS_DAILY_CAP_PER_NUMBER,
    )
    return counted is not None


async def give_back_daily_sms(pool: asyncpg.Pool, mobile: str) -> None:
    """Undo `reserve_daily_sms` for an SMS the gateway certainly did not take
    (`educonnect.sms.not_taken`): the cap counts what was really sent, so a
    gateway down for a while does not use up a number's day in retries."""
    await pool.execute(
        "UPDATE sms_daily_counts SET sent = sent - 1 "
        "WHERE mobile = $1 AND day = (now() AT TIME ZONE 'Europe/Paris')::date AND sent > 0",
        mobile,
    )


def gateway_key(key: str) -> str:
    """The gateway's Idempotency-Key for one attempt of the activity.

    A retry after the gateway accepted an SMS but before `sent_at` was written
    cannot know the first code (only its hash is kept): it issues a new code and
    sends it under a new gateway key, so the person may receive two SMS and
    only the latest code works. A plain replay of the same attempt is deduplicated
    by the gateway."""
    return f"{key}/attempt-{activity.info().attempt}"


class SmsCodeActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn
    async def send_code(self, request: SendCodeRequest) -> CodeIssued:
        """Issue the code of this step and send it by SMS, at most once per step.

        The previous codes of the process die. Without a number (a registration
        that matched no record) nothing is issued nor sent. When the number's
        daily cap is reached nothing is sent either; the outcome says so and a
        retry gives the same answer."""
        if request.mobile is None:
            return CodeIssued(code_id=None, outcome=SendOutcome.NO_NUMBER)
        key = idempotency_key(request.step)
        code = new_numeric_code(SMS_CODE_DIGITS)
        digest = code_hash(code, salt=request.process_id)
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT id, outcome, sent_at FROM sms_codes WHERE idempotency_key = $1 FOR UPDATE",
                key,
            )
            if row is None:
                allowed = await reserve_daily_sms(conn, request.mobile)
                row = await conn.fetchrow(
                    """
                    INSERT INTO sms_codes (id, idempotency_key, process_id, purpose, mobile, outcome,
                                           code_hash, expires_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                    RETURNING id, outcome, sent_at
                    """,
                    uuid.uuid4(),
                    key,
                    request.process_id,
                    request.purpose.value,
                    request.mobile,
                    "issued" if allowed else "daily_cap",
                    digest if allowed else None,
                    request.expires_at,
                )
            elif row["outcome"] == "issued" and row["sent_at"] is None:
                # A retry: the try before may have reached the person (the
                # gateway took the SMS, then the try failed), and this one sends
                # a new code. Each such send counts against the number's daily
                # cap, so a gateway that keeps answering oddly cannot make the
                # retries text a person every minute.
                if await reserve_daily_sms(conn, request.mobile):
                    await conn.execute(
                        "UPDATE sms_codes SET code_hash = $2 WHERE id = $1", row["id"], digest
                    )
                else:
                    row = await conn.fetchrow(
                        "UPDATE sms_codes SET outcome = 'daily_cap', code_hash = NULL WHERE id = $1 "
                        "RETURNING id, outcome, sent_at",
                        row["id"],
                    )
            await conn.execute(
                "UPDATE sms_codes SET revoked_at = now() "
                "WHERE process_id = $1 AND id <> $2 AND used_at IS NULL AND revoked_at IS NULL",
                request.process_id,
                row["id"],
            )
        if row["outcome"] == "daily_cap":
            activity.logger.info("daily SMS cap reached, no code sent for %s", request.process_id)
            return CodeIssued(code_id=None, outcome=SendOutcome.DAILY_CAP)
        if row["sent_at"] is None:
            try:
                await send_sms(
                    request.mobile, sms_texts.code_message(code), idempotency_key=gateway_key(key)
                )
            except Exception as err:
                if not_taken(err):  # the retry's send is counted again, this one was not sent
                    await give_back_daily_sms(self._pool, request.mobile)
                raise
            await self._pool.execute(
                "UPDATE sms_codes SET sent_at = now() WHERE id = $1", row["id"]
            )
        return CodeIssued(code_id=row["id"], outcome=SendOutcome.SENT)

    @activity.defn
    async def check_code_submission(self, request: CheckCodeRequest) -> bool:
        """True when the submitted code is the process's live code (sent, not
        used, not revoked, not expired); the code is then used up.

        Constant-time comparison. A submission is checked once: a retry returns
        the first answer. The submitted hash is erased once checked."""
        async with self._pool.acquire() as conn, conn.transaction():
            submission = await conn.fetchrow(
                "SELECT code_hash, matched FROM sms_code_submissions WHERE id = $1 AND process_id = $2 FOR UPDATE",
                request.submission_id,
                request.process_id,
            )
            if submission is None:
                return False
            if submission["matched"] is not None:
                return submission["matched"]
            # Same query without a live code (code_id None finds nothing): same cost.
            live = await conn.fetchrow(
                """
                SELECT id, code_hash FROM sms_codes
                WHERE id = $1 AND process_id = $2 AND outcome = 'issued' AND sent_at IS NOT NULL
                  AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
                FOR UPDATE
                """,
                request.code_id,
                request.process_id,
            )
            expected = live["code_hash"] if live is not None else _NO_CODE
            matched = hashes_equal(expected, submission["code_hash"]) and live is not None
            if matched:
                await conn.execute("UPDATE sms_codes SET used_at = now() WHERE id = $1", live["id"])
            await conn.execute(
                "UPDATE sms_code_submissions SET matched = $2, checked_at = now(), code_hash = NULL WHERE id = $1",
                request.submission_id,
                matched,
            )
            return matched

    @activity.defn
    async def close_codes(self, request: CloseCodes) -> None:
        """The process ended: its live code dies and the hashes of codes typed
        but never checked are forgotten. Running it twice changes nothing."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE sms_codes SET revoked_at = now() "
                "WHERE process_id = $1 AND used_at IS NULL AND revoked_at IS NULL",
                request.process_id,
            )
            await conn.execute(
                "UPDATE sms_code_submissions SET code_hash = NULL WHERE process_id = $1 AND code_hash IS NOT NULL",
                request.process_id,
            )
