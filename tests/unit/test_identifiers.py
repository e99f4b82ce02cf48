"""Account identifiers (DESIGN §2)."""

from __future__ import annotations

import secrets
import string
import uuid

import pytest

from educonnect.identifiers import (
    allocate_identifier,
    base_identifier,
    identifier_with_suffix,
    normalize_name,
)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Dupont", "dupont"),
        ("Élodie", "elodie"),
        ("Hélène", "helene"),
        ("François", "francois"),
        ("Noël", "noel"),
        ("Jean-Pierre", "jeanpierre"),
        ("De La Tour", "delatour"),
        ("N'Diaye", "ndiaye"),
        ("d’Arc", "darc"),  # typographic apostrophe
        ("Lœuvre", "loeuvre"),
        ("ŒUF", "oeuf"),
        ("Lætitia", "laetitia"),
        ("Strauß", "strauss"),
        ("  Le Gall-Bréhat ", "legallbrehat"),
        ("MÜLLER", "muller"),
        ("Zoé2", "zoe"),
        ("-- '", ""),
    ],
)
def test_normalize_name(name, expected):
    assert normalize_name(name) == expected


@pytest.mark.parametrize(
    "first, last, expected",
    [
        ("Marie", "Dupont", "m.dupont"),
        ("Élodie", "Le Gall-Bréhat", "e.legallbrehat"),
        ("Œdipe", "Roi", "o.roi"),
        ("jean-pierre", "N'Diaye", "j.ndiaye"),
        (" Ève", "D’Estaing", "e.destaing"),
    ],
)
def test_base_identifier(first, last, expected):
    assert base_identifier(first, last) == expected


@pytest.mark.parametrize(
    "first, last", [("", "Dupont"), ("Marie", ""), ("--", "Dupont"), ("Marie", "'")]
)
def test_base_identifier_needs_letters(first, last):
    with pytest.raises(ValueError):
        base_identifier(first, last)


def test_identifier_with_suffix():
    assert identifier_with_suffix("m.dupont", 0) == "m.dupont"
    assert identifier_with_suffix("m.dupont", 1) == "m.dupont1"
    assert identifier_with_suffix("m.dupont", 12) == "m.dupont12"
    with pytest.raises(ValueError):
        identifier_with_suffix("m.dupont", -1)


# -- allocation in the database ----------------------------------------------


def _unique_last_name() -> str:
    # Letters only, so that the name survives normalization unchanged.
    return "Zz" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(12))


async def _insert_guardian_account(conn, identifier: str) -> uuid.UUID:
    guardian_id = uuid.uuid4()
    account_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO guardians (id, last_name, first_name) VALUES ($1, $2, $3)",
        guardian_id,
        "Test",
        "Test",
    )
    await conn.execute(
        "INSERT INTO accounts (id, kind, identifier, guardian_id) VALUES ($1, 'guardian', $2, $3)",
        account_id,
        identifier,
        guardian_id,
    )
    return account_id


@pytest.mark.asyncio(loop_scope="session")
async def test_allocate_identifier(db_pool):
    last = _unique_last_name()
    base = "m." + last.lower()
    async with db_pool.acquire() as conn:
        # Look-alikes that must not count: the dot is not a regex wildcard,
        # other bases sharing the prefix, non-canonical suffixes.
        await _insert_guardian_account(conn, "mx" + last.lower())
        await _insert_guardian_account(conn, base + "a")
        await _insert_guardian_account(conn, base + "01")
        await _insert_guardian_account(conn, "x" + base)

        assert await allocate_identifier(conn, "Marie", last) == base

        await _insert_guardian_account(conn, base)
        assert await allocate_identifier(conn, "Marie", last) == base + "1"
        # Same base from another spelling of the same names.
        assert await allocate_identifier(conn, "  mAthis", last.upper()) == base + "1"

        first_taken = await _insert_guardian_account(conn, base + "1")
        assert await allocate_identifier(conn, "Marie", last) == base + "2"

        await _insert_guardian_account(conn, base + "2")
        await _insert_guardian_account(conn, base + "3")
        assert await allocate_identifier(conn, "Marie", last) == base + "4"

        # A gap left by a removed account is reused.
        await conn.execute("DELETE FROM accounts WHERE id = $1", first_taken)
        assert await allocate_identifier(conn, "Marie", last) == base + "1"

        # Suffixes are numbers, not strings: base10 does not hide base1.
        await _insert_guardian_account(conn, base + "10")
        assert await allocate_identifier(conn, "Marie", last) == base + "1"
