"""Staff accounts (DESIGN §2): school administrators scoped to one school (UAI)
and académie support scoped to one académie.

Staff sign in separately from families (table `staff_sessions`, own cookie),
with strong passwords (`passwords.check_staff_password_policy`); repeated
failures slow down the address they come from (`staff_sign_in_limits`), never
lock the account. Scope checks live here.

`python -m educonnect.staff create --login ... --role ...` creates an account
(the password is typed, never passed on the command line).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from educonnect import audit, policies, sign_in_limits, staff_sign_in_limits
from educonnect.errors import DomainError, ErrorCode
from educonnect.models.corrections import ROLE_LABELS, StaffRef, StaffRole
from educonnect.passwords import (
    PolicyViolation,
    check_staff_password_policy,
    hash_password_async,
    needs_rehash,
    verify_password_async,
)
from educonnect.tokens import new_link_token, token_hash


@dataclass(frozen=True)
class StaffMember:
    id: uuid.UUID
    login: str
    email: str
    display_name: str
    role: StaffRole
    uai: str | None
    academie: str

    @property
    def label(self) -> str:
        scope = self.uai if self.role == StaffRole.SCHOOL_ADMIN else f"académie de {self.academie}"
        return f"{self.display_name} ({ROLE_LABELS[self.role]}, {scope})"

    @property
    def actor(self) -> audit.Actor:
        return audit.Actor("staff", self.id, self.label)

    def ref(self) -> StaffRef:
        return StaffRef(
            staff_id=self.id, role=self.role, uai=self.uai, academie=self.academie, label=self.label
        )

    def covers(self, uai: str | None, academie: str) -> bool:
        """True when something about a pupil (or ticket) of `uai` in `academie` is in scope."""
        if self.role == StaffRole.SCHOOL_ADMIN:
            return uai is not None and self.uai == uai
        return self.academie == academie

    def scope_sql(self, uai_column: str, academie_column: str) -> tuple[str, str]:
        """A SQL condition limiting rows to this scope, and its one parameter."""
        if self.role == StaffRole.SCHOOL_ADMIN:
            return f"{uai_column} = $1", self.uai or ""
        return f"{academie_column} = $1", self.academie


_COLUMNS = "id, login, email, display_name, role, uai, academie"


def _member(row: asyncpg.Record) -> StaffMember:
    return StaffMember(
        row["id"],
        row["login"],
        row["email"],
        row["display_name"],
        StaffRole(row["role"]),
        row["uai"],
        row["academie"],
    )


def normalize_login(login: str) -> str:
    return login.strip().lower()


class StaffPasswordRejected(ValueError):
    def __init__(self, violations: list[PolicyViolation]):
        self.violations = violations
        super().__init__("; ".join(v.message for v in violations))


async def create_staff_account(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    login: str,
    email: str,
    display_name: str,
    role: StaffRole,
    password: str,
    uai: str | None = None,
    academie: str | None = None,
    staff_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Create a staff account (idempotent on the login: an existing one is kept).

    A school administrator's académie is the school's. Raises
    `StaffPasswordRejected` for a weak password, `ValueError` for a bad scope."""
    login = normalize_login(login)
    violations = check_staff_password_policy(password, login=login, names=display_name.split())
    if violations:
        raise StaffPasswordRejected(violations)
    if role == StaffRole.SCHOOL_ADMIN:
        if not uai:
            raise ValueError("a school administrator needs a UAI")
        academie = await conn.fetchval("SELECT academie FROM schools WHERE uai = $1", uai)
        if academie is None:
            raise ValueError(f"unknown school {uai}")
    else:
        uai = None
        if not academie:
            raise ValueError("académie support needs an académie")
    new_id = staff_id or uuid.uuid4()
    existing = await conn.fetchval(
        """
        INSERT INTO staff_accounts (id, login, email, display_name, role, uai, academie, password_hash)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (login) DO NOTHING RETURNING id
        """,
        new_id,
        login,
        email.strip(),
        display_name,
        role.value,
        uai,
        academie,
        await hash_password_async(password),
    )
    if existing is None:
        return await conn.fetchval("SELECT id FROM staff_accounts WHERE login = $1", login)
    return existing


