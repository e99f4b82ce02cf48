"""Sign-in limits (DESIGN §4, FAQ 3): progressive delays, a lock after 100
consecutive failures, and a per-IP limit.

Per identifier (table `sign_in_failures`, keyed by the identifier *as typed*,
trimmed and lower-cased, whether or not an account has it):

- the first `SIGN_IN_FREE_FAILURES` (3) consecutive failures cost nothing;
- after failure n ≥ 3 the next attempt must wait 1 s · 2^(n-3), at most
  15 minutes; an attempt during the wait is refused (`too_many_attempts`, with
  the time to wait) without checking the password and without counting;
- the 100th consecutive failure locks: the identifier refuses every attempt
  (`account_locked`), the account (if any) goes to state 'locked' and its
  sessions end. Only a new password (lost-password process, `unlock`) or the
  school lifts it.
- a sign-in with the right password clears the counter.

Because the counters exist for unknown identifiers too, the answers (status,
body, and timing: no Argon2 verification on a refusal, one on every check) are
the same whether or not the account exists.

Per client address (table `sign_in_ip_failures`): at most
`SIGN_IN_IP_MAX_FAILURES` (30) failures in a sliding `SIGN_IN_IP_WINDOW`
(10 minutes); beyond, every sign-in from that address is refused
(`too_many_requests`) until the window slides. IPv6 clients count per /64.
The address is the TCP peer unless `forwarded_for_trusted_hops` says how many
reverse proxies to trust in X-Forwarded-For (see `client_ip`).

Times come from PostgreSQL's clock (`now()`), so every API process agrees.
"""

from __future__ import annotations

import ipaddress
import math
import uuid
from datetime import datetime, timedelta

import asyncpg

from educonnect import metrics, policies, sessions
from educonnect.credentials import CheckedAccount, check_credentials
from educonnect.errors import DomainError, ErrorCode


def normalize_identifier(identifier: str) -> str:
    return identifier.strip().lower()


def delay_after(failures: int) -> timedelta:
    """How long to wait after `failures` consecutive failures before trying again."""
    if failures < policies.SIGN_IN_FREE_FAILURES:
        return timedelta(0)
    exponent = failures - policies.SIGN_IN_FREE_FAILURES
    max_seconds = policies.SIGN_IN_MAX_DELAY.total_seconds()
    first = policies.SIGN_IN_FIRST_DELAY.total_seconds()
    if exponent > 40:  # 2**40 s is far beyond any cap
        return policies.SIGN_IN_MAX_DELAY
    return timedelta(seconds=min(first * 2**exponent, max_seconds))


def french_duration(wait: timedelta) -> str:
    """ "3 secondes", "1 minute", "14 minutes" (rounded up)."""
    seconds = max(1, math.ceil(wait.total_seconds()))
    if seconds < 60:
        return f"{seconds} seconde{'s' if seconds > 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


class SignInRefused(DomainError):
    """A refusal by the limits; `retry_after` feeds the Retry-After header."""

    def __init__(
        self,
        code: ErrorCode,
        details: list[dict] | None = None,
        message: str | None = None,
        retry_after: timedelta | None = None,
    ):
        super().__init__(code, details, message)
        self.retry_after = retry_after


def wait_refusal(code: ErrorCode, wait: timedelta) -> SignInRefused:
    """`code` (too many attempts, or requests from an address), with the wait in French and in Retry-After."""
    seconds = max(1, math.ceil(wait.total_seconds()))
    lead = {
        ErrorCode.TOO_MANY_ATTEMPTS: "Trop de tentatives de connexion infructueuses pour cet identifiant.",
        ErrorCode.TOO_MANY_REQUESTS: "Trop de tentatives de connexion infructueuses depuis votre connexion internet.",
    }[code]
    return SignInRefused(
        code,
        retry_after=timedelta(seconds=seconds),
        details=[{"retry_after_seconds": seconds}],
        message=f"{lead} Réessayez dans {french_duration(wait)}.",
    )


# --------------------------------------------------------------------------
# Client address


