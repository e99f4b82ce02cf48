"""What a school service learns about the person who signs in (DESIGN §10),
read from the school records at each sign-in (always current), and no more
than the service may have.

| scope        | claims                                                                    |
|--------------|---------------------------------------------------------------------------|
| openid       | sub: pairwise, one per service (two services cannot link a person)        |
| profile      | given_name, family_name                                                   |
| affiliations | affiliations: eleve1d, eleve2d, resp1d, resp2d (EduConnect's profiles)    |
| schooling    | a pupil: school_uai, class_name; a guardian: children (each child's       |
|              | pupil_id, names, school_uai, school_name, class_name)                     |

A claim is given when a granted scope gives it AND the service's registration
allows it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from typing import Any

import asyncpg

from educonnect import accounts
from educonnect.settings import get_settings

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "openid": ("sub",),
    "profile": ("given_name", "family_name"),
    "affiliations": ("affiliations",),
    "schooling": ("school_uai", "class_name", "children"),
}
SCOPES = tuple(SCOPE_CLAIMS)
CLAIMS = tuple(dict.fromkeys(c for claims in SCOPE_CLAIMS.values() for c in claims))


def pairwise_subject(sector: str, account_id: uuid.UUID) -> str:
    """The person's identifier for one service's sector: stable for it,
    unrelated to the one any other sector gets."""
    key = get_settings().secret_key.encode()
    digest = hmac.new(key, f"pairwise|{sector}|{account_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def released_claims(scope: str, allowed: tuple[str, ...] | list[str]) -> list[str]:
    """The claim names a service receives for `scope` (space-separated)."""
    granted = {c for s in scope.split() for c in SCOPE_CLAIMS.get(s, ())}
    return [c for c in CLAIMS if c in granted and (c == "sub" or c in allowed)]


async def claims_for(
    conn: asyncpg.Connection | asyncpg.Pool,
    account_id: uuid.UUID,
    sector: str,
    scope: str,
    allowed: tuple[str, ...] | list[str],
) -> dict[str, Any]:
    """The claims of `released_claims`, from the records as they are now."""
    names = released_claims(scope, allowed)
    holder = await accounts.holder(conn, account_id)
    if holder is None:
        return {"sub": pairwise_subject(sector, account_id)}
    children = await accounts.children(conn, account_id)
    pupil = holder["kind"] == "pupil"
    values: dict[str, Any] = {
        "sub": pairwise_subject(sector, account_id),
        "given_name": holder["first_name"],
        "family_name": holder["last_name"],
        "affiliations": sorted({f"{'eleve' if pupil else 'resp'}{c['degree']}d" for c in children}),
    }
    if pupil and children:
        values["school_uai"] = children[0]["uai"]
        values["class_name"] = children[0]["class_name"]
    if not pupil:
        values["children"] = [
            {
                "pupil_id": str(c["id"]),
                "given_name": c["first_name"],
                "family_name": c["last_name"],
                "school_uai": c["uai"],
                "school_name": c["school_name"],
                "class_name": c["class_name"],
            }
            for c in children
        ]
    return {name: values[name] for name in names if name in values}
