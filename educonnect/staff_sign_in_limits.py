"""Staff sign-in limits (DESIGN §4; issue 19): progressive delays, as for
families (`educonnect.sign_in_limits`), never a lock-out.

One series per login as typed (trimmed, lower-case) *and* client address
(table `staff_sign_in_failures`), kept the same way whether or not a staff
account has that login:

- the first `SIGN_IN_FREE_FAILURES` (3) consecutive failures cost nothing;
- after failure n ≥ 3 the next attempt from that address must wait
  1 s · 2^(n-3), at most 15 minutes; an attempt during the wait is refused
  (`too_many_attempts`, with the time to wait) without checking the password;
- a right password clears the series.

Keyed by address, a series slows down whoever fails, never the staff member
signing in from their school: nobody can lock a staff member out from
outside. The per-address limit of every sign-in (`sign_in_limits.reserve_ip`:
30 failures in 10 minutes, all logins together) bounds what one address may
try on many logins; staff passwords are long (12+ characters, four kinds).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from educonnect import policies
from educonnect.errors import ErrorCode
from educonnect.sign_in_limits import delay_after, wait_refusal


async def admit(pool: asyncpg.Pool, login: str, ip: str) -> None:
    """Refuse an attempt still in its series' delay; otherwise count it at once
    as the next failure (`record_success` clears the series when the password
    proves right). Decided and counted while holding the series' row, so a
    burst of parallel attempts cannot all pass before the first ones fail."""
    async with pool.acquire() as conn, conn.transaction():
        # DO UPDATE (not NOTHING): the row is locked from here on.
        await conn.execute(
            "INSERT INTO staff_sign_in_failures (login, ip) VALUES ($1, $2) "
            "ON CONFLICT (login, ip) DO UPDATE SET failures = staff_sign_in_failures.failures",
            login, ip,
        )  # fmt: skip
        row = await conn.fetchrow(
            "SELECT failures, last_failure_at, now() AS now FROM staff_sign_in_failures "
            "WHERE login = $1 AND ip = $2 FOR UPDATE",
            login, ip,
        )  # fmt: skip
        if row["failures"] >= policies.SIGN_IN_FREE_FAILURES:
            ready_at: datetime = row["last_failure_at"] + delay_after(row["failures"])
            if row["now"] < ready_at:
                raise wait_refusal(ErrorCode.TOO_MANY_ATTEMPTS, ready_at - row["now"])
        await conn.execute(
            "UPDATE staff_sign_in_failures SET failures = failures + 1, last_failure_at = now() "
            "WHERE login = $1 AND ip = $2",
            login, ip,
        )  # fmt: skip


async def record_failure(pool: asyncpg.Pool, login: str, ip: str) -> None:
    """The admitted attempt's password was wrong (or the login unknown): its
    failure, counted by `admit`, stays, timed from now."""
    await pool.execute(
        "UPDATE staff_sign_in_failures SET last_failure_at = now() WHERE login = $1 AND ip = $2",
        login,
        ip,
    )


async def record_success(pool: asyncpg.Pool, login: str, ip: str) -> None:
    await pool.execute("DELETE FROM staff_sign_in_failures WHERE login = $1 AND ip = $2", login, ip)