def client_ip(peer: str | None, forwarded_for: str | None, trusted_hops: int) -> str:
    """The client address the per-IP limit counts.

    With `trusted_hops` = 0 the TCP peer, X-Forwarded-For ignored. With N > 0
    (N reverse proxies in front, each appending the address it saw), the N-th
    address from the right of X-Forwarded-For; the leftmost when the header is
    shorter, the peer when it is absent or not an address."""
    candidate = peer
    if trusted_hops > 0 and forwarded_for:
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        if hops:
            candidate = hops[-trusted_hops] if len(hops) >= trusted_hops else hops[0]
    return ip_key(candidate) or ip_key(peer) or "unknown"


def ip_key(address: str | None) -> str | None:
    """IPv4 address as is, IPv6 by /64 (one subscriber's whole prefix); None if not an address."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


# --------------------------------------------------------------------------
# The gates


async def check_ip(conn: asyncpg.Connection | asyncpg.Pool, ip: str) -> None:
    """Refuse when the address had SIGN_IN_IP_MAX_FAILURES failures in the window."""
    row = await conn.fetchrow(
        """
        SELECT failed_at + $3::interval - now() AS wait FROM sign_in_ip_failures
        WHERE ip = $1 AND failed_at > now() - $3::interval
        ORDER BY failed_at DESC OFFSET $2 LIMIT 1
        """,
        ip,
        policies.SIGN_IN_IP_MAX_FAILURES - 1,
        policies.SIGN_IN_IP_WINDOW,
    )
    if row is not None:
        raise wait_refusal(ErrorCode.TOO_MANY_REQUESTS, row["wait"])


async def reserve_ip(pool: asyncpg.Pool, ip: str) -> int:
    """The per-IP gate of every sign-in (families' and staff's alike): refuse
    when the address is over its limit; otherwise count this attempt at once,
    as a failure, and return what `release_ip` needs to give it back when the
    password proves right. Checked and counted under a lock on the address, so
    a burst of parallel attempts cannot all pass before the first ones fail."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('sign-in-ip:' || $1, 0))", ip
        )
        await check_ip(conn, ip)
        # Rows out of the window serve no more: purge them (all addresses).
        await conn.execute("DELETE FROM sign_in_ip_failures WHERE failed_at <= now() - $1::interval",
                           policies.SIGN_IN_IP_WINDOW)  # fmt: skip
        return await conn.fetchval(
            "INSERT INTO sign_in_ip_failures (ip) VALUES ($1) RETURNING id", ip
        )


async def release_ip(conn: asyncpg.Connection | asyncpg.Pool, reservation: int) -> None:
    """The attempt counted by `reserve_ip` was not a failure (right password,
    or refused before its password was checked)."""
    await conn.execute("DELETE FROM sign_in_ip_failures WHERE id = $1", reservation)


