"""Side effects of account management (DESIGN §3.6, §3.8, §3.9): email change,
password change and reset, lost identifier.

Every activity is idempotent (key = workflow id + run id + step): emails go
through `sent_emails`, SMS through `sent_sms` (and the number's daily cap),
links through `email_links`, new passwords are applied once per process
(`password_changes`), notices once per key (`account_notices`).
"""

from __future__ import annotations

import logging
import uuid
from typing import cast

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.email_links import issue_and_send_link
from activities.idempotency import idempotency_key
from activities.sms_codes import reserve_daily_sms
from educonnect import policies
from educonnect.emails import account as texts
from educonnect.emails.delivery import send_email_once
from educonnect.models.activation import LinkRequest, LinkRequestKind, LinkSent
from educonnect.models.email_change import (
    AccountEmailFacts,
    ApplyEmailChange,
    ChangeNotice,
    ChangeNoticeKind,
    CloseEmailChange,
    EmailChangeStep,
    LoadAccountEmail,
    ValidationLinkRequest,
)
from educonnect.models.recovery import (
    ApplyPasswordChange,
    CloseReset,
    FindResetTarget,
    IdentifierReminder,
    PasswordApplied,
    PasswordNotice,
    PasswordNoticeKind,
    RecoveryChannel,
    ResetLinkRequest,
    ResetTarget,
)
from educonnect.service_logout import end_services_of_revoked_sessions
from educonnect.sign_in_limits import unlock
from educonnect.sms import send_sms

log = logging.getLogger(__name__)

EMAIL_VALIDATION_PATH = "/account/email/validation"
PASSWORD_RESET_PATH = "/recovery/password/link"
EMAIL_CHANGE_PURPOSE = "email_change"
PASSWORD_RESET_PURPOSE = "password_reset"

# Accounts that have a password of their own (what lost identifier / lost
# password can help with). A locked account unlocks with a new password.
RECOVERABLE_STATES = ("active", "locked")


