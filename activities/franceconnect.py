"""Side effects of the FranceConnect first visit (DESIGN §3.3, FAQ 2.3):
matching the FranceConnect identity to a guardian record, checking a child's
birthdate, linking the identity to the guardian's account (created if none).
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from educonnect import policies
from educonnect.identifiers import normalize_name
from educonnect.models.franceconnect import (
    ChildBirthdateCheck,
    CloseLink,
    GuardianMatch,
    LinkedAccount,
    LinkIdentity,
    MatchGuardian,
)
from educonnect.provisioning import provision_guardian_account
from educonnect.tokens import token_hash


def names_match(record_first: str, record_last: str, given_name: str, family_name: str) -> bool:
    """Accent-, case-, space- and hyphen-insensitive. FranceConnect gives all
    the given names ("Marie Claire"); the school record often only the first."""
    if not normalize_name(record_last) or normalize_name(record_last) != normalize_name(
        family_name
    ):
        return False
    first = normalize_name(record_first)
    given = given_name.split()
    return bool(first) and first in {
        normalize_name(given_name),
        normalize_name(given[0]) if given else "",
    }


class FranceConnectActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="franceconnect_match_guardian")
    async def match_guardian(self, request: MatchGuardian) -> GuardianMatch:
        """The guardian whose mobile on file is `mobile` and whose names are the
        FranceConnect identity's; none otherwise.

        Each number tried counts (its HMAC, once per identity and day, matched
        or not) towards FRANCECONNECT_MOBILES_PER_IDENTITY_PER_DAY; past it,
        nothing is matched (`daily_limit_reached`). A retry, or the same number
        again, finds its row and counts nothing more (idempotent)."""
        async with self._pool.acquire() as conn, conn.transaction():
            identity = await conn.fetchrow(
                "SELECT given_name, family_name FROM franceconnect_identities WHERE id = $1 "
                "FOR UPDATE",  # serialises the identity's tries
                request.identity_id,
            )
            if identity is None:
                raise ApplicationError(
                    "unknown FranceConnect identity", type="identity_unknown", non_retryable=True
                )
            if request.link_id is not None and not await self._count_try(conn, request):
                activity.logger.info(
                    "FranceConnect identity %s: daily limit of mobile numbers reached",
                    request.identity_id,
                )
                return GuardianMatch(daily_limit_reached=True)
        rows = await self._pool.fetch(
            """
            SELECT g.id, g.first_name, g.last_name, g.mobile, (a.id IS NOT NULL) AS has_account
            FROM guardians g LEFT JOIN accounts a ON a.guardian_id = g.id
            WHERE g.mobile = $1 AND EXISTS (SELECT 1 FROM guardian_pupils gp WHERE gp.guardian_id = g.id)
            ORDER BY has_account DESC, g.id
            """,
            request.mobile,
        )
        for row in rows:
            if names_match(
                row["first_name"], row["last_name"], identity["given_name"], identity["family_name"]
            ):
                return GuardianMatch(guardian_id=row["id"], mobile_on_file=row["mobile"])
        return GuardianMatch()

    @staticmethod
    async def _count_try(conn: asyncpg.Connection, request: MatchGuardian) -> bool:
        """Record today's try of this number; False when it is one too many."""
        mobile_hash = token_hash(request.mobile)
        today = "(now() AT TIME ZONE 'Europe/Paris')::date"
        if await conn.fetchval(
            f"SELECT 1 FROM franceconnect_mobile_tries "
            f"WHERE identity_id = $1 AND day = {today} AND mobile_hash = $2",
            request.identity_id,
            mobile_hash,
        ):
            return True
        tried = await conn.fetchval(
            f"SELECT count(*) FROM franceconnect_mobile_tries WHERE identity_id = $1 AND day = {today}",
            request.identity_id,
        )
        if tried >= policies.FRANCECONNECT_MOBILES_PER_IDENTITY_PER_DAY:
            return False
        await conn.execute(
            f"INSERT INTO franceconnect_mobile_tries (identity_id, day, mobile_hash, link_id) "
            f"VALUES ($1, {today}, $2, $3) ON CONFLICT DO NOTHING",
            request.identity_id,
            mobile_hash,
            request.link_id,
        )
        return True

    @activity.defn(name="franceconnect_check_child_birthdate")
    async def check_child_birthdate(self, check: ChildBirthdateCheck) -> bool:
        """True when a child of the guardian was born on that date."""
        return await self._pool.fetchval(
            """
            SELECT EXISTS (
                SELECT 1 FROM guardian_pupils gp JOIN pupils p ON p.id = gp.pupil_id
                WHERE gp.guardian_id = $1 AND p.birthdate = $2)
            """,
            check.guardian_id,
            check.birthdate,
        )

    @activity.defn(name="franceconnect_link_identity")
    async def link_identity(self, request: LinkIdentity) -> LinkedAccount:
        """Link the identity to the guardian's account, creating the account
        (active, mobile verified, no password: FranceConnect signs it in) when
        the guardian has none. A provisioned account becomes active the same
        way (the school's provisional password stops working). Idempotent."""
        now = datetime.now(UTC)
        async with self._pool.acquire() as conn, conn.transaction():
            # Serialise concurrent links of the same guardian.
            await conn.execute(
                "SELECT 1 FROM guardians WHERE id = $1 FOR UPDATE", request.guardian_id
            )
            account = await conn.fetchrow(
                "SELECT id, state FROM accounts WHERE guardian_id = $1", request.guardian_id
            )
            created = account is None
            if created:
                provisioned = await provision_guardian_account(conn, request.guardian_id, now=now)
                account_id, state = provisioned.account_id, "provisioned"
            else:
                account_id, state = account["id"], account["state"]
            if state == "provisioned":
                await conn.execute(
                    """
                    UPDATE accounts SET state = 'active', activated_at = now(), mobile_verified_at = now(),
                        mobile = (SELECT mobile FROM guardians WHERE id = $2),
                        provisional_password_hash = NULL, provisional_expires_at = NULL, updated_at = now()
                    WHERE id = $1
                    """,
                    account_id,
                    request.guardian_id,
                )
            else:
                await conn.execute(
                    "UPDATE accounts SET mobile_verified_at = coalesce(mobile_verified_at, now()), updated_at = now() "
                    "WHERE id = $1",
                    account_id,
                )
            await conn.execute(
                "UPDATE franceconnect_identities SET account_id = coalesce(account_id, $2), "
                "linked_at = coalesce(linked_at, now()) WHERE id = $1",
                request.identity_id,
                account_id,
            )
            linked_to = await conn.fetchval(
                "SELECT account_id FROM franceconnect_identities WHERE id = $1", request.identity_id
            )
            await conn.execute(
                "UPDATE franceconnect_links SET ended_at = coalesce(ended_at, now()) WHERE id = $1",
                request.link_id,
            )
        activity.logger.info(
            "FranceConnect identity %s linked to account %s", request.identity_id, linked_to
        )
        return LinkedAccount(account_id=linked_to, created=created and linked_to == account_id)

    @activity.defn(name="franceconnect_close_link")
    async def close_link(self, request: CloseLink) -> None:
        """The first visit ended without a link (expired, too many codes)."""
        await self._pool.execute(
            "UPDATE franceconnect_links SET ended_at = coalesce(ended_at, now()) WHERE id = $1",
            request.link_id,
        )
