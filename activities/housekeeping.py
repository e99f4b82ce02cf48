"""The nightly purges of tables that only grow (`workflows/housekeeping.py`).

Each purge deletes rows that serve no more, with the retention of
`educonnect.policies`, in batches of `HOUSEKEEPING_BATCH_SIZE` rows: one short
transaction per batch, never one giant one. A purge is idempotent (running it
again finds nothing more to delete) and reports only how many rows went.

Rows a running process may still read are left alone: an accepted SMS code and
a password waiting in `pending_passwords` go only once Temporal says their
process has ended (or never existed)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import asyncpg
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from educonnect import policies, service_grants
from educonnect.account_management import REQUEST_LIMITS
from educonnect.models.housekeeping import PurgeRequest, PurgeResult

BATCH = policies.HOUSEKEEPING_BATCH_SIZE

# When a session ended: at its expiry, or earlier if it was revoked (the same
# expression as the index `sessions_ended_at` of migration 0013).
_SESSION_ENDED = "least(t.expires_at, coalesce(t.revoked_at, t.expires_at))"
# An account's latest activation session tells `sessions.activation_may_be_running`
# that an activation may be waiting: it stays.
_LATEST_ACTIVATION_SESSION = """
    t.scope = 'activation' AND NOT EXISTS (
        SELECT 1 FROM sessions n
        WHERE n.account_id = t.account_id AND n.scope = 'activation' AND (n.created_at, n.id) > (t.created_at, t.id))
