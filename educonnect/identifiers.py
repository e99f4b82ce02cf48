"""Account identifiers (DESIGN §2): first-name initial + "." + last name,
lower-case and unaccented, followed by digits when needed for uniqueness
(e.g. `m.dupont`, `m.dupont12`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncpg

# Letters that NFKD does not decompose into an ASCII base letter.
_SPECIAL_LETTERS = str.maketrans(
    {
        "œ": "oe",
        "æ": "ae",
        "ß": "ss",
        "ø": "o",
        "đ": "d",
        "ł": "l",
        "ı": "i",
    }
)
_NOT_A_TO_Z = re.compile(r"[^a-z]+")


def fold_text(text: str) -> str:
    """Lower-case and unaccent `text`, keeping every other character as is.

    "Élodie Le Gall-Bréhat" -> "elodie le gall-brehat"; "Œuvre" -> "oeuvre".
    """
    lowered = text.lower().translate(_SPECIAL_LETTERS)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalize_name(name: str) -> str:
    """Lower-case, unaccented, only a-z (spaces, hyphens, apostrophes dropped)."""
    return _NOT_A_TO_Z.sub("", fold_text(name))


def base_identifier(first_name: str, last_name: str) -> str:
    """First-name initial + "." + normalized last name.

    ("Marie", "Dupont") -> "m.dupont"; ("Élodie", "Le Gall-Bréhat") -> "e.legallbrehat".
    """
    first = normalize_name(first_name)
    last = normalize_name(last_name)
    if not first:
        raise ValueError(f"first name {first_name!r} has no letter usable in an identifier")
    if not last:
        raise ValueError(f"last name {last_name!r} has no letter usable in an identifier")
    return f"{first[0]}.{last}"


def identifier_with_suffix(base: str, n: int) -> str:
    """`base` for n == 0, else `base` followed by n ("m.dupont", "m.dupont1", ...)."""
    if n < 0:
        raise ValueError(f"suffix must be >= 0, got {n}")
    return base if n == 0 else f"{base}{n}"


async def allocate_identifier(conn: asyncpg.Connection, first_name: str, last_name: str) -> str:
    """Return the first free identifier among base, base1, base2, ...

    Reads `accounts.identifier` with one query and picks the smallest unused
    suffix (a gap left by a deleted account is reused). This is only a
    proposal: two transactions may pick the same identifier at the same time,
    so callers insert it under the UNIQUE constraint of `accounts.identifier`
    and, on `asyncpg.UniqueViolationError`, call this function again and retry.
    """
    base = base_identifier(first_name, last_name)
    pattern = "^" + re.escape(base) + "[0-9]*$"
    rows = await conn.fetch(
        "SELECT identifier FROM accounts WHERE identifier LIKE $1 AND identifier ~ $2",
        base + "%",
        pattern,
    )
    taken: set[int] = set()
    for row in rows:
        suffix = row["identifier"][len(base) :]
        if suffix == "":
            taken.add(0)
        elif suffix[0] != "0":  # "m.dupont01" is never generated: it does not block n=1
            taken.add(int(suffix))
    n = 0
    while n in taken:
        n += 1
    return identifier_with_suffix(base, n)
