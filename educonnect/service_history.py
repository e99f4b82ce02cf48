"""Which school services received which data (DESIGN §10), as « Mon compte »
tells the family: read from the audit of the service sign-ins
(`service_provider.SERVICE_SIGN_IN`), one line per service, its latest
sign-in and every kind of data it received."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from educonnect import audit
from educonnect.service_claims import CLAIMS

SERVICE_SIGN_IN = "service_sign_in"  # the audit action (educonnect.service_provider)

# The data a service received, as a family reads it.
CLAIM_WORDS: dict[str, str] = {
    "sub": "un identifiant propre à ce service",
    "given_name": "votre prénom",
    "family_name": "votre nom",
    "affiliations": "votre profil (responsable ou élève, premier ou second degré)",
    "school_uai": "votre établissement",
    "class_name": "votre classe",
    "children": "pour chaque enfant : nom, prénom, établissement, classe et identifiant d'élève",
}
assert set(CLAIM_WORDS) == set(CLAIMS)


@dataclass(frozen=True)
class ServiceUse:
    client_id: str
    name: str
    last_at: datetime
    data: list[str]  # CLAIM_WORDS, in the claims' order


async def services_used(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: uuid.UUID
) -> list[ServiceUse]:
    entries = [
        e
        for e in await audit.entries_for(conn, [("account", str(account_id))])
        if e.action == SERVICE_SIGN_IN
    ]
    latest: dict[str, tuple[str, datetime, set[str]]] = {}
    for e in entries:  # oldest first
        client_id = str(e.details.get("client_id", ""))
        _, _, claims = latest.get(client_id, ("", e.at, set()))
        latest[client_id] = (
            str(e.details.get("service", client_id)),
            e.at,
            claims | set(e.details.get("claims", [])),
        )
    return sorted(
        (
            ServiceUse(client_id, name, at, [CLAIM_WORDS[c] for c in CLAIMS if c in claims])
            for client_id, (name, at, claims) in latest.items()
        ),
        key=lambda use: use.last_at,
        reverse=True,
    )
