"""Side effects of the account merge (DESIGN §3.10, FAQ 12-13).

- `check_merge`: are the two accounts mergeable (same person, guardian
  accounts, not the same, not merged already)?
- `merge_accounts`: in ONE transaction, the other account's children move to
  the kept account, the other account is closed ('merged', `merged_into`),
  its sessions end, the request is marked done and the merge is audited.
  Running it again (same request) changes nothing.
- `notify_merge`: both addresses are told, once per request (keys derived from
  the request id, so a second run of the same request sends nothing).
"""

from __future__ import annotations

import uuid

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from educonnect import audit, sessions
from educonnect.email_addresses import email_key
from educonnect.emails import merge as merge_emails
from educonnect.emails.delivery import send_email_once
from educonnect.errors import ErrorCode
from educonnect.identifiers import normalize_name
from educonnect.models.merge import MergeCheck, MergeOutcome, MergeRef
from educonnect.service_logout import end_services_of_revoked_sessions

_ACCOUNT = """
    SELECT a.id, a.kind, a.identifier, a.state, a.merged_into, a.email, a.guardian_id,
           g.last_name, g.first_name
    FROM accounts a LEFT JOIN guardians g ON g.id = a.guardian_id WHERE a.id = $1
"""


def same_person(a: asyncpg.Record, b: asyncpg.Record) -> bool:
    """Last and first names equal, ignoring accents, case, spaces and hyphens."""
    return (normalize_name(a["last_name"]), normalize_name(a["first_name"])) == (
        normalize_name(b["last_name"]),
        normalize_name(b["first_name"]),
    )


def refusal(kept: asyncpg.Record, other: asyncpg.Record) -> ErrorCode | None:
    if kept["id"] == other["id"]:
        return ErrorCode.MERGE_SAME_ACCOUNT
    if kept["kind"] != "guardian" or other["kind"] != "guardian":
        return ErrorCode.MERGE_PUPIL_ACCOUNT
    if other["state"] == "merged" or kept["state"] == "merged":
        return ErrorCode.MERGE_ALREADY_MERGED
    if not same_person(kept, other):
        return ErrorCode.MERGE_NOT_SAME_PERSON
    return None


class MergeActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def _request(self, conn, merge_id: uuid.UUID) -> asyncpg.Record:
        row = await conn.fetchrow(
            "SELECT id, kept_account_id, other_account_id, status FROM account_merges WHERE id = $1",
            merge_id,
        )
        if row is None:
            raise ApplicationError(
                f"no merge request {merge_id}", type="merge_unknown", non_retryable=True
            )
        return row

    @activity.defn
    async def check_merge(self, ref: MergeRef) -> MergeCheck:
        request = await self._request(self._pool, ref.merge_id)
        kept = await self._pool.fetchrow(_ACCOUNT, request["kept_account_id"])
        other = await self._pool.fetchrow(_ACCOUNT, request["other_account_id"])
        names = dict(kept_identifier=kept["identifier"], other_identifier=other["identifier"])
        if request["status"] == "merged":  # an earlier run of this request did it
            return MergeCheck(already_merged_by_this_request=True, **names)
        return MergeCheck(refusal=refusal(kept, other), **names)

    @activity.defn
    async def record_refusal(self, ref: MergeRef) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            request = await self._request(conn, ref.merge_id)
            kept = await conn.fetchrow(_ACCOUNT, request["kept_account_id"])
            other = await conn.fetchrow(_ACCOUNT, request["other_account_id"])
            code = refusal(kept, other)
            await conn.execute(
                "UPDATE account_merges SET status = 'refused', refusal = $2, completed_at = coalesce(completed_at, now()) "
                "WHERE id = $1 AND status = 'requested'",
                ref.merge_id,
                code.value if code else None,
            )
            await audit.record(
                conn, audit.Actor("family", kept["id"], kept["identifier"]), "account.merge", "account", other["id"],
                outcome=audit.REFUSED, details={"code": code.value if code else None, "kept": kept["identifier"]},
                idempotency_key=f"account-merge/{ref.merge_id}/refused",
            )  # fmt: skip

    @activity.defn
    async def merge_accounts(self, ref: MergeRef) -> MergeOutcome:
        """The merge, once; then the school services still signed in through
        the other account's sessions are told (back-channel logout, DESIGN §10)."""
        outcome = await self._merge_accounts(ref)
        request = await self._request(self._pool, ref.merge_id)
        await end_services_of_revoked_sessions(self._pool, request["other_account_id"])
        return outcome

    async def _merge_accounts(self, ref: MergeRef) -> MergeOutcome:
        async with self._pool.acquire() as conn, conn.transaction():
            request = await self._request(conn, ref.merge_id)
            if request["status"] == "merged":
                return MergeOutcome(children_moved=0, changed=False)
            kept_id, other_id = request["kept_account_id"], request["other_account_id"]
            # Both accounts locked, in a fixed order (two merges at once cannot deadlock).
            await conn.execute(
                "SELECT 1 FROM accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE",
                [kept_id, other_id],
            )
            kept = await conn.fetchrow(_ACCOUNT, kept_id)
            other = await conn.fetchrow(_ACCOUNT, other_id)
            code = refusal(kept, other)
            if code is not None:  # changed since the check (another merge won)
                raise ApplicationError(code.value, type=code.value, non_retryable=True)
            activation_started = await sessions.activation_may_be_running(
                conn, other_id, other["state"]
            )
            moved = await conn.fetch(
                """
                INSERT INTO guardian_pupils (guardian_id, pupil_id, relationship, disputed_at)
                SELECT $1, pupil_id, relationship, disputed_at FROM guardian_pupils WHERE guardian_id = $2
                ON CONFLICT (guardian_id, pupil_id) DO NOTHING
                RETURNING pupil_id
                """,
                kept["guardian_id"],
                other["guardian_id"],
            )
            await conn.execute(
                "DELETE FROM guardian_pupils WHERE guardian_id = $1", other["guardian_id"]
            )
            await conn.execute(
                "UPDATE accounts SET state = 'merged', merged_into = $2, merged_at = now(), updated_at = now() "
                "WHERE id = $1",
                other_id,
                kept_id,
            )
            await sessions.revoke_all(conn, other_id)
            await conn.execute(
                "UPDATE account_merges SET status = 'merged', children_moved = $2, completed_at = now() WHERE id = $1",
                ref.merge_id,
                len(moved),
            )
            await audit.record(
                conn, audit.Actor("family", kept_id, kept["identifier"]), "account.merge", "account", other_id,
                details={"kept": kept["identifier"], "merged": other["identifier"], "children_moved": len(moved),
                         "merge_id": str(ref.merge_id)},
                idempotency_key=f"account-merge/{ref.merge_id}",
            )  # fmt: skip
            return MergeOutcome(
                children_moved=len(moved), changed=True, activation_started=activation_started
            )

    @activity.defn
    async def notify_merge(self, ref: MergeRef) -> int:
        """Tell both addresses (each once per request); returns the emails sent now."""
        request = await self._request(self._pool, ref.merge_id)
        kept = await self._pool.fetchrow(_ACCOUNT, request["kept_account_id"])
        other = await self._pool.fetchrow(_ACCOUNT, request["other_account_id"])
        children = [
            f"{r['first_name']} {r['last_name']}"
            for r in await self._pool.fetch(
                "SELECT p.first_name, p.last_name FROM guardian_pupils gp JOIN pupils p ON p.id = gp.pupil_id "
                "WHERE gp.guardian_id = $1 AND gp.disputed_at IS NULL ORDER BY p.birthdate, p.first_name",
                kept["guardian_id"],
            )
        ]
        sent = 0
        if kept["email"]:
            email = merge_emails.to_kept(to=kept["email"], kept_identifier=kept["identifier"],
                                         other_identifier=other["identifier"], children=children)  # fmt: skip
            sent += await send_email_once(
                self._pool, f"account-merge/{ref.merge_id}/kept", email, "account_merge", kept["id"]
            )
        if other["email"] and email_key(other["email"]) != email_key(kept["email"] or ""):
            email = merge_emails.to_other(to=other["email"], kept_identifier=kept["identifier"],
                                          other_identifier=other["identifier"])  # fmt: skip
            sent += await send_email_once(
                self._pool,
                f"account-merge/{ref.merge_id}/other",
                email,
                "account_merge",
                other["id"],
            )
        return sent