async def get_staff(
    conn: asyncpg.Connection | asyncpg.Pool, staff_id: uuid.UUID
) -> StaffMember | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM staff_accounts WHERE id = $1 AND active", staff_id
    )
    return _member(row) if row else None


async def authenticate(pool: asyncpg.Pool, login: str, password: str, ip: str) -> StaffMember:
    """Check a staff login and password from the client address `ip`; every
    refusal is audited.

    Two limits, as for families (DESIGN §4): the per-address limit of every
    sign-in (`sign_in_limits.reserve_ip`) and progressive delays per login and
    address (`staff_sign_in_limits`), never a lock-out. Each try takes its
    place in both before its password is checked, and gives it back when the
    password proves right. A login without an account (or a disabled one) is
    counted, delayed and answered exactly like a real one, with the same
    Argon2id verification: the answers tell nobody which logins exist."""
    login = normalize_login(login)
    anonymous = audit.Actor("staff", None, login[:100])
    try:
        reservation = await sign_in_limits.reserve_ip(pool, ip)
    except sign_in_limits.SignInRefused as refusal:  # nothing about the login looked at
        await audit.record(
            pool, anonymous, "staff.sign_in", "staff_account", login[:100],
            outcome=audit.REFUSED, details={"code": refusal.code.value, "ip": ip},
        )  # fmt: skip
        raise
    row = await pool.fetchrow(
        f"SELECT {_COLUMNS}, password_hash FROM staff_accounts WHERE login = $1 AND active", login
    )
    member = _member(row) if row else None

    async def refused(code: ErrorCode, **details) -> None:
        await audit.record(
            pool, member.actor if member else anonymous, "staff.sign_in", "staff_account",
            member.id if member else login[:100], outcome=audit.REFUSED, details={"code": code.value, "ip": ip, **details},
        )  # fmt: skip

    try:
        await staff_sign_in_limits.admit(pool, login, ip)
    except sign_in_limits.SignInRefused as refusal:
        await sign_in_limits.release_ip(
            pool, reservation
        )  # refused unchecked: no failure of this address
        await refused(refusal.code)
        raise
    if member is None or not await verify_password_async(row["password_hash"], password):
        if member is None:
            await verify_password_async(None, password)  # the same cost as a real login
        await staff_sign_in_limits.record_failure(
            pool, login, ip
        )  # the address keeps its failure too
        await refused(ErrorCode.STAFF_INVALID_CREDENTIALS, checked=True)
        raise DomainError(ErrorCode.STAFF_INVALID_CREDENTIALS)
    await sign_in_limits.release_ip(pool, reservation)
    await staff_sign_in_limits.record_success(pool, login, ip)
    if needs_rehash(row["password_hash"]):
        await pool.execute(
            "UPDATE staff_accounts SET password_hash = $2 WHERE id = $1",
            member.id,
            await hash_password_async(password),
        )
    await audit.record(pool, member.actor, "staff.sign_in", "staff_account", member.id)
    return member


async def change_password(
    pool: asyncpg.Pool,
    member: StaffMember,
    current: str,
    new: str,
    *,
    keep_session: str | None = None,
) -> None:
    """Change the member's password; every other session of theirs ends (one
    opened with the old password by someone else, too). `keep_session`: the
    token of the session that asked, which stays open."""
    stored = await pool.fetchval(
        "SELECT password_hash FROM staff_accounts WHERE id = $1", member.id
    )
    if not await verify_password_async(stored, current):
        await audit.record(
            pool, member.actor, "staff.change_password", "staff_account", member.id,
            outcome=audit.REFUSED, details={"code": ErrorCode.STAFF_INVALID_CREDENTIALS.value},
        )  # fmt: skip
        raise DomainError(ErrorCode.STAFF_INVALID_CREDENTIALS, [{"field": "current_password"}])
    violations = check_staff_password_policy(
        new, login=member.login, names=member.display_name.split()
    )
    if new == current:
        violations.append(
            PolicyViolation(
                "staff_password_reused", "Le nouveau mot de passe doit être différent de l'actuel."
            )
        )
    if violations:
        raise DomainError(
            ErrorCode.STAFF_PASSWORD_POLICY,
            [{"field": "new_password", "code": v.code, "message": v.message} for v in violations],
        )
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE staff_accounts SET password_hash = $2, updated_at = now() WHERE id = $1",
            member.id,
            await hash_password_async(new),
        )
        ended = await conn.fetchval(
            """
            WITH ended AS (
                UPDATE staff_sessions SET revoked_at = now()
                WHERE staff_id = $1 AND revoked_at IS NULL AND token_hash IS DISTINCT FROM $2 RETURNING 1
            ) SELECT count(*) FROM ended
            """,
            member.id,
            token_hash(keep_session) if keep_session else None,
        )
        await audit.record(
            conn,
            member.actor,
            "staff.change_password",
            "staff_account",
            member.id,
            details={"sessions_ended": ended},
        )


