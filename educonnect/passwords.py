"""Password policy and Argon2id hashing (DESIGN §4).

Policy: 8 to 14 characters, only unaccented letters and digits, at least one
digit and one letter; the identifier, the names of the family and the
birthdates are refused inside the password.
"""

from __future__ import annotations

import asyncio
import datetime
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import argon2

from educonnect.identifiers import fold_text, normalize_name
from educonnect.policies import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from educonnect.settings import get_settings

# --------------------------------------------------------------------------
# Policy


@dataclass(frozen=True)
class PolicyViolation:
    code: str  # stable snake_case id
    message: str  # French, shown to the person


MESSAGES: dict[str, str] = {
    "password_length": (
        f"Le mot de passe doit contenir entre {PASSWORD_MIN_LENGTH} "
        f"et {PASSWORD_MAX_LENGTH} caractères."
    ),
    "password_characters": (
        "Le mot de passe ne doit contenir que des lettres non accentuées et des chiffres."
    ),
    "password_digit": "Le mot de passe doit contenir au moins un chiffre.",
    "password_letter": "Le mot de passe doit contenir au moins une lettre.",
    "password_identifier": "Le mot de passe ne doit pas contenir votre identifiant.",
    "password_name": (
        "Le mot de passe ne doit contenir aucun nom ni prénom "
        "(le vôtre ou celui d'un de vos enfants)."
    ),
    "password_birthdate": "Le mot de passe ne doit pas contenir de date de naissance.",
}
# A pupil's password is checked against the pupil's own names only.
PUPIL_NAME_MESSAGE = "Le mot de passe ne doit contenir ni votre nom ni votre prénom."

_ALLOWED = re.compile(r"[A-Za-z0-9]*")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_NAME_SEPARATORS = re.compile(r"[^a-z]+")
_MIN_NAME_LETTERS = 3
_DIGITS = frozenset("0123456789")


def _violation(code: str) -> PolicyViolation:
    return PolicyViolation(code, MESSAGES[code])


def _name_fragments(names: Iterable[str]) -> set[str]:
    """Each name whole (separators removed) and each of its parts, normalized,
    keeping those of at least 3 letters."""
    fragments: set[str] = set()
    for name in names:
        if not name:
            continue
        candidates = [normalize_name(name)]
        candidates += _NAME_SEPARATORS.split(fold_text(name))
        fragments.update(c for c in candidates if len(c) >= _MIN_NAME_LETTERS)
    return fragments


def _birthdate_forms(birthdate: datetime.date) -> set[str]:
    d, m = birthdate.day, birthdate.month
    yyyy = f"{birthdate.year:04d}"
    yy = yyyy[-2:]
    dd, mm = f"{d:02d}", f"{m:02d}"
    return {
        dd + mm + yyyy,  # DDMMYYYY
        dd + mm + yy,  # DDMMYY
        yyyy + mm + dd,  # YYYYMMDD
        yy + mm + dd,  # YYMMDD
        mm + dd + yyyy,  # MMDDYYYY
        f"{d}{m}{yyyy}",  # DMYYYY (unpadded day and month)
    }


def check_password_policy(
    password: str,
    *,
    identifier: str | None = None,
    names: Iterable[str] = (),
    birthdates: Iterable[datetime.date] = (),
    pupil: bool = False,
) -> list[PolicyViolation]:
    """Return every rule the password violates (an empty list means accepted).
    `pupil`: the password of a pupil's account (the names message speaks of the
    pupil's own names, not of children).

    Identifier, names and birthdates are looked for case- and
    accent-insensitively, ignoring any character other than letters and
    digits in the password.
    """
    violations: list[PolicyViolation] = []
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        violations.append(_violation("password_length"))
    if not _ALLOWED.fullmatch(password):
        violations.append(_violation("password_characters"))
    if not any(c in _DIGITS for c in password):
        violations.append(_violation("password_digit"))
    if not any(c.isalpha() for c in password):
        violations.append(_violation("password_letter"))

    folded = fold_text(password)
    compact = _NOT_ALNUM.sub("", folded)

    if identifier:
        ident = fold_text(identifier.strip())
        ident_compact = _NOT_ALNUM.sub("", ident)
        if (ident and ident in folded) or (ident_compact and ident_compact in compact):
            violations.append(_violation("password_identifier"))

    if any(fragment in compact for fragment in _name_fragments(names)):
        violations.append(
            PolicyViolation("password_name", PUPIL_NAME_MESSAGE)
            if pupil
            else _violation("password_name")
        )

    if any(form in compact for b in birthdates for form in _birthdate_forms(b)):
        violations.append(_violation("password_birthdate"))

    return violations


# --------------------------------------------------------------------------
# Provisional passwords

