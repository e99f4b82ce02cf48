"""School provisioning (DESIGN §3.11): provisioned accounts for the guardians
and pupils of the school records, and the school's notification email
(FAQ 2.2).

Everything here is idempotent: provisioning a guardian who already has an
account returns that account, and a notification is sent at most once per
idempotency key (table `sent_emails`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import asyncpg

from educonnect import letters
from educonnect.emails.delivery import send_email_once
from educonnect.emails.provisioning import account_notification
from educonnect.identifiers import allocate_identifier, fold_text
from educonnect.passwords import generate_provisional_password, hash_password_async
from educonnect.policies import PROVISIONAL_CREDENTIALS_VALIDITY
from educonnect.settings import get_settings

log = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
MAX_IDENTIFIER_TRIES = 5
NOTIFICATION_TEMPLATE = "account_notification"


@dataclass(frozen=True)
class School:
    uai: str
    name: str
    city: str
    degree: int


async def find_school(conn: asyncpg.Connection | asyncpg.Pool, uai: str) -> School | None:
    row = await conn.fetchrow("SELECT uai, name, city, degree FROM schools WHERE uai = $1", uai)
    return None if row is None else School(row["uai"], row["name"], row["city"], row["degree"])


@dataclass
class ProvisionedAccount:
    account_id: uuid.UUID
    identifier: str
    # The clear provisional password, known only when the account was created
    # now (created=True); "" otherwise: only its hash is kept.
    provisional_password: str
    created: bool


async def _existing(
    conn: asyncpg.Connection, column: str, owner_id: uuid.UUID
) -> ProvisionedAccount | None:
    assert column in ("guardian_id", "pupil_id")
    row = await conn.fetchrow(f"SELECT id, identifier FROM accounts WHERE {column} = $1", owner_id)
    if row is None:
        return None
    return ProvisionedAccount(row["id"], row["identifier"], "", False)


async def _provision(
    conn: asyncpg.Connection,
    *,
    kind: str,
    owner_id: uuid.UUID,
    first_name: str,
    last_name: str,
    email: str | None,
    mobile: str | None,
    now: datetime,
    provisional_password: str | None,
) -> ProvisionedAccount:
    column = "guardian_id" if kind == "guardian" else "pupil_id"
    existing = await _existing(conn, column, owner_id)
    if existing is not None:
        return existing

    password = provisional_password or generate_provisional_password()
    # Hash outside any transaction: it is the slow part (DESIGN §7).
    password_hash = await hash_password_async(password)
    expires_at = now + PROVISIONAL_CREDENTIALS_VALIDITY

    for attempt in range(1, MAX_IDENTIFIER_TRIES + 1):
        account_id = uuid.uuid4()
        try:
            # A savepoint when the caller already holds a transaction.
            async with conn.transaction():
                identifier = await allocate_identifier(conn, first_name, last_name)
                await conn.execute(
                    f"""
                    INSERT INTO accounts (id, kind, identifier, {column}, state,
                        provisional_password_hash, provisional_expires_at,
                        email, mobile, created_at, updated_at)
                    VALUES ($1, $2, $3, $4, 'provisioned', $5, $6, $7, $8, $9, $9)
                    """,
                    account_id,
                    kind,
                    identifier,
                    owner_id,
                    password_hash,
                    expires_at,
                    email,
                    mobile,
                    now,
                )
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "accounts_identifier_key":
                log.info(
                    "identifier %s taken concurrently (try %d/%d), retrying",
                    identifier,
                    attempt,
                    MAX_IDENTIFIER_TRIES,
                )
                continue
            # Someone provisioned the same person concurrently: theirs wins.
            existing = await _existing(conn, column, owner_id)
            if existing is not None:
                return existing
            raise
        log.info("provisioned %s account %s (%s)", kind, account_id, identifier)
        return ProvisionedAccount(account_id, identifier, password, True)
    raise RuntimeError(
        f"could not allocate an identifier for {kind} {owner_id} after {MAX_IDENTIFIER_TRIES} tries"
    )


async def provision_guardian_account(
    conn: asyncpg.Connection,
    guardian_id: uuid.UUID,
    *,
    now: datetime,
    provisional_password: str | None = None,
) -> ProvisionedAccount:
    """Create the provisioned account of a guardian, or return the existing one
    (created=False, provisional_password="").

    The identifier comes from the guardian's names; the email and mobile are
    copied from the school records (not verified yet); the provisional
    credentials are valid PROVISIONAL_CREDENTIALS_VALIDITY from `now`.
    """
    guardian = await conn.fetchrow(
        "SELECT first_name, last_name, email, mobile FROM guardians WHERE id = $1", guardian_id
    )
    if guardian is None:
        raise LookupError(f"no guardian {guardian_id}")
    return await _provision(
        conn,
        kind="guardian",
        owner_id=guardian_id,
        first_name=guardian["first_name"],
        last_name=guardian["last_name"],
        email=guardian["email"],
        mobile=guardian["mobile"],
        now=now,
        provisional_password=provisional_password,
    )


async def provision_pupil_account(
    conn: asyncpg.Connection,
    pupil_id: uuid.UUID,
    *,
    now: datetime,
    provisional_password: str | None = None,
) -> ProvisionedAccount:
    """Create the provisioned account of a second-degree pupil, or return the
    existing one (created=False, provisional_password="").

    Raises ValueError for a pupil of a first-degree school (pupil accounts are
    for collège and lycée pupils only).
    """
    pupil = await conn.fetchrow(
        """
        SELECT p.first_name, p.last_name, s.degree
        FROM pupils p JOIN schools s ON s.uai = p.uai
        WHERE p.id = $1
        """,
        pupil_id,
    )
    if pupil is None:
        raise LookupError(f"no pupil {pupil_id}")
    if pupil["degree"] != 2:
        raise ValueError(f"pupil {pupil_id} is in a first-degree school: no pupil account")
    return await _provision(
        conn,
        kind="pupil",
        owner_id=pupil_id,
        first_name=pupil["first_name"],
        last_name=pupil["last_name"],
        email=None,
        mobile=None,
        now=now,
        provisional_password=provisional_password,
    )


def _local_date(ts: datetime) -> date:
    return ts.astimezone(PARIS).date()


async def send_account_notification(
    conn: asyncpg.Connection,
    account_id: uuid.UUID,
    provisional_password: str,
    *,
    idempotency_key: str,
    reissued: bool = False,
) -> bool:
    """Send the school's notification email (FAQ 2.2) of a provisioned account,
    at most once per `idempotency_key`; return True when it was sent now.

    Returns False, sending nothing, when the email under this key was already
    sent, or when the account has no email address: such families receive a
    printable letter instead (`activities.provisioning`, `educonnect.letters`).

    The `sent_emails` row is locked while sending, so two concurrent callers
    with the same key do not both send; if sending fails the row is rolled
    back and a later call sends again.
    """
    account = await conn.fetchrow(
        """
        SELECT id, kind, identifier, guardian_id, pupil_id, email, provisional_expires_at
        FROM accounts WHERE id = $1
        """,
        account_id,
    )
    if account is None:
        raise LookupError(f"no account {account_id}")
    if not account["email"]:
        log.info("account %s has no email: no notification email (letter needed)", account_id)
        return False

    if account["kind"] == "guardian":
        person = await conn.fetchrow(
            "SELECT first_name, last_name FROM guardians WHERE id = $1", account["guardian_id"]
        )
        children_rows = await conn.fetch(
            """
            SELECT p.first_name, p.last_name, s.name AS school_name
            FROM guardian_pupils gp
            JOIN pupils p ON p.id = gp.pupil_id
            JOIN schools s ON s.uai = p.uai
            WHERE gp.guardian_id = $1
            ORDER BY p.birthdate, p.first_name
            """,
            account["guardian_id"],
        )
        children = [(r["first_name"], r["last_name"], r["school_name"]) for r in children_rows]
    else:
        person = await conn.fetchrow(
            "SELECT first_name, last_name FROM pupils WHERE id = $1", account["pupil_id"]
        )
        children = []

    expires_at = account["provisional_expires_at"]
    if expires_at is None:
        raise ValueError(f"account {account_id} has no provisional credentials")
    email = account_notification(
        to=account["email"],
        guardian_first_name=person["first_name"],
        guardian_last_name=person["last_name"],
        identifier=account["identifier"],
        provisional_password=provisional_password,
        children=children,
        valid_until=_local_date(expires_at),
        activation_url=get_settings().public_base_url.rstrip("/") + "/",
        reissued=reissued,
    )

    if not await send_email_once(conn, idempotency_key, email, NOTIFICATION_TEMPLATE, account_id):
        return False
    log.info("sent account notification for account %s (%s)", account_id, idempotency_key)
    return True


async def letter_content(
    conn: asyncpg.Connection,
    account_id: uuid.UUID,
    password: str,
    school: School,
    *,
    reissued: bool = False,
) -> tuple[letters.LetterContent, str, str]:
    """The printable letter of a provisioned account (identifier, provisional
    password, validity, children), handed out by `school`; with the class it
    is sorted under and its sort key (last name, first name). `reissued`: new
    credentials for an existing account."""
    account = await conn.fetchrow(
        "SELECT kind, identifier, guardian_id, pupil_id, provisional_expires_at FROM accounts WHERE id = $1",
        account_id,
    )
    if account is None:
        raise LookupError(f"no account {account_id}")
    if account["kind"] == "pupil":
        person = await conn.fetchrow(
            "SELECT first_name, last_name, class_name FROM pupils WHERE id = $1",
            account["pupil_id"],
        )
        children: tuple = ()
        class_name = person["class_name"]
    else:
        person = await conn.fetchrow(
            "SELECT first_name, last_name FROM guardians WHERE id = $1", account["guardian_id"]
        )
        kids = await conn.fetch(
            """
            SELECT p.first_name, p.last_name, p.class_name, p.uai, s.name AS school_name
            FROM guardian_pupils gp JOIN pupils p ON p.id = gp.pupil_id JOIN schools s ON s.uai = p.uai
            WHERE gp.guardian_id = $1 ORDER BY p.birthdate, p.first_name
            """,
            account["guardian_id"],
        )
        children = tuple((k["first_name"], k["last_name"], k["school_name"]) for k in kids)
        here = [k["class_name"] for k in kids if k["uai"] == school.uai]
        class_name = here[0] if here else ""
    content = letters.LetterContent(
        kind=account["kind"],
        school_name=school.name,
        school_city=school.city,
        first_name=person["first_name"],
        last_name=person["last_name"],
        class_name=class_name,
        identifier=account["identifier"],
        provisional_password=password,
        valid_until=_local_date(account["provisional_expires_at"]),
        portal_url=get_settings().public_base_url.rstrip("/") + "/",
        children=children,
        reissued=reissued,
    )
    sort_key = (
        f"{fold_text(person['last_name'])} {fold_text(person['first_name'])} {account['kind']}"
    )
    return content, class_name, sort_key
