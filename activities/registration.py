"""Side effects of SMS self-registration (DESIGN §3.2, FAQ 2.1): reading the
guardian record, the "you already have an account" SMS, and the creation of
the account."""

from __future__ import annotations

import logging
import uuid

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.idempotency import idempotency_key
from activities.sms_codes import reserve_daily_sms
from educonnect import sms_texts
from educonnect.identifiers import allocate_identifier
from educonnect.models.registration import (
    ACCOUNT_EXISTS,
    AbandonRegistration,
    AccountCreated,
    CreateRegisteredAccount,
    ExistingAccountNotice,
    FindRegistrant,
    GuardianBirthdateCheck,
    Registrant,
)
from educonnect.settings import get_settings
from educonnect.sms import send_sms

log = logging.getLogger(__name__)

MAX_IDENTIFIER_TRIES = 5


def recovery_url() -> str:
    return get_settings().public_base_url.rstrip("/") + sms_texts.IDENTIFIER_RECOVERY_PATH


class RegistrationActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn
    async def find_registrant(self, request: FindRegistrant) -> Registrant | None:
        """The guardian record and the account it may already have (None without
        a match: the same query, finding nothing)."""
        row = await self._pool.fetchrow(
            "SELECT g.id, g.mobile, a.id AS account_id FROM guardians g "
            "LEFT JOIN accounts a ON a.guardian_id = g.id WHERE g.id = $1",
            request.guardian_id,
        )
        if row is None or not row["mobile"]:
            return None
        return Registrant(
            guardian_id=row["id"], mobile=row["mobile"], existing_account_id=row["account_id"]
        )

    @activity.defn
    async def check_registrant_child_birthdate(self, check: GuardianBirthdateCheck) -> bool:
        """True when a child of the guardian was born on that date."""
        return await self._pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM guardian_pupils gp JOIN pupils p ON p.id = gp.pupil_id "
            "WHERE gp.guardian_id = $1 AND p.birthdate = $2)",
            check.guardian_id,
            check.birthdate,
        )

    @activity.defn
    async def send_existing_account_notice(self, notice: ExistingAccountNotice) -> bool:
        """Tell the number on file that the guardian already has an account,
        with the way to identifier recovery. At most once per process, within
        the number's daily cap; False when the cap kept it from going out."""
        key = idempotency_key("existing-account-notice")
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT outcome, sent_at FROM sent_sms WHERE idempotency_key = $1 FOR UPDATE", key
            )
            if row is None:
                allowed = await reserve_daily_sms(conn, notice.mobile)
                row = await conn.fetchrow(
                    "INSERT INTO sent_sms (idempotency_key, process_id, mobile, template, outcome) "
                    "VALUES ($1, $2, $3, 'existing_account', $4) RETURNING outcome, sent_at",
                    key,
                    notice.process_id,
                    notice.mobile,
                    "accepted" if allowed else "daily_cap",
                )
        if row["outcome"] == "daily_cap":
            return False
        if row["sent_at"] is None:
            # Same text on every attempt: the gateway deduplicates on the key.
            await send_sms(
                notice.mobile,
                sms_texts.existing_account_message(recovery_url()),
                idempotency_key=key,
            )
            await self._pool.execute(
                "UPDATE sent_sms SET sent_at = now() WHERE idempotency_key = $1", key
            )
        return True

    @activity.defn
    async def create_registered_account(self, request: CreateRegisteredAccount) -> AccountCreated:
        """Create the guardian's active account with the password waiting in
        `registrations`: identifier allocated from the names, every child of the
        record attached (through the guardian record), mobile verified by the
        code. Running it twice returns the first account."""
        async with self._pool.acquire() as conn, conn.transaction():
            registration = await conn.fetchrow(
                "SELECT guardian_id, password_hash, account_id FROM registrations WHERE process_id = $1 FOR UPDATE",
                request.process_id,
            )
            if registration is None or registration["guardian_id"] != request.guardian_id:
                raise ApplicationError(
                    "no pending password for this registration",
                    type="pending_password_missing",
                    non_retryable=True,
                )
            if registration["account_id"] is not None:  # done by an earlier attempt
                identifier = await conn.fetchval(
                    "SELECT identifier FROM accounts WHERE id = $1", registration["account_id"]
                )
                return AccountCreated(account_id=registration["account_id"], identifier=identifier)
            if registration["password_hash"] is None:
                raise ApplicationError(
                    "no pending password for this registration",
                    type="pending_password_missing",
                    non_retryable=True,
                )
            guardian = await conn.fetchrow(
                "SELECT g.first_name, g.last_name, g.email, a.id AS account_id FROM guardians g "
                "LEFT JOIN accounts a ON a.guardian_id = g.id WHERE g.id = $1",
                request.guardian_id,
            )
            if guardian["account_id"] is not None:
                raise ApplicationError(
                    "the guardian already has an account", type=ACCOUNT_EXISTS, non_retryable=True
                )
            account_id = await self._insert_account(
                conn, request, guardian, registration["password_hash"]
            )
            await conn.execute(
                "UPDATE registrations SET account_id = $2, password_hash = NULL, completed_at = now(), "
                "updated_at = now() WHERE process_id = $1",
                request.process_id,
                account_id,
            )
            identifier = await conn.fetchval(
                "SELECT identifier FROM accounts WHERE id = $1", account_id
            )
        log.info(
            "registration %s created account %s (%s)", request.process_id, account_id, identifier
        )
        return AccountCreated(account_id=account_id, identifier=identifier)

    @activity.defn
    async def abandon_registration(self, request: AbandonRegistration) -> None:
        """The attempt ended without an account: the password typed is forgotten."""
        await self._pool.execute(
            "DELETE FROM registrations WHERE process_id = $1 AND completed_at IS NULL",
            request.process_id,
        )

    async def _insert_account(
        self, conn, request: CreateRegisteredAccount, guardian, password_hash: str
    ) -> uuid.UUID:
        for _ in range(MAX_IDENTIFIER_TRIES):
            account_id = uuid.uuid4()
            try:
                async with conn.transaction():  # a savepoint: a taken identifier is retried
                    identifier = await allocate_identifier(
                        conn, guardian["first_name"], guardian["last_name"]
                    )
                    await conn.execute(
                        """
                        INSERT INTO accounts (id, kind, identifier, guardian_id, state, password_hash,
                            email, mobile, mobile_verified_at, activated_at)
                        VALUES ($1, 'guardian', $2, $3, 'active', $4, $5, $6, now(), now())
                        """,
                        account_id,
                        identifier,
                        request.guardian_id,
                        password_hash,
                        guardian["email"],
                        request.mobile,
                    )
                return account_id
            except asyncpg.UniqueViolationError as exc:
                if exc.constraint_name == "accounts_identifier_key":
                    continue
                raise ApplicationError(
                    "the guardian already has an account", type=ACCOUNT_EXISTS, non_retryable=True
                ) from exc
        raise ApplicationError("could not allocate an identifier", type="identifier_unavailable")