async def admit(pool: asyncpg.Pool, identifier: str) -> None:
    """Refuse a locked identifier or one still in its delay; otherwise count
    this attempt at once as the next failure (`record_success` clears the
    series when the password proves right). Decided and counted while holding
    the identifier's row, so a burst of parallel attempts cannot all pass
    before the first ones fail: past the free failures, each waits its delay."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            # DO UPDATE (not NOTHING): the row is locked from here on, so the
            # nightly purge cannot delete it before the SELECT below.
            "INSERT INTO sign_in_failures (identifier, failures) VALUES ($1, 0) "
            "ON CONFLICT (identifier) DO UPDATE SET failures = sign_in_failures.failures",
            identifier,
        )
        row = await conn.fetchrow(
            """
            SELECT f.failures, f.locked_at, f.last_failure_at, now() AS now,
                   (SELECT a.created_at FROM accounts a WHERE a.identifier = f.identifier) AS account_created_at
            FROM sign_in_failures f WHERE f.identifier = $1 FOR UPDATE OF f
            """,
            identifier,
        )
        failures, locked_at = row["failures"], row["locked_at"]
        created = row["account_created_at"]
        if created is not None and created > row["last_failure_at"]:
            # Failures recorded before this account existed (an identifier
            # allocated later) are not its failures.
            failures, locked_at = 0, None
        if locked_at is not None:
            raise SignInRefused(ErrorCode.ACCOUNT_LOCKED)
        if failures >= policies.SIGN_IN_FREE_FAILURES:
            ready_at: datetime = row["last_failure_at"] + delay_after(failures)
            if row["now"] < ready_at:
                raise wait_refusal(ErrorCode.TOO_MANY_ATTEMPTS, ready_at - row["now"])
        await conn.execute(
            "UPDATE sign_in_failures SET failures = $2, last_failure_at = now(), locked_at = NULL WHERE identifier = $1",
            identifier,
            failures + 1,
        )


async def record_failure(pool: asyncpg.Pool, identifier: str) -> None:
    """The admitted attempt's password was wrong (or the identifier unknown):
    its failure, counted by `admit`, stays, timed from now. Raise
    `account_locked` at the 100th consecutive failure, else `invalid_credentials`."""
    async with pool.acquire() as conn, conn.transaction():
        failures = await conn.fetchval(
            "UPDATE sign_in_failures SET last_failure_at = now() WHERE identifier = $1 RETURNING failures",
            identifier,
        )
        locked = failures is not None and failures >= policies.SIGN_IN_MAX_CONSECUTIVE_FAILURES
        if locked:
            await _lock(conn, identifier)
    # Raised once the transaction is committed (raising inside would roll it back).
    metrics.SIGN_IN_FAILURES.inc()
    if locked:
        metrics.SIGN_IN_LOCKS.inc()
        raise SignInRefused(ErrorCode.ACCOUNT_LOCKED)
    raise DomainError(ErrorCode.INVALID_CREDENTIALS)


async def _lock(conn: asyncpg.Connection, identifier: str) -> None:
    """The 100th consecutive failure: the identifier refuses everything, the
    account (if any) is locked and its sessions end."""
    await conn.execute(
        "UPDATE sign_in_failures SET locked_at = coalesce(locked_at, now()) WHERE identifier = $1",
        identifier,
    )
    account_id = await conn.fetchval(
        "UPDATE accounts SET state = 'locked', updated_at = now() "
        "WHERE identifier = $1 AND state IN ('provisioned', 'activating', 'active') RETURNING id",
        identifier,
    )
    if account_id is not None:
        await sessions.revoke_all(conn, account_id)


async def record_success(conn: asyncpg.Connection | asyncpg.Pool, identifier: str) -> None:
    await conn.execute("DELETE FROM sign_in_failures WHERE identifier = $1", identifier)


async def unlock(conn: asyncpg.Connection | asyncpg.Pool, account_id: uuid.UUID) -> None:
    """Seam for the lost-password process (and staff): once the person has set
    a new password, the lock and the counter go. Call inside the transaction
    that stores the new password."""
    identifier = await conn.fetchval(
        """
        UPDATE accounts SET state = CASE WHEN password_hash IS NOT NULL THEN 'active' ELSE 'provisioned' END,
                            updated_at = now()
        WHERE id = $1 AND state = 'locked' RETURNING identifier
        """,
        account_id,
    ) or await conn.fetchval("SELECT identifier FROM accounts WHERE id = $1", account_id)
    if identifier is not None:
        await conn.execute("DELETE FROM sign_in_failures WHERE identifier = $1", identifier)


# --------------------------------------------------------------------------
# Everything together


async def check_credentials_limited(
    pool: asyncpg.Pool, identifier: str, password: str, ip: str
) -> CheckedAccount:
    """`check_credentials` behind the per-IP and per-identifier limits: the one
    way the API checks a password typed at sign-in (and any later process that
    asks for a password, e.g. account merge)."""
    key = normalize_identifier(identifier)
    reservation = await reserve_ip(pool, ip)
    try:
        await admit(pool, key)
    except SignInRefused:
        await release_ip(pool, reservation)  # refused unchecked: no failure of this address
        raise
    try:
        account = await check_credentials(pool, key, password)
    except DomainError as refused:
        if refused.code == ErrorCode.INVALID_CREDENTIALS:
            await record_failure(pool, key)  # raises; the address keeps its failure
        # The password was right (credentials expired, account unavailable...).
        await release_ip(pool, reservation)
        await record_success(pool, key)
        raise
    await release_ip(pool, reservation)
    await record_success(pool, key)
    return account