# Without the ambiguous 0/O/o/1/l/I.
_PROVISIONAL_DIGITS = "23456789"
_PROVISIONAL_LETTERS = "".join(
    c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in "OolI"
)
_PROVISIONAL_LENGTH = 10


def generate_provisional_password() -> str:
    """10 random letters and digits (at least 2 of each), without ambiguous
    characters; always satisfies the policy."""
    rng = secrets.SystemRandom()
    alphabet = _PROVISIONAL_LETTERS + _PROVISIONAL_DIGITS
    chars = [secrets.choice(_PROVISIONAL_DIGITS) for _ in range(2)]
    chars += [secrets.choice(_PROVISIONAL_LETTERS) for _ in range(2)]
    chars += [secrets.choice(alphabet) for _ in range(_PROVISIONAL_LENGTH - 4)]
    rng.shuffle(chars)
    return "".join(chars)


# --------------------------------------------------------------------------
# Hashing (Argon2id)


@lru_cache(maxsize=1)
def _hasher() -> argon2.PasswordHasher:
    s = get_settings()
    return argon2.PasswordHasher(
        time_cost=s.argon2_time_cost,
        memory_cost=s.argon2_memory_kib,
        parallelism=s.argon2_parallelism,
        type=argon2.Type.ID,
    )


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash of a random password, verified when the account is unknown so
    that the answer takes the same time."""
    return _hasher().hash(secrets.token_urlsafe(16))


def reset_hasher_cache() -> None:
    """Forget the hasher and the dummy hash (after a settings change)."""
    _hasher.cache_clear()
    _dummy_hash.cache_clear()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches `password_hash`; False for a missing or
    invalid hash or a mismatch. Never raises. A missing hash still costs one
    Argon2 verification (against a dummy hash)."""
    try:
        if password_hash is None:
            _hasher().verify(_dummy_hash(), password)
            return False
        return _hasher().verify(password_hash, password)
    except Exception:  # mismatch, invalid hash, anything else: refuse
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the current
    settings (or cannot be parsed)."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except Exception:
        return True


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, password_hash, password)


# --------------------------------------------------------------------------
# Staff passwords (DESIGN §2, §4): stronger than the families' policy.

STAFF_MESSAGES: dict[str, str] = {
    "staff_password_length": "Le mot de passe doit contenir au moins 12 caractères (128 au plus).",
    "staff_password_lower": "Le mot de passe doit contenir au moins une lettre minuscule.",
    "staff_password_upper": "Le mot de passe doit contenir au moins une lettre majuscule.",
    "staff_password_digit": "Le mot de passe doit contenir au moins un chiffre.",
    "staff_password_symbol": "Le mot de passe doit contenir au moins un caractère spécial (par exemple ! ? # @ % -).",
    "staff_password_whitespace": "Le mot de passe ne doit pas commencer ni finir par un espace.",
    "staff_password_login": "Le mot de passe ne doit pas contenir votre identifiant.",
    "staff_password_name": "Le mot de passe ne doit pas contenir votre nom ni votre prénom.",
}


def check_staff_password_policy(
    password: str, *, login: str | None = None, names: Iterable[str] = ()
) -> list[PolicyViolation]:
    """Return every rule a staff password violates (empty list: accepted).

    At least 12 characters (at most 128) with a lower-case letter, an
    upper-case letter, a digit and a symbol; neither the login (its part
    before "@" for an email) nor the person's names inside."""
    from educonnect.policies import STAFF_PASSWORD_MAX_LENGTH, STAFF_PASSWORD_MIN_LENGTH

    def violation(code: str) -> PolicyViolation:
        return PolicyViolation(code, STAFF_MESSAGES[code])

    violations: list[PolicyViolation] = []
    if not STAFF_PASSWORD_MIN_LENGTH <= len(password) <= STAFF_PASSWORD_MAX_LENGTH:
        violations.append(violation("staff_password_length"))
    if not any(c.islower() for c in password):
        violations.append(violation("staff_password_lower"))
    if not any(c.isupper() for c in password):
        violations.append(violation("staff_password_upper"))
    if not any(c in _DIGITS for c in password):
        violations.append(violation("staff_password_digit"))
    if not any(not c.isalnum() and not c.isspace() for c in password):
        violations.append(violation("staff_password_symbol"))
    if password != password.strip():
        violations.append(violation("staff_password_whitespace"))

    compact = _NOT_ALNUM.sub("", fold_text(password))
    if login:
        local = fold_text(login.strip()).split("@", 1)[0]
        local_compact = _NOT_ALNUM.sub("", local)
        if len(local_compact) >= _MIN_NAME_LETTERS and local_compact in compact:
            violations.append(violation("staff_password_login"))
    if any(fragment in compact for fragment in _name_fragments(names)):
        violations.append(violation("staff_password_name"))
    return violations