"""


class HousekeepingActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn
    async def purge(self, request: PurgeRequest) -> PurgeResult:
        """Run one purge to the end; heartbeats the running count after each batch."""
        run = _PurgeRun(self._pool)
        await getattr(run, request.purge.value)()
        return PurgeResult(purge=request.purge, removed=run.removed)


class _PurgeRun:
    """One purge: its methods are named after the `Purge` values; `removed` counts its rows."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.removed = 0

    # --- the purges -----------------------------------------------------------------

    async def oidc_tokens(self) -> None:
        await self._delete(
            "oidc_tokens", service_grants.PURGEABLE_TOKEN, policies.SERVICE_TOKEN_RETENTION
        )

    async def oidc_codes(self) -> None:
        await self._delete(
            "oidc_codes", service_grants.PURGEABLE_CODE, policies.SERVICE_CODE_RETENTION
        )

    async def service_sessions(self) -> None:
        await self._delete(
            "service_sessions",
            service_grants.PURGEABLE_SERVICE_SESSION,
            policies.SERVICE_SESSION_RETENTION,
        )

    async def client_assertion_ids(self) -> None:
        await self._delete(
            "client_assertion_ids",
            service_grants.PURGEABLE_ASSERTION_ID,
            policies.CLIENT_ASSERTION_LEEWAY,
        )

    async def sessions(self) -> None:
        await self._delete(
            "sessions", f"{_SESSION_ENDED} < now() - $1::interval AND NOT ({_LATEST_ACTIVATION_SESSION})",
            policies.SESSION_RETENTION,
        )  # fmt: skip

    async def staff_sessions(self) -> None:
        await self._delete(
            "staff_sessions", f"{_SESSION_ENDED} < now() - $1::interval", policies.SESSION_RETENTION
        )

    async def email_links(self) -> None:
        await self._delete(
            "email_links", "t.expires_at < now() - $1::interval", policies.EMAIL_LINK_RETENTION
        )

    async def sms_codes(self) -> None:
        retention = policies.SMS_CODE_RETENTION
        await self._delete(
            "sms_codes", "t.used_at IS NULL AND t.expires_at < now() - $1::interval", retention
        )
        # Accepted codes: the correction form of a blocked process reads the number from them.
        after = uuid.UUID(int=0)
        while rows := await self._pool.fetch(
            "SELECT id, process_id FROM sms_codes WHERE used_at IS NOT NULL AND expires_at < now() - $1::interval "
            "AND id > $2 ORDER BY id LIMIT $3",
            retention, after, BATCH,
        ):  # fmt: skip
            after = rows[-1]["id"]
            ended = await _ended_processes({r["process_id"] for r in rows})
            self._count(await self._pool.execute(
                "DELETE FROM sms_codes WHERE id = ANY($1::uuid[]) AND used_at IS NOT NULL "
                "AND expires_at < now() - $2::interval",
                [r["id"] for r in rows if r["process_id"] in ended], retention,
            ))  # fmt: skip

    async def sms_code_submissions(self) -> None:
        await self._delete(
            "sms_code_submissions",
            "t.created_at < now() - $1::interval",
            policies.SMS_SUBMISSION_RETENTION,
        )

    async def franceconnect_logouts(self) -> None:
        await self._delete(
            "franceconnect_logouts",
            "t.expires_at < now() - $1::interval",
            policies.FRANCECONNECT_LOGOUT_RETENTION,
        )

    async def franceconnect_mobile_tries(self) -> None:
        # The daily limit counts the current Europe/Paris day only.
        await self._delete(
            "franceconnect_mobile_tries", "t.day < (now() AT TIME ZONE 'Europe/Paris')::date"
        )

    async def sms_daily_counts(self) -> None:
        # The daily cap counts the current Europe/Paris day only.
        await self._delete("sms_daily_counts", "t.day < (now() AT TIME ZONE 'Europe/Paris')::date")

    async def process_bindings(self) -> None:
        await self._delete(
            "process_bindings",
            "t.expires_at < now() - $1::interval",
            policies.PROCESS_BINDING_MARGIN,
        )

    async def request_counters(self) -> None:
        for scope, (_limit, window) in REQUEST_LIMITS.items():
            await self._delete(
                "request_counters",
                "t.scope = $1 AND t.requested_at <= now() - $2::interval",
                scope,
                window,
            )

    async def sign_in_ip_failures(self) -> None:
        await self._delete(
            "sign_in_ip_failures", "t.failed_at <= now() - $1::interval", policies.SIGN_IN_IP_WINDOW
        )

    async def sign_in_failures(self) -> None:
        # Only identifiers of no account, unlocked, quiet for a day: the delays,
        # the lock and the 100-failure rule of a real account count on its row.
        await self._delete(
            "sign_in_failures",
            "t.locked_at IS NULL AND t.last_failure_at < now() - $1::interval "
            "AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.identifier = t.identifier)",
            policies.UNKNOWN_IDENTIFIER_FAILURES_QUIET,
        )
        # Staff series (login and address): no lock, so once quiet for a day a
        # series serves no more, whether or not the login is a staff member's.
        await self._delete(
            "staff_sign_in_failures",
            "t.last_failure_at < now() - $1::interval",
            policies.STAFF_SIGN_IN_FAILURES_QUIET,
        )

    async def pending_passwords(self) -> None:
        grace = policies.PENDING_PASSWORD_GRACE
        after: tuple[uuid.UUID, str] = (uuid.UUID(int=0), "")
        while rows := await self._pool.fetch(
            "SELECT account_id, process_id FROM pending_passwords WHERE created_at < now() - $1::interval "
            "AND (account_id, process_id) > ($2, $3) ORDER BY account_id, process_id LIMIT $4",
            grace, *after, BATCH,
        ):  # fmt: skip
            after = (rows[-1]["account_id"], rows[-1]["process_id"])
            ended = await _ended_processes({r["process_id"] for r in rows})
            gone = [r for r in rows if r["process_id"] in ended]
            # created_at checked again: a new activation under the same id may have stored a password since.
            self._count(await self._pool.execute(
                "DELETE FROM pending_passwords p USING unnest($1::uuid[], $2::text[]) AS g (account_id, process_id) "
                "WHERE p.account_id = g.account_id AND p.process_id = g.process_id "
                "AND p.created_at < now() - $3::interval",
                [r["account_id"] for r in gone], [r["process_id"] for r in gone], grace,
            ))  # fmt: skip

    # --- batches ----------------------------------------------------------------------

    async def _delete(self, table: str, condition: str, *args: object) -> None:
        """Delete the rows of `table` (aliased `t` in `condition`) matching
        `condition`, BATCH rows per statement, until none is left."""
        statement = (
            f"DELETE FROM {table} t WHERE t.ctid = ANY(ARRAY("
            f"SELECT t.ctid FROM {table} t WHERE {condition} LIMIT {BATCH})) AND {condition}"
        )
        while self._count(await self._pool.execute(statement, *args)) >= BATCH:
            pass

    def _count(self, status: str) -> int:
        """Add the rows of a `DELETE n` status to the purge's count; heartbeat it."""
        removed = int(status.split()[-1])
        self.removed += removed
        activity.heartbeat(self.removed)
        return removed


async def _ended_processes(process_ids: Iterable[str]) -> set[str]:
    """The ids among `process_ids` whose workflow is not running: closed, or
    unknown to Temporal (never started, or past the namespace's retention)."""
    client = activity.client()
    ended: set[str] = set()
    for process_id in process_ids:
        try:
            description = await client.get_workflow_handle(process_id).describe()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            ended.add(process_id)
            continue
        if description.status != WorkflowExecutionStatus.RUNNING:
            ended.add(process_id)
    return ended
