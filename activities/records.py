"""Reads of the school records (référentiel)."""

from __future__ import annotations

import asyncpg
from temporalio import activity

from educonnect.models.activation import BirthdateCheck


class RecordActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn
    async def check_child_birthdate(self, check: BirthdateCheck) -> bool:
        """True when a child attached to the account was born on that date."""
        return await self._pool.fetchval(
            """
            SELECT EXISTS (
                SELECT 1 FROM accounts a
                JOIN guardian_pupils gp ON gp.guardian_id = a.guardian_id
                JOIN pupils p ON p.id = gp.pupil_id
                WHERE a.id = $1 AND p.birthdate = $2)
            """,
            check.account_id,
            check.birthdate,
        )