# --- sessions -------------------------------------------------------------------


async def open_session(conn: asyncpg.Connection | asyncpg.Pool, staff_id: uuid.UUID) -> str:
    """Create a staff session; return the cookie's token (only its HMAC is stored)."""
    token = new_link_token()
    await conn.execute(
        "INSERT INTO staff_sessions (id, token_hash, staff_id, expires_at) VALUES ($1, $2, $3, now() + $4)",
        uuid.uuid4(),
        token_hash(token),
        staff_id,
        policies.STAFF_SESSION_TTL,
    )
    return token


async def find_session(conn: asyncpg.Connection | asyncpg.Pool, token: str) -> StaffMember | None:
    row = await conn.fetchrow(
        f"""
        SELECT {", ".join("s." + c.strip() for c in _COLUMNS.split(","))}
        FROM staff_sessions ss JOIN staff_accounts s ON s.id = ss.staff_id
        WHERE ss.token_hash = $1 AND ss.revoked_at IS NULL AND ss.expires_at > now() AND s.active
        """,
        token_hash(token),
    )
    return _member(row) if row else None


async def revoke_session(conn: asyncpg.Connection | asyncpg.Pool, token: str) -> None:
    await conn.execute(
        "UPDATE staff_sessions SET revoked_at = now() WHERE token_hash = $1", token_hash(token)
    )


# --- who to tell ------------------------------------------------------------------


async def school_admins(conn: asyncpg.Connection | asyncpg.Pool, uai: str) -> list[StaffMember]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM staff_accounts WHERE active AND role = 'school_admin' AND uai = $1 ORDER BY login",
        uai,
    )
    return [_member(r) for r in rows]


async def academie_support(
    conn: asyncpg.Connection | asyncpg.Pool, academie: str
) -> list[StaffMember]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM staff_accounts WHERE active AND role = 'academie_support' AND academie = $1 "
        "ORDER BY login",
        academie,
    )
    return [_member(r) for r in rows]


async def staff_of_academie(
    conn: asyncpg.Connection | asyncpg.Pool, academie: str
) -> list[StaffMember]:
    """Every staff account of an académie, active or not (the audit log's filter)."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM staff_accounts WHERE academie = $1 ORDER BY display_name, login",
        academie,
    )
    return [_member(r) for r in rows]


# --- command line -------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - manual use
    import argparse
    import asyncio
    import getpass

    from educonnect import db

    parser = argparse.ArgumentParser(
        prog="python -m educonnect.staff", description="Comptes du personnel"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="créer un compte du personnel")
    create.add_argument("--login", required=True)
    create.add_argument("--email")
    create.add_argument("--name", required=True, help="nom affiché, ex. « Mme Martin »")
    create.add_argument("--role", required=True, choices=[r.value for r in StaffRole])
    create.add_argument("--uai")
    create.add_argument("--academie")
    args = parser.parse_args(argv)

    password = getpass.getpass("Mot de passe : ")
    if getpass.getpass("Confirmation : ") != password:
        print("Les deux mots de passe sont différents.")
        return 1

    async def run() -> uuid.UUID:
        url = db.database_url()
        await db.migrate_url(url)
        conn = await asyncpg.connect(url)
        try:
            return await create_staff_account(
                conn,
                login=args.login,
                email=args.email or args.login,
                display_name=args.name,
                role=StaffRole(args.role),
                password=password,
                uai=args.uai,
                academie=args.academie,
            )
        finally:
            await conn.close()

    try:
        staff_id = asyncio.run(run())
    except StaffPasswordRejected as err:
        for v in err.violations:
            print(v.message)
        return 1
    print(f"Compte créé : {staff_id}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
