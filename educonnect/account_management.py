"""Domain helpers of account management (DESIGN §3.6, §3.8, §3.9, §4), used by
the API routers `api.routers.account` and `api.routers.recovery` and by sign-in:

- typed input: addresses normalised (mobile numbers: `educonnect.phones`), the new password checked
  against the policy with the account's identifier, names and birthdates;
- notices an account reads at its next sign-in (`account_notices`);
- limits on lost identifier / lost password requests per address, number and
  IP (PostgreSQL counters, sliding windows). They depend only on what was
  typed, never on whether an account matches, and they never lock an account.
"""

from __future__ import annotations

import uuid

import asyncpg

from educonnect import policies
from educonnect.errors import DomainError, ErrorCode
from educonnect.passwords import check_password_policy

# --- typed input -------------------------------------------------------------------


def normalized_identifier(identifier: str) -> str:
    return identifier.strip().lower()


async def password_context(conn: asyncpg.Connection | asyncpg.Pool, account_id: uuid.UUID) -> dict:
    """What the new password must not contain: the identifier, the names of the
    account's person and of the children, their birthdates (DESIGN §4)."""
    rows = await conn.fetch(
        """
        SELECT a.identifier, a.pupil_id IS NOT NULL AS pupil, g.first_name AS g_first, g.last_name AS g_last,
               p.first_name AS p_first, p.last_name AS p_last, p.birthdate
        FROM accounts a
        LEFT JOIN guardians g ON g.id = a.guardian_id
        LEFT JOIN pupils p ON p.id = a.pupil_id
                           OR p.id IN (SELECT gp.pupil_id FROM guardian_pupils gp WHERE gp.guardian_id = a.guardian_id)
        WHERE a.id = $1
        """,
        account_id,
    )
    names = {n for r in rows for n in (r["g_first"], r["g_last"], r["p_first"], r["p_last"]) if n}
    return {
        "identifier": rows[0]["identifier"] if rows else None,
        "names": names,
        "birthdates": {r["birthdate"] for r in rows if r["birthdate"]},
        "pupil": bool(rows and rows[0]["pupil"]),
    }


def check_new_password(
    password: str, confirmation: str, context: dict, field: str = "password"
) -> None:
    """Every broken rule with its own French message, and a confirmation that
    differs among them, so that one answer says all there is to mend."""
    violations = check_password_policy(password, **context)
    mismatch = password != confirmation
    if violations:
        details = [{"field": field, "code": v.code, "message": v.message} for v in violations]
        if mismatch:
            details.append({"field": f"{field}_confirmation", "code": ErrorCode.PASSWORD_MISMATCH.value,
                            "message": ErrorCode.PASSWORD_MISMATCH.message})  # fmt: skip
        raise DomainError(ErrorCode.PASSWORD_POLICY, details)
    if mismatch:
        raise DomainError(ErrorCode.PASSWORD_MISMATCH, [{"field": f"{field}_confirmation"}])


# --- notices read at the next sign-in ------------------------------------------------


async def take_notices(conn: asyncpg.Connection | asyncpg.Pool, account_id: uuid.UUID) -> list[str]:
    """The notices not yet shown to the account, oldest first; they are marked
    delivered (shown once)."""
    rows = await conn.fetch(
        "UPDATE account_notices SET delivered_at = now() WHERE account_id = $1 AND delivered_at IS NULL "
        "RETURNING message, created_at",
        account_id,
    )
    return [r["message"] for r in sorted(rows, key=lambda r: r["created_at"])]


# --- limits on requests anyone may make (lost identifier or password, tickets) -----------

# (limit, sliding window) per counter scope; the housekeeping purges rows out of their window.
REQUEST_LIMITS = {
    "email": (policies.RECOVERY_MAX_PER_CONTACT, policies.RECOVERY_CONTACT_WINDOW),
    "mobile": (policies.RECOVERY_MAX_PER_CONTACT, policies.RECOVERY_CONTACT_WINDOW),
    "ip": (policies.RECOVERY_MAX_PER_IP, policies.RECOVERY_IP_WINDOW),
    "ticket_email": (policies.TICKETS_MAX_PER_EMAIL, policies.TICKETS_EMAIL_WINDOW),
    "ticket_ip": (policies.TICKETS_MAX_PER_IP, policies.TICKETS_IP_WINDOW),
}


async def admit_request(
    pool: asyncpg.Pool,
    counters: list[tuple[str, str]],
    refusal: ErrorCode = ErrorCode.RECOVERY_RATE_LIMITED,
) -> None:
    """Count one request against each (scope, key) counter, e.g.
    [("email", "a@b.fr"), ("ip", "203.0.113.7")], or refuse it (`refusal`,
    nothing counted) when one is at its limit.

    The same queries run whether or not an account matches. Concurrent
    requests on the same counter are serialised (advisory locks, taken in a
    fixed order)."""
    async with pool.acquire() as conn, conn.transaction():
        for scope, key in sorted(counters):
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"recovery/{scope}/{key}"
            )
        refused = False
        for scope, key in counters:
            limit, window = REQUEST_LIMITS[scope]
            await conn.execute(
                "DELETE FROM request_counters WHERE scope = $1 AND key = $2 AND requested_at <= now() - $3::interval",
                scope,
                key,
                window,
            )
            count = await conn.fetchval(
                "SELECT count(*) FROM request_counters WHERE scope = $1 AND key = $2", scope, key
            )
            refused = refused or count >= limit
        if not refused:
            await conn.executemany(
                "INSERT INTO request_counters (scope, key) VALUES ($1, $2)",
                [(s, k) for s, k in counters],
            )
    if refused:
        raise DomainError(refusal)