async def send_sms_once(
    pool: asyncpg.Pool, key: str, process_id: str, mobile: str, template: str, text: str
) -> bool:
    """Send an SMS at most once under `key` (table `sent_sms`), within the
    number's daily cap; False when the cap kept it from going out. The text
    must be the same on every attempt: the gateway deduplicates on the key."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT outcome, sent_at FROM sent_sms WHERE idempotency_key = $1 FOR UPDATE", key
        )
        if row is None:
            allowed = await reserve_daily_sms(conn, mobile)
            row = await conn.fetchrow(
                "INSERT INTO sent_sms (idempotency_key, process_id, mobile, template, outcome) "
                "VALUES ($1, $2, $3, $4, $5) RETURNING outcome, sent_at",
                key,
                process_id,
                mobile,
                template,
                "accepted" if allowed else "daily_cap",
            )
    if row["outcome"] == "daily_cap":
        log.info("daily SMS cap reached: %s not sent for %s", template, process_id)
        return False
    if row["sent_at"] is None:
        await send_sms(mobile, text, idempotency_key=key)
        await pool.execute("UPDATE sent_sms SET sent_at = now() WHERE idempotency_key = $1", key)
    return True


def expired_change_notice(email: str | None) -> str:
    hours = int(policies.EMAIL_CHANGE_LINK_VALIDITY.total_seconds() // 3600)
    address = f" {email}" if email else ""
    return (
        f"Votre demande de validation de l'adresse électronique{address} a expiré : le lien envoyé n'a pas été "
        f"utilisé dans les {hours} heures. Rien n'a changé sur votre compte. Vous pouvez refaire la demande "
        "dans « Gérer mon compte », rubrique adresse électronique."
    )


class AccountManagementActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    # --- email change ---------------------------------------------------------------

    @activity.defn
    async def load_account_email(self, request: LoadAccountEmail) -> AccountEmailFacts:
        row = await self._pool.fetchrow(
            "SELECT identifier, email, email_verified_at IS NOT NULL AS verified FROM accounts WHERE id = $1",
            request.account_id,
        )
        if row is None:
            raise ApplicationError("unknown account", type="account_unknown", non_retryable=True)
        return AccountEmailFacts(
            identifier=row["identifier"], email=row["email"], verified=row["verified"]
        )

    @activity.defn
    async def send_email_validation_link(self, request: ValidationLinkRequest) -> LinkSent:
        """The single-use validation link for the new address (valid 72 h), at
        most once per step; the previous links of the process die."""
        return await issue_and_send_link(
            self._pool,
            LinkRequest(
                account_id=request.account_id,
                process_id=request.process_id,
                email=request.email,
                step=request.step,
                kind=LinkRequestKind(request.kind),
                expires_at=request.expires_at,
            ),
            lambda to, identifier, url: texts.email_validation(
                to=to,
                identifier=identifier,
                url=url,
                expires_at=request.expires_at,
                first_validation=request.first_validation,
                kind=LinkRequestKind(request.kind),
            ),
            purpose=EMAIL_CHANGE_PURPOSE,
            path=EMAIL_VALIDATION_PATH,
        )

    @activity.defn
    async def send_change_notice(self, notice: ChangeNotice) -> bool:
        """Tell the old address that a change was asked for, or made; without a
        validated address (`to` None), the verified number by SMS (nothing when
        there is none either)."""
        account = await self._pool.fetchrow(
            "SELECT identifier, mobile, mobile_verified_at IS NOT NULL AS mobile_ok FROM accounts WHERE id = $1",
            notice.account_id,
        )
        identifier = account["identifier"]
        if notice.to is None:
            if not (account["mobile"] and account["mobile_ok"]):
                log.info(
                    "account %s has no validated address nor verified number: no change notice",
                    notice.account_id,
                )
                return False
            return await send_sms_once(
                self._pool, idempotency_key(notice.step), cast(str, activity.info().workflow_id), account["mobile"],
                f"email_change_{notice.kind.value}", texts.sms_email_change(notice.kind.value, notice.new_email),
            )  # fmt: skip
        compose = (
            texts.email_change_requested
            if notice.kind == ChangeNoticeKind.REQUESTED
            else texts.email_changed
        )
        email = compose(to=notice.to, identifier=identifier, new_email=notice.new_email)
        return await send_email_once(
            self._pool,
            idempotency_key(notice.step),
            email,
            f"email_change_{notice.kind.value}",
            account_id=notice.account_id,
        )

    @activity.defn
    async def apply_email_change(self, request: ApplyEmailChange) -> None:
        """The validation link was clicked: the address of the link becomes the
        account's address, verified; the link is used up, the others die.
        Running it twice changes nothing."""
        async with self._pool.acquire() as conn, conn.transaction():
            link = await conn.fetchrow(
                "SELECT email, used_at FROM email_links "
                "WHERE id = $1 AND account_id = $2 AND process_id = $3 AND purpose = $4 FOR UPDATE",
                request.link_id,
                request.account_id,
                request.process_id,
                EMAIL_CHANGE_PURPOSE,
            )
            if link is None:
                raise ApplicationError(
                    "unknown validation link", type="link_unknown", non_retryable=True
                )
            if link["used_at"] is not None:  # applied by an earlier attempt
                return
            await conn.execute(
                "UPDATE email_links SET used_at = now() WHERE id = $1", request.link_id
            )
            await conn.execute(
                "UPDATE email_links SET revoked_at = now() "
                "WHERE process_id = $1 AND id <> $2 AND used_at IS NULL AND revoked_at IS NULL",
                request.process_id,
                request.link_id,
            )
            await conn.execute(
                "UPDATE accounts SET email = $2, email_verified_at = now(), updated_at = now() WHERE id = $1",
                request.account_id,
                link["email"],
            )

    @activity.defn
    async def close_email_change(self, request: CloseEmailChange) -> None:
        """Expired or cancelled: the links die (their page then says the request
        ended and nothing changed), nothing else changes. An expired change
        leaves a notice for the next sign-in."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE email_links SET expires_at = least(expires_at, now()) "
                "WHERE process_id = $1 AND used_at IS NULL AND revoked_at IS NULL",
                request.process_id,
            )
            if request.step == EmailChangeStep.EXPIRED:
                await conn.execute(
                    "INSERT INTO account_notices (id, idempotency_key, account_id, kind, message) "
                    "VALUES ($1, $2, $3, 'email_change_expired', $4) ON CONFLICT (idempotency_key) DO NOTHING",
                    uuid.uuid4(),
                    idempotency_key("expired-notice"),
                    request.account_id,
                    expired_change_notice(request.pending_email),
                )

    # --- new passwords (change and reset) --------------------------------------------

    @activity.defn
    async def apply_new_password(self, request: ApplyPasswordChange) -> PasswordApplied:
        """Make the password waiting in `pending_passwords` the account's, end the
        sessions (all of them, or all but `keep_session_id`), use up the reset
        link; a reset also lifts a sign-in lock. Once per process. The school
        services signed into through the ended sessions are told (back-channel
        logout, DESIGN §10)."""
        applied = await self._apply_new_password(request)
        await end_services_of_revoked_sessions(self._pool, request.account_id)
        return applied

    async def _apply_new_password(self, request: ApplyPasswordChange) -> PasswordApplied:
        async with self._pool.acquire() as conn, conn.transaction():
            identifier = await conn.fetchval(
                "SELECT identifier FROM accounts WHERE id = $1 FOR UPDATE", request.account_id
            )
            done = await conn.fetchval(
                "SELECT sessions_ended FROM password_changes WHERE process_id = $1",
                request.process_id,
            )
            if done is not None:  # applied by an earlier attempt
                return PasswordApplied(identifier=identifier, sessions_ended=done)
            password_hash = await conn.fetchval(
                "DELETE FROM pending_passwords WHERE account_id = $1 AND process_id = $2 RETURNING password_hash",
                request.account_id,
                request.process_id,
            )
            if password_hash is None:
                raise ApplicationError(
                    "no pending password for this process",
                    type="pending_password_missing",
                    non_retryable=True,
                )
            if request.link_id is not None:
                await conn.execute(
                    "UPDATE email_links SET used_at = coalesce(used_at, now()) WHERE id = $1 AND process_id = $2",
                    request.link_id,
                    request.process_id,
                )
            await conn.execute(
                "UPDATE accounts SET password_hash = $2, updated_at = now() WHERE id = $1",
                request.account_id,
                password_hash,
            )
            if request.kind == PasswordNoticeKind.RESET:
                await unlock(conn, request.account_id)
            ended = await conn.fetch(
                "UPDATE sessions SET revoked_at = now() WHERE account_id = $1 AND revoked_at IS NULL "
                "AND ($2::uuid IS NULL OR id <> $2) RETURNING id",
                request.account_id,
                request.keep_session_id,
            )
            await conn.execute(
                "INSERT INTO password_changes (process_id, account_id, kind, sessions_ended) VALUES ($1, $2, $3, $4)",
                request.process_id,
                request.account_id,
                "reset" if request.kind == PasswordNoticeKind.RESET else "change",
                len(ended),
            )
        return PasswordApplied(identifier=identifier, sessions_ended=len(ended))

    @activity.defn
    async def send_password_notice(self, notice: PasswordNotice) -> bool:
        """Tell the person the password changed: to the validated address, or
        else by SMS to the verified number (nothing when neither exists)."""
        account = await self._pool.fetchrow(
            "SELECT identifier, email, email_verified_at IS NOT NULL AS email_ok, "
            "mobile, mobile_verified_at IS NOT NULL AS mobile_ok FROM accounts WHERE id = $1",
            notice.account_id,
        )
        key = idempotency_key(notice.step)
        if account["email"] and account["email_ok"]:
            email = texts.password_changed(
                to=account["email"], identifier=account["identifier"], kind=notice.kind.value
            )
            return await send_email_once(
                self._pool,
                key,
                email,
                f"password_{notice.kind.value}",
                account_id=notice.account_id,
            )
        if account["mobile"] and account["mobile_ok"]:
            return await send_sms_once(
                self._pool,
                key,
                notice.process_id,
                account["mobile"],
                f"password_{notice.kind.value}",
                texts.sms_password_changed(notice.kind.value),
            )
        log.info(
            "account %s has no validated address nor verified number: no password notice",
            notice.account_id,
        )
        return False

    # --- lost password --------------------------------------------------------------

    @activity.defn
    async def find_reset_target(self, request: FindResetTarget) -> ResetTarget:
        """The account with this identifier and this validated address (email
        way) or verified number (SMS way); empty when none matches."""
        if request.channel == RecoveryChannel.EMAIL:
            row = await self._pool.fetchrow(
                "SELECT id, email FROM accounts WHERE identifier = $1 AND lower(email) = lower($2) "
                "AND email_verified_at IS NOT NULL AND password_hash IS NOT NULL AND state = ANY($3::text[])",
                request.identifier,
                request.contact,
                list(RECOVERABLE_STATES),
            )
            return ResetTarget(account_id=row["id"], email=row["email"]) if row else ResetTarget()
        row = await self._pool.fetchrow(
            "SELECT id, mobile FROM accounts WHERE identifier = $1 AND mobile = $2 "
            "AND mobile_verified_at IS NOT NULL AND password_hash IS NOT NULL AND state = ANY($3::text[])",
            request.identifier,
            request.contact,
            list(RECOVERABLE_STATES),
        )
        return ResetTarget(account_id=row["id"], mobile=row["mobile"]) if row else ResetTarget()

    @activity.defn
    async def send_reset_link(self, request: ResetLinkRequest) -> LinkSent:
        """The single-use link to choose a new password (valid 1 hour)."""
        return await issue_and_send_link(
            self._pool,
            LinkRequest(
                account_id=request.account_id,
                process_id=request.process_id,
                email=request.email,
                step=request.step,
                kind=LinkRequestKind.RESET,
                expires_at=request.expires_at,
            ),
            lambda to, identifier, url: texts.password_reset_link(
                to=to, identifier=identifier, url=url, expires_at=request.expires_at
            ),
            purpose=PASSWORD_RESET_PURPOSE,
            path=PASSWORD_RESET_PATH,
        )

    @activity.defn
    async def close_password_reset(self, request: CloseReset) -> None:
        """The reset ended without a new password: its links die, a typed
        password waiting for it is forgotten."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE email_links SET expires_at = least(expires_at, now()) "
                "WHERE process_id = $1 AND used_at IS NULL AND revoked_at IS NULL",
                request.process_id,
            )
            if request.account_id is not None:
                await conn.execute(
                    "DELETE FROM pending_passwords WHERE account_id = $1 AND process_id = $2",
                    request.account_id,
                    request.process_id,
                )

    # --- lost identifier -------------------------------------------------------------

    @activity.defn
    async def send_identifier_reminder(self, request: IdentifierReminder) -> int:
        """Send the identifier(s) of the accounts with this validated address
        (or verified number) there; return how many matched (0: nothing sent)."""
        if request.channel == RecoveryChannel.EMAIL:
            rows = await self._pool.fetch(
                "SELECT id, identifier, email FROM accounts WHERE lower(email) = lower($1) "
                "AND email_verified_at IS NOT NULL AND state = ANY($2::text[]) ORDER BY identifier",
                request.contact,
                list(RECOVERABLE_STATES),
            )
        else:
            rows = await self._pool.fetch(
                "SELECT id, identifier FROM accounts WHERE mobile = $1 "
                "AND mobile_verified_at IS NOT NULL AND state = ANY($2::text[]) ORDER BY identifier",
                request.contact,
                list(RECOVERABLE_STATES),
            )
        if not rows:
            return 0
        identifiers = [r["identifier"] for r in rows]
        key = idempotency_key("identifier-reminder")
        if request.channel == RecoveryChannel.EMAIL:
            email = texts.identifier_reminder(to=rows[0]["email"], identifiers=identifiers)
            await send_email_once(
                self._pool, key, email, "identifier_reminder", account_id=rows[0]["id"]
            )
        else:
            await send_sms_once(
                self._pool,
                key,
                request.process_id,
                request.contact,
                "identifier_reminder",
                texts.sms_identifier_reminder(identifiers),
            )
        return len(rows)
