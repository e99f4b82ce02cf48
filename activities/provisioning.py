"""Side effects of school provisioning (DESIGN §3.11): the file's lines, the
school records, the provisioned accounts and their notification (email, or a
printable letter).

Idempotency, batch by batch (a batch is retried whole after a crash):
- records: upserts keyed by the pupil's external id in its school; guardians
  matched by names (among the pupil's guardians, then with the same mobile or
  email anywhere); a row already written is skipped.
- accounts: an account and its `provisioning_notifications` row are created,
  its provisional password generated and hashed, and the email sent (or the
  letter stored) in ONE transaction: a crash before the commit leaves no
  account and nothing delivered, a retry starts over with a new password;
  after the commit the notification row says "delivered" and nothing is done
  again. The email also goes through `sent_emails` under the key
  `provisioning-notification/<account-id>` (one notification per account, for
  every import and every run). The one window left is SMTP accepting the
  message and the commit failing right after: the retry then sends a second
  email whose new password replaces the first (at least once, never zero).
The provisional password lives only in this activity's memory, the email and
the letter: never in Temporal.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from datetime import UTC, datetime

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from educonnect import letters
from educonnect.csv_import import FileRefused, GuardianRow, PupilRow, parse
from educonnect.identifiers import normalize_name
from educonnect.models.provisioning import (
    ImportRef,
    ProvisioningCounts,
    RecordsBatchResult,
    RowRange,
    ValidationSummary,
)
from educonnect.passwords import generate_provisional_password, hash_password_async
from educonnect.policies import PROVISIONAL_CREDENTIALS_VALIDITY
from educonnect.provisioning import (
    School,
    find_school,
    letter_content,
    provision_guardian_account,
    provision_pupil_account,
    send_account_notification,
)

log = logging.getLogger(__name__)

RECORDS_ERROR_FIELD = "enregistrement"


def notification_key(account_id: uuid.UUID) -> str:
    """Idempotency key of an account's provisioning notification: one per
    account, whatever the import, the workflow run or the attempt."""
    return f"provisioning-notification/{account_id}"


def _heartbeat(*details) -> None:
    if activity.in_activity():
        activity.heartbeat(*details)


def _name_key(last: str, first: str) -> tuple[str, str]:
    return normalize_name(last), normalize_name(first)


class ProvisioningActivities:
    def __init__(self, pool: asyncpg.Pool, *, concurrency: int | None = None) -> None:
        self._pool = pool
        # Argon2 releases the GIL: hash on as many threads as there are cores.
        # One more than the cores: a task waiting on PostgreSQL or SMTP leaves a core free.
        self._concurrency = concurrency or (os.cpu_count() or 1) + 1

    # ------------------------------------------------------------------ file

    @activity.defn
    async def validate_import(self, ref: ImportRef) -> ValidationSummary:
        """Check every line of the uploaded file; keep the valid rows (numbered
        0..n-1) and the errors (line numbers, French). Done once per import."""
        row = await self._pool.fetchrow(
            "SELECT content, validated_at, rows_total, rows_valid, rows_invalid "
            "FROM provisioning_imports WHERE id = $1 AND uai = $2",
            ref.import_id,
            ref.uai,
        )
        if row is None:
            raise ApplicationError(
                f"no import {ref.import_id} for {ref.uai}",
                type="import_unknown",
                non_retryable=True,
            )
        if row["validated_at"] is not None:
            return ValidationSummary(
                rows_total=row["rows_total"],
                rows_valid=row["rows_valid"],
                rows_invalid=row["rows_invalid"],
            )
        try:
            parsed = await asyncio.to_thread(parse, bytes(row["content"]))
            rows = [(i, line_no, r.model_dump_json()) for i, (line_no, r) in enumerate(parsed.rows)]
            errors = [(e.line_no, e.field, e.message) for e in parsed.errors]
            total, invalid = parsed.rows_total, len(parsed.invalid_lines)
        except FileRefused as refused:
            rows, errors, total, invalid = [], [(1, None, str(refused))], 0, 0
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM provisioning_import_rows WHERE import_id = $1", ref.import_id
            )
            await conn.execute(
                "DELETE FROM provisioning_import_errors WHERE import_id = $1", ref.import_id
            )
            if rows:
                await conn.copy_records_to_table(
                    "provisioning_import_rows",
                    records=[(ref.import_id, i, line_no, data) for i, line_no, data in rows],
                    columns=["import_id", "position", "line_no", "data"],
                )
            if errors:
                await conn.executemany(
                    "INSERT INTO provisioning_import_errors (import_id, line_no, field, message) VALUES ($1, $2, $3, $4)",
                    [(ref.import_id, *e) for e in errors],
                )
            await conn.execute(
                "UPDATE provisioning_imports SET validated_at = now(), rows_total = $2, rows_valid = $3, "
                "rows_invalid = $4 WHERE id = $1",
                ref.import_id,
                total,
                len(rows),
                invalid,
            )
        log.info(
            "import %s: %d lines, %d valid, %d invalid", ref.import_id, total, len(rows), invalid
        )
        return ValidationSummary(rows_total=total, rows_valid=len(rows), rows_invalid=invalid)

    # --------------------------------------------------------------- records

    @activity.defn
    async def write_records(self, batch: RowRange) -> RecordsBatchResult:
        """Upsert the pupils, guardians and links of rows [start, end)."""
        rows = await self._pool.fetch(
            "SELECT position, line_no, data FROM provisioning_import_rows "
            "WHERE import_id = $1 AND position >= $2 AND position < $3 AND outcome IS NULL ORDER BY position",
            batch.import_id,
            batch.start,
            batch.end,
        )
        failed = 0
        for n, row in enumerate(rows):
            pupil = PupilRow.model_validate_json(row["data"])
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    await self._write_row(conn, batch, row["position"], pupil)
            except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as err:
                # A line the database refuses is reported like an invalid line.
                log.warning(
                    "import %s line %d refused by the database: %s",
                    batch.import_id,
                    row["line_no"],
                    err,
                )
                failed += 1
                await self._pool.execute(
                    "INSERT INTO provisioning_import_errors (import_id, line_no, field, message) "
                    "SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM provisioning_import_errors "
                    "WHERE import_id = $1 AND line_no = $2 AND field = $3)",
                    batch.import_id,
                    row["line_no"],
                    RECORDS_ERROR_FIELD,
                    "Cette ligne n'a pas pu être enregistrée (données refusées par la base). "
                    "Vérifiez-la ou contactez l'assistance.",
                )
            if n % 20 == 0:
                _heartbeat(row["position"])
        return RecordsBatchResult(rows=len(rows), row_errors=failed)

    async def _write_row(
        self, conn: asyncpg.Connection, batch: RowRange, position: int, row: PupilRow
    ) -> None:
        # Serialise the matching of a person across concurrent imports (two
        # schools importing the same guardian at once), in a fixed order.
        keys = sorted({"|".join(g.name_key) for g in row.guardians})
        for key in keys:
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", "guardian:" + key)
        pupil_id, outcome = await self._upsert_pupil(conn, batch.uai, row)
        guardian_ids: list[uuid.UUID] = []
        for guardian in row.guardians:
            guardian_id = await self._match_or_create_guardian(conn, pupil_id, guardian)
            if guardian_id not in guardian_ids:
                guardian_ids.append(guardian_id)
            await conn.execute(
                "INSERT INTO guardian_pupils (guardian_id, pupil_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                guardian_id,
                pupil_id,
            )
        await conn.execute(
            "UPDATE provisioning_import_rows SET pupil_id = $3, guardian_ids = $4, outcome = $5 "
            "WHERE import_id = $1 AND position = $2",
            batch.import_id,
            position,
            pupil_id,
            guardian_ids,
            outcome,
        )

    async def _upsert_pupil(
        self, conn: asyncpg.Connection, uai: str, row: PupilRow
    ) -> tuple[uuid.UUID, str]:
        written = await conn.fetchrow(
            """
            INSERT INTO pupils (id, last_name, first_name, birthdate, uai, class_name, level, external_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (uai, external_id) WHERE external_id IS NOT NULL DO UPDATE
                SET last_name = excluded.last_name, first_name = excluded.first_name,
                    birthdate = excluded.birthdate, class_name = excluded.class_name, level = excluded.level
                WHERE (pupils.last_name, pupils.first_name, pupils.birthdate, pupils.class_name, pupils.level)
                      IS DISTINCT FROM
                      (excluded.last_name, excluded.first_name, excluded.birthdate, excluded.class_name, excluded.level)
            RETURNING id, (xmax = 0) AS inserted
            """,
            uuid.uuid4(),
            row.last_name,
            row.first_name,
            row.birthdate,
            uai,
            row.class_name,
            row.level,
            row.external_id,
        )
        if written is not None:
            return written["id"], "created" if written["inserted"] else "updated"
        pupil_id = await conn.fetchval(
            "SELECT id FROM pupils WHERE uai = $1 AND external_id = $2", uai, row.external_id
        )
        return pupil_id, "unchanged"

    async def _match_or_create_guardian(
        self, conn: asyncpg.Connection, pupil_id: uuid.UUID, guardian: GuardianRow
    ) -> uuid.UUID:
        """The guardian record this line names (FAQ 13: one person, one record):

        1. among the guardians already linked to this pupil, the one with the
           same names (the school's earlier import; contact details may change);
        2. anywhere, the one with the same names and the same mobile or the
           same email (a guardian known through another school);
        3. otherwise a new record.
        A guardian whose account was merged stands for the kept account's guardian.
        Without mobile and email, rule 2 cannot apply: such a guardian named on
        two lines gets two records (never a wrong match; the merge joins them).
        """
        key = guardian.name_key
        candidates = await conn.fetch(
            """
            SELECT g.id, g.last_name, g.first_name, a.state, k.guardian_id AS kept_guardian_id, 1 AS rule
            FROM guardian_pupils gp JOIN guardians g ON g.id = gp.guardian_id
            LEFT JOIN accounts a ON a.guardian_id = g.id
            LEFT JOIN accounts k ON k.id = a.merged_into
            WHERE gp.pupil_id = $1
            UNION ALL
            SELECT g.id, g.last_name, g.first_name, a.state, k.guardian_id, 2
            FROM guardians g
            LEFT JOIN accounts a ON a.guardian_id = g.id
            LEFT JOIN accounts k ON k.id = a.merged_into
            WHERE ($2::text IS NOT NULL AND g.mobile = $2)
               OR ($3::text IS NOT NULL AND lower(g.email) = lower($3))
            """,
            pupil_id,
            guardian.mobile,
            guardian.email,
        )
        same = [c for c in candidates if _name_key(c["last_name"], c["first_name"]) == key]
        if same:
            # Rule 1 first; then a live account over a merged one, an account over none.
            same.sort(
                key=lambda c: (c["rule"], c["state"] == "merged", c["state"] is None, str(c["id"]))
            )
            chosen = same[0]
            guardian_id = (
                chosen["kept_guardian_id"]
                if chosen["state"] == "merged" and chosen["kept_guardian_id"]
                else chosen["id"]
            )
            # The latest "fiche de renseignements" wins; an empty cell erases nothing.
            await conn.execute(
                """
                UPDATE guardians SET mobile = coalesce($2, mobile), email = coalesce($3, email)
                WHERE id = $1 AND ((mobile IS DISTINCT FROM coalesce($2, mobile))
                                   OR (lower(email) IS DISTINCT FROM lower(coalesce($3, email))))
                """,
                guardian_id,
                guardian.mobile,
                guardian.email,
            )
            return guardian_id
        guardian_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO guardians (id, last_name, first_name, mobile, email) VALUES ($1, $2, $3, $4, $5)",
            guardian_id,
            guardian.last_name,
            guardian.first_name,
            guardian.mobile,
            guardian.email,
        )
        return guardian_id

    # -------------------------------------------------------------- accounts

    @activity.defn
    async def provision_accounts(self, batch: RowRange) -> ProvisioningCounts:
        """Accounts for the guardians (and, in a collège or lycée, the pupils)
        of rows [start, end) who have none; each new account is notified once.
        Returns the import's counts so far."""
        school = await self._school(batch.uai)
        rows = await self._pool.fetch(
            "SELECT pupil_id, guardian_ids FROM provisioning_import_rows "
            "WHERE import_id = $1 AND position >= $2 AND position < $3 AND pupil_id IS NOT NULL ORDER BY position",
            batch.import_id,
            batch.start,
            batch.end,
        )
        owners: list[tuple[str, uuid.UUID]] = []
        for row in rows:
            owners += [("guardian", g) for g in row["guardian_ids"] or []]
            if school.degree == 2:
                owners.append(("pupil", row["pupil_id"]))
        owners = list(dict.fromkeys(owners))  # a guardian of two pupils of the batch once

        semaphore = asyncio.Semaphore(self._concurrency)
        done = 0

        async def one(kind: str, owner_id: uuid.UUID) -> None:
            nonlocal done
            async with semaphore:
                await self.provision_and_notify(kind, owner_id, batch.import_id, school)
                done += 1
                _heartbeat(done)

        results = await asyncio.gather(*(one(k, o) for k, o in owners), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]
        return await self.counts(batch.import_id)

    async def _school(self, uai: str) -> School:
        school = await find_school(self._pool, uai)
        if school is None:
            raise ApplicationError(f"no school {uai}", type="school_unknown", non_retryable=True)
        return school

    async def provision_and_notify(
        self, kind: str, owner_id: uuid.UUID, import_id: uuid.UUID, school: School
    ) -> str:
        """Create the account of a guardian or pupil if needed and notify it,
        at most once per account. Returns 'email', 'letter', or 'none' when
        nothing was to do (account notified before, or not created by provisioning)."""
        now = datetime.now(UTC)
        async with self._pool.acquire() as conn, conn.transaction():
            provision = (
                provision_guardian_account if kind == "guardian" else provision_pupil_account
            )
            account = await provision(conn, owner_id, now=now)
            if account.created:
                await conn.execute(
                    "INSERT INTO provisioning_notifications (account_id, import_id) VALUES ($1, $2)",
                    account.account_id,
                    import_id,
                )
                password = account.provisional_password
            else:
                pending = await conn.fetchrow(
                    "SELECT delivered_at FROM provisioning_notifications WHERE account_id = $1 FOR UPDATE",
                    account.account_id,
                )
                state = await conn.fetchval(
                    "SELECT state FROM accounts WHERE id = $1", account.account_id
                )
                if pending is None or pending["delivered_at"] is not None or state != "provisioned":
                    return "none"
                # Created by provisioning but never delivered: nobody saw its
                # password, so a new one is made (and hashed) now.
                password = generate_provisional_password()
                await conn.execute(
                    "UPDATE accounts SET provisional_password_hash = $2, provisional_expires_at = $3, updated_at = now() "
                    "WHERE id = $1",
                    account.account_id,
                    await hash_password_async(password),
                    now + PROVISIONAL_CREDENTIALS_VALIDITY,
                )
            channel = await self._deliver(conn, account.account_id, password, import_id, school)
            await conn.execute(
                "UPDATE provisioning_notifications SET channel = $2, delivered_at = now() WHERE account_id = $1",
                account.account_id,
                channel,
            )
            return channel

    async def _deliver(
        self,
        conn: asyncpg.Connection,
        account_id: uuid.UUID,
        password: str,
        import_id: uuid.UUID,
        school: School,
    ) -> str:
        account = await conn.fetchrow(
            "SELECT kind, identifier, email, guardian_id, pupil_id, provisional_expires_at FROM accounts WHERE id = $1",
            account_id,
        )
        if account["email"]:
            sent = await send_account_notification(
                conn, account_id, password, idempotency_key=notification_key(account_id)
            )
            if not sent:  # already sent under this key: delivered, nothing more
                log.info("account %s: notification already sent", account_id)
            return "email"
        content, class_name, sort_key = await letter_content(conn, account_id, password, school)
        pdf = await asyncio.to_thread(letters.render, content)
        await conn.execute(
            """
            INSERT INTO provisioning_letters (account_id, import_id, uai, class_name, sort_key, pdf)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (account_id) DO UPDATE SET pdf = excluded.pdf, import_id = excluded.import_id,
                created_at = now(), downloaded_at = NULL
            """,
            account_id,
            import_id,
            school.uai,
            class_name,
            sort_key,
            pdf,
        )
        return "letter"

    # ------------------------------------------------------------------ end

    async def counts(self, import_id: uuid.UUID) -> ProvisioningCounts:
        row = await self._pool.fetchrow(
            """
            SELECT
              (SELECT count(*) FROM provisioning_import_rows WHERE import_id = $1 AND outcome = 'created') AS pupils_created,
              (SELECT count(*) FROM provisioning_import_rows WHERE import_id = $1 AND outcome = 'updated') AS pupils_updated,
              (SELECT count(*) FROM provisioning_import_rows WHERE import_id = $1 AND outcome = 'unchanged') AS pupils_unchanged,
              (SELECT count(*) FILTER (WHERE a.kind = 'guardian') FROM provisioning_notifications n
                 JOIN accounts a ON a.id = n.account_id WHERE n.import_id = $1) AS guardian_accounts_created,
              (SELECT count(*) FILTER (WHERE a.kind = 'pupil') FROM provisioning_notifications n
                 JOIN accounts a ON a.id = n.account_id WHERE n.import_id = $1) AS pupil_accounts_created,
              (SELECT count(*) FROM provisioning_notifications WHERE import_id = $1 AND channel = 'email') AS emails_sent,
              (SELECT count(*) FROM provisioning_notifications WHERE import_id = $1 AND channel = 'letter') AS letters_created,
              (SELECT count(DISTINCT a.id) FROM provisioning_import_rows r
                 CROSS JOIN LATERAL unnest(r.guardian_ids) AS gid
                 JOIN accounts a ON a.guardian_id = gid
                 LEFT JOIN provisioning_notifications n ON n.account_id = a.id
                 WHERE r.import_id = $1 AND n.import_id IS DISTINCT FROM $1) AS existing_accounts_attached
            """,
            import_id,
        )
        return ProvisioningCounts(**dict(row))

    @activity.defn
    async def finish_import(self, ref: ImportRef) -> ProvisioningCounts:
        counts = await self.counts(ref.import_id)
        await self._pool.execute(
            "UPDATE provisioning_imports SET finished_at = coalesce(finished_at, now()), summary = $2::jsonb WHERE id = $1",
            ref.import_id,
            json.dumps(counts.model_dump()),
        )
        return counts
