"""Deterministic demo data for one académie (Lyon): schools, pupils, guardians,
guardian–pupil links, provisioned accounts and their notification emails.

`generate(seed, n_pupils)` is pure: the same seed always gives the same
dataset (ids, names, birthdates, demo provisional passwords), so a later start
can print the demo credentials again. Names come from Faker("fr_FR") seeded
with the seed; every other choice comes from one `random.Random(seed)`, never
from the global random nor from `secrets`.

`seed(database_url)` writes the dataset once (skipped when the collège is
already there), provisions the selected accounts and sends their notification
emails, idempotently: calling it again inserts and sends nothing new, but
retries the emails a previous call could not send (SMTP down).

Run `python -m educonnect.devtools.demo_data` to seed DATABASE_URL and print demo
credentials.
"""

from __future__ import annotations

import asyncio
import calendar
import logging
import random
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

import asyncpg
from faker import Faker

from educonnect.identifiers import base_identifier, fold_text
from educonnect.passwords import (
    _PROVISIONAL_DIGITS,
    _PROVISIONAL_LENGTH,
    _PROVISIONAL_LETTERS,
    check_password_policy,
    verify_password_async,
)
from educonnect.provisioning import (
    provision_guardian_account,
    provision_pupil_account,
    send_account_notification,
)
from educonnect.settings import get_settings

log = logging.getLogger(__name__)

ACADEMIE = "Lyon"
SCHOOL_YEAR_START = 2026  # school year 2026-2027

LEVELS_ECOLE = ["CP", "CE1", "CE2", "CM1", "CM2"]
LEVELS_COLLEGE = ["6e", "5e", "4e", "3e"]
LEVELS_LYCEE = ["2nde", "1re", "Tle"]
ALL_LEVELS = LEVELS_ECOLE + LEVELS_COLLEGE + LEVELS_LYCEE
CLASS_SIZE = 28
# Weights of the eldest child's level: fewer families with their eldest in the
# collège keeps the demo's provisioned accounts (collège families) near 100.
_ELDEST_LEVEL_WEIGHTS = (
    [10] * len(LEVELS_ECOLE) + [3] * len(LEVELS_COLLEGE) + [12] * len(LEVELS_LYCEE)
)

# UAI: 3-digit département + 4 digits + a check letter (the 7 digits modulo 23).
_UAI_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
_DEPARTEMENTS = {"Lyon": "069", "Villeurbanne": "069", "Vénissieux": "069", "Bron": "069"}

_ECOLE_NAMES = [
    "Jean Moulin",
    "Jules Ferry",
    "Louis Pasteur",
    "Marie Curie",
    "Victor Hugo",
    "Jacques Prévert",
    "Anatole France",
    "Paul Bert",
    "Condorcet",
    "Lucie Aubrac",
]
_COLLEGE_NAMES = [
    "Jean Jaurès",
    "Gabriel Rosset",
    "Georges Clemenceau",
    "Simone Veil",
    "Henri Longchambon",
]
_LYCEE_NAMES = ["Ampère", "Édouard Herriot", "Lumière", "Jean Perrin", "Saint-Exupéry"]
# Children's first names: among the most given in France in 2009-2020 (Faker's
# fr_FR first names are their parents' and grand-parents').
_GIRL_NAMES = [
    "Emma",
    "Jade",
    "Louise",
    "Alice",
    "Chloé",
    "Lina",
    "Léa",
    "Rose",
    "Anna",
    "Mila",
    "Inès",
    "Ambre",
    "Julia",
    "Mia",
    "Léna",
    "Manon",
    "Juliette",
    "Lou",
    "Zoé",
    "Camille",
    "Sarah",
    "Lola",
    "Agathe",
    "Jeanne",
    "Lucie",
    "Éva",
    "Nina",
    "Romane",
    "Inaya",
    "Clémence",
    "Margaux",
    "Océane",
    "Clara",
    "Maëlys",
    "Laura",
    "Louna",
    "Capucine",
    "Léonie",
    "Salomé",
    "Héloïse",
]
_BOY_NAMES = [
    "Gabriel",
    "Léo",
    "Raphaël",
    "Arthur",
    "Louis",
    "Lucas",
    "Adam",
    "Jules",
    "Hugo",
    "Maël",
    "Liam",
    "Noah",
    "Paul",
    "Ethan",
    "Tiago",
    "Sacha",
    "Gabin",
    "Nathan",
    "Mohamed",
    "Aaron",
    "Tom",
    "Éden",
    "Théo",
    "Noé",
    "Matteo",
    "Timéo",
    "Enzo",
    "Maxime",
    "Nolan",
    "Mathis",
    "Clément",
    "Baptiste",
    "Antoine",
    "Axel",
    "Victor",
    "Samuel",
    "Valentin",
    "Yanis",
    "Evan",
    "Amir",
]
_CITIES = ["Lyon", "Villeurbanne", "Vénissieux", "Bron"]

# French mobile prefixes that the numbering plan (and `phonenumbers`) accept
# as mobile numbers: 06 except 063x/069x ranges only partly allocated, 073-078.
_MOBILE_PREFIXES_06 = ["60", "61", "62", "64", "65", "66", "67", "68"]
_MOBILE_PREFIXES_07 = ["73", "74", "75", "76", "77", "78"]

N_DEMO_PUPIL_ACCOUNTS = 10
NO_EMAIL_RATE = 0.15
NO_MOBILE_RATE = 0.05
SEED_LOCK_ID = 0x44454D4F  # "DEMO": one seeding at a time
PROVISION_CONCURRENCY = 4


# --------------------------------------------------------------------------
# Dataset


@dataclass(frozen=True)
class School:
    uai: str
    name: str
    kind: str  # 'ecole' | 'college' | 'lycee'
    degree: int
    academie: str
    city: str


@dataclass(frozen=True)
class Pupil:
    id: uuid.UUID
    last_name: str
    first_name: str
    birthdate: date
    uai: str
    class_name: str
    level: str


@dataclass(frozen=True)
class Guardian:
    id: uuid.UUID
    last_name: str
    first_name: str
    mobile: str | None
    email: str | None


@dataclass(frozen=True)
class Family:
    guardian_ids: tuple[uuid.UUID, ...]
    pupil_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class DemoAccount:
    """An account the demo provisions, with its deterministic provisional password."""

    kind: str  # 'guardian' | 'pupil'
    owner_id: uuid.UUID  # guardian id or pupil id
    provisional_password: str


@dataclass
class DemoDataset:
    seed: int
    academie: str
    schools: list[School]
    pupils: list[Pupil]
    guardians: list[Guardian]
    families: list[Family]
    links: list[tuple[uuid.UUID, uuid.UUID]]  # (guardian_id, pupil_id)
    guardian_accounts: list[DemoAccount]
    pupil_accounts: list[DemoAccount]
    _pupils_by_id: dict[uuid.UUID, Pupil] = field(default_factory=dict, repr=False, compare=False)
    _guardians_by_id: dict[uuid.UUID, Guardian] = field(
        default_factory=dict, repr=False, compare=False
    )
    _children: dict[uuid.UUID, list[uuid.UUID]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self._pupils_by_id = {p.id: p for p in self.pupils}
        self._guardians_by_id = {g.id: g for g in self.guardians}
        children: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for guardian_id, pupil_id in self.links:
            children[guardian_id].append(pupil_id)
        self._children = dict(children)

    def school(self, uai: str) -> School:
        return next(s for s in self.schools if s.uai == uai)

    def schools_of_kind(self, kind: str) -> list[School]:
        return [s for s in self.schools if s.kind == kind]

    @property
    def college(self) -> School:
        return self.schools_of_kind("college")[0]

    def pupil(self, pupil_id: uuid.UUID) -> Pupil:
        return self._pupils_by_id[pupil_id]

    def guardian(self, guardian_id: uuid.UUID) -> Guardian:
        return self._guardians_by_id[guardian_id]

    def children_of(self, guardian_id: uuid.UUID) -> list[Pupil]:
        return [self._pupils_by_id[p] for p in self._children.get(guardian_id, [])]

    def guardian_account(self, guardian_id: uuid.UUID) -> DemoAccount | None:
        return next((a for a in self.guardian_accounts if a.owner_id == guardian_id), None)


def _uai(rng: random.Random, departement: str, taken: set[str]) -> str:
    while True:
        digits = departement + f"{rng.randrange(10_000):04d}"
        uai = digits + _UAI_LETTERS[int(digits) % 23]
        if uai not in taken:
            taken.add(uai)
            return uai


def _schools(rng: random.Random) -> list[School]:
    taken: set[str] = set()
    schools: list[School] = []
    for name in rng.sample(_ECOLE_NAMES, 2):
        city = rng.choice(_CITIES)
        schools.append(
            School(
                _uai(rng, _DEPARTEMENTS[city], taken),
                f"École élémentaire {name}",
                "ecole",
                1,
                ACADEMIE,
                city,
            )
        )
    city = rng.choice(_CITIES)
    schools.append(
        School(
            _uai(rng, _DEPARTEMENTS[city], taken),
            f"Collège {rng.choice(_COLLEGE_NAMES)}",
            "college",
            2,
            ACADEMIE,
            city,
        )
    )
    city = rng.choice(_CITIES)
    schools.append(
        School(
            _uai(rng, _DEPARTEMENTS[city], taken),
            f"Lycée {rng.choice(_LYCEE_NAMES)}",
            "lycee",
            2,
            ACADEMIE,
            city,
        )
    )
    return schools


def _birthdate(rng: random.Random, level_index: int) -> date:
    # In 2026-2027 a CP pupil is born in 2020; about 4 % are a year behind.
    year = SCHOOL_YEAR_START - 6 - level_index
    if rng.random() < 0.04:
        year -= 1
    days = 366 if calendar.isleap(year) else 365
    return date(year, 1, 1) + timedelta(days=rng.randrange(days))


def _email_part(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold_text(name)).strip("-")


def _email(first: str, last: str, taken: set[str]) -> str:
    local = f"{_email_part(first)}.{_email_part(last)}"
    candidate, n = local, 1
    while candidate in taken:
        n += 1
        candidate = f"{local}{n}"
    taken.add(candidate)
    return f"{candidate}@example.fr"


def _mobile(rng: random.Random, taken: set[str]) -> str:
    while True:
        prefix = rng.choice(_MOBILE_PREFIXES_06 if rng.random() < 0.8 else _MOBILE_PREFIXES_07)
        number = f"+33{prefix}{rng.randrange(10_000_000):07d}"
        if number not in taken:
            taken.add(number)
            return number


def demo_password(
    rng: random.Random, *, identifier: str | None = None, names=(), birthdates=()
) -> str:
    """A provisional password drawn from `rng` with the alphabet and rules of
    `passwords.generate_provisional_password` (deterministic, for the demo
    only), redrawn until it passes the policy for this person."""
    alphabet = _PROVISIONAL_LETTERS + _PROVISIONAL_DIGITS
    while True:
        chars = [rng.choice(_PROVISIONAL_DIGITS) for _ in range(2)]
        chars += [rng.choice(_PROVISIONAL_LETTERS) for _ in range(2)]
        chars += [rng.choice(alphabet) for _ in range(_PROVISIONAL_LENGTH - 4)]
        rng.shuffle(chars)
        password = "".join(chars)
        if not check_password_policy(
            password, identifier=identifier, names=names, birthdates=birthdates
        ):
            return password


def _new_id(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def generate(seed: int | None = None, n_pupils: int | None = None) -> DemoDataset:
    """The demo dataset for `seed` with exactly `n_pupils` pupils (defaults
    from settings `demo_seed` and `demo_pupils`). Pure: no I/O."""
    settings = get_settings()
    seed = settings.demo_seed if seed is None else seed
    n_pupils = settings.demo_pupils if n_pupils is None else n_pupils
    rng = random.Random(seed)
    fake = Faker("fr_FR")
    fake.seed_instance(seed)

    schools = _schools(rng)
    ecoles = [s for s in schools if s.kind == "ecole"]
    college = next(s for s in schools if s.kind == "college")
    lycee = next(s for s in schools if s.kind == "lycee")

    pupils: list[Pupil] = []
    guardians: list[Guardian] = []
    families: list[Family] = []
    links: list[tuple[uuid.UUID, uuid.UUID]] = []
    emails: set[str] = set()
    mobiles: set[str] = set()

    while len(pupils) < n_pupils:
        family_name = fake.last_name()
        family_ecole = rng.choice(ecoles)  # siblings in primary share their école
        n_children = rng.choices([1, 2, 3], weights=[35, 45, 20])[0]
        # The eldest child's level, then each younger one 1 to 4 levels below
        # (a sibling too young for the CP is not in the records).
        level_indices = [rng.choices(range(len(ALL_LEVELS)), weights=_ELDEST_LEVEL_WEIGHTS)[0]]
        for _ in range(n_children - 1):
            younger = level_indices[-1] - rng.randint(1, 4)
            if younger < 0:
                break
            level_indices.append(younger)
        level_indices = level_indices[: n_pupils - len(pupils)]

        children: list[Pupil] = []
        first_names: set[str] = set()
        for level_index in level_indices:
            while True:
                first = rng.choice(_GIRL_NAMES if rng.random() < 0.5 else _BOY_NAMES)
                if first not in first_names:
                    first_names.add(first)
                    break
            level = ALL_LEVELS[level_index]
            if level in LEVELS_ECOLE:
                school = family_ecole
            elif level in LEVELS_COLLEGE:
                school = college
            else:
                school = lycee
            children.append(
                Pupil(
                    _new_id(rng),
                    family_name,
                    first,
                    _birthdate(rng, level_index),
                    school.uai,
                    "",
                    level,
                )
            )

        # One or two legal guardians; the mother sometimes keeps her own name.
        people: list[tuple[str, str]] = []
        if rng.random() < 0.7:
            mother_name = fake.last_name() if rng.random() < 0.2 else family_name
            people.append((fake.first_name_female(), mother_name))
            people.append((fake.first_name_male(), family_name))
        else:
            first = fake.first_name_female() if rng.random() < 0.6 else fake.first_name_male()
            people.append((first, family_name))
        family_guardians: list[Guardian] = []
        for first, last in people:
            email = None if rng.random() < NO_EMAIL_RATE else _email(first, last, emails)
            mobile = None if rng.random() < NO_MOBILE_RATE else _mobile(rng, mobiles)
            family_guardians.append(Guardian(_new_id(rng), last, first, mobile, email))

        pupils.extend(children)
        guardians.extend(family_guardians)
        families.append(
            Family(tuple(g.id for g in family_guardians), tuple(c.id for c in children))
        )
        links.extend((g.id, c.id) for g in family_guardians for c in children)

    pupils = _assign_classes(pupils, schools)
    by_id = {p.id: p for p in pupils}

    # Accounts: every guardian with an email in a family with a collège child,
    # one guardian without email (no-email path), a few secondary pupils.
    guardian_by_id = {g.id: g for g in guardians}
    college_families = [
        f for f in families if any(by_id[p].uai == college.uai for p in f.pupil_ids)
    ]
    selected_guardians = [
        guardian_by_id[g]
        for f in college_families
        for g in f.guardian_ids
        if guardian_by_id[g].email
    ]
    without_email = [
        guardian_by_id[g]
        for f in college_families
        for g in f.guardian_ids
        if not guardian_by_id[g].email
    ]
    without_email = without_email or [g for g in guardians if not g.email]
    if without_email:
        selected_guardians.append(without_email[0])
    family_of = {g: f for f in families for g in f.guardian_ids}

    guardian_accounts = []
    for g in selected_guardians:
        family = family_of[g.id]
        kids = [by_id[p] for p in family.pupil_ids]
        names = [g.first_name, g.last_name] + [n for k in kids for n in (k.first_name, k.last_name)]
        password = demo_password(
            rng,
            identifier=base_identifier(g.first_name, g.last_name),
            names=names,
            birthdates=[k.birthdate for k in kids],
        )
        guardian_accounts.append(DemoAccount("guardian", g.id, password))

    secondary = [p for p in pupils if p.uai in (college.uai, lycee.uai)]
    chosen = set(p.id for p in rng.sample(secondary, min(N_DEMO_PUPIL_ACCOUNTS, len(secondary))))
    pupil_accounts = []
    for p in secondary:
        if p.id in chosen:
            password = demo_password(
                rng,
                identifier=base_identifier(p.first_name, p.last_name),
                names=[p.first_name, p.last_name],
                birthdates=[p.birthdate],
            )
            pupil_accounts.append(DemoAccount("pupil", p.id, password))

    return DemoDataset(
        seed=seed,
        academie=ACADEMIE,
        schools=schools,
        pupils=pupils,
        guardians=guardians,
        families=families,
        links=links,
        guardian_accounts=guardian_accounts,
        pupil_accounts=pupil_accounts,
    )


def _assign_classes(pupils: list[Pupil], schools: list[School]) -> list[Pupil]:
    """Split each (school, level) into classes of at most CLASS_SIZE pupils,
    alphabetically: "CE1 A", "6e B", "2nde 1" (lycées number their classes)."""
    kind = {s.uai: s.kind for s in schools}
    groups: dict[tuple[str, str], list[Pupil]] = defaultdict(list)
    for p in pupils:
        groups[(p.uai, p.level)].append(p)
    class_of: dict[uuid.UUID, str] = {}
    for (uai, level), members in groups.items():
        members.sort(key=lambda p: (fold_text(p.last_name), fold_text(p.first_name), p.id))
        n_classes = -(-len(members) // CLASS_SIZE)
        for i, p in enumerate(members):
            k = i * n_classes // len(members)
            if kind[uai] == "lycee":
                class_of[p.id] = f"{level} {k + 1}"
            elif kind[uai] == "ecole" and n_classes == 1:
                class_of[p.id] = level
            else:
                class_of[p.id] = f"{level} {'ABCDEFGH'[k]}"
    return [replace(p, class_name=class_of[p.id]) for p in pupils]


# --------------------------------------------------------------------------
# Seeding


@dataclass
class SeedReport:
    inserted: bool
    accounts_provisioned: int
    emails_sent: int
    # (identifier, provisional password, French label) of a few demo accounts
    # still waiting for activation.
    credentials: list[tuple[str, str, str]] = field(default_factory=list)
    # (login, password, French label) of the demo staff: one school administrator
    # per demo school and one académie support (DESIGN §2).
    staff_credentials: list[tuple[str, str, str]] = field(default_factory=list)


# --------------------------------------------------------------------------
# Demo staff (birthdate corrections, assistance tickets)

_STAFF_SYMBOLS = "!#%+-=?@_"


@dataclass(frozen=True)
class DemoStaff:
    login: str
    display_name: str
    role: str  # 'school_admin' | 'academie_support'
    uai: str | None
    academie: str
    password: str
    label: str


def _staff_password(rng: random.Random, login: str, names: list[str]) -> str:
    from educonnect.passwords import check_staff_password_policy

    upper = "".join(c for c in _PROVISIONAL_LETTERS if c.isupper())
    lower = "".join(c for c in _PROVISIONAL_LETTERS if c.islower())
    while True:
        chars = [rng.choice(upper) for _ in range(4)] + [rng.choice(lower) for _ in range(6)]
        chars += [rng.choice(_PROVISIONAL_DIGITS) for _ in range(4)] + [
            rng.choice(_STAFF_SYMBOLS) for _ in range(2)
        ]
        rng.shuffle(chars)
        password = "".join(chars)
        if not check_staff_password_policy(password, login=login, names=names):
            return password


def demo_staff(data: DemoDataset) -> list[DemoStaff]:
    """The demo staff of `data` (pure, deterministic): one school administrator
    per school, one académie support, each with a strong demo password."""
    rng = random.Random(f"staff/{data.seed}")
    fake = Faker("fr_FR")
    fake.seed_instance(f"staff/{data.seed}")
    domain = f"ac-{_email_part(data.academie)}.example.fr"
    staff: list[DemoStaff] = []
    for school in data.schools:
        first, last = fake.first_name(), fake.last_name()
        login = f"ce.{school.uai.lower()}@{domain}"
        staff.append(
            DemoStaff(
                login, f"{first} {last}", "school_admin", school.uai, data.academie,
                _staff_password(rng, login, [first, last]),
                f"Personnel : administrateur de l'établissement {school.name} ({school.uai})",
            )
        )  # fmt: skip
    first, last = fake.first_name(), fake.last_name()
    login = f"assistance.educonnect@{domain}"
    staff.append(
        DemoStaff(
            login, f"{first} {last}", "academie_support", None, data.academie,
            _staff_password(rng, login, [first, last]),
            f"Personnel : assistance académique de l'académie de {data.academie}",
        )
    )  # fmt: skip
    return staff


async def _seed_staff(conn: asyncpg.Connection, data: DemoDataset) -> list[tuple[str, str, str]]:
    """Create the demo staff accounts not there yet; their credentials."""
    from educonnect.models.corrections import StaffRole
    from educonnect.staff import create_staff_account

    staff = demo_staff(data)
    have = {r["login"] for r in await conn.fetch(
        "SELECT login FROM staff_accounts WHERE login = ANY($1::text[])", [s.login for s in staff]
    )}  # fmt: skip
    for s in staff:
        if s.login not in have:
            await create_staff_account(
                conn, login=s.login, email=s.login, display_name=s.display_name, role=StaffRole(s.role),
                password=s.password, uai=s.uai, academie=s.academie,
            )  # fmt: skip
    return [(s.login, s.password, s.label) for s in staff]


async def _insert_records(conn: asyncpg.Connection, data: DemoDataset) -> bool:
    if await conn.fetchval("SELECT 1 FROM schools WHERE uai = $1", data.college.uai):
        return False
    async with conn.transaction():
        await conn.copy_records_to_table(
            "schools",
            records=[(s.uai, s.name, s.kind, s.degree, s.academie, s.city) for s in data.schools],
            columns=["uai", "name", "kind", "degree", "academie", "city"],
        )
        await conn.copy_records_to_table(
            "pupils",
            records=[
                (p.id, p.last_name, p.first_name, p.birthdate, p.uai, p.class_name, p.level)
                for p in data.pupils
            ],
            columns=["id", "last_name", "first_name", "birthdate", "uai", "class_name", "level"],
        )
        await conn.copy_records_to_table(
            "guardians",
            records=[(g.id, g.last_name, g.first_name, g.mobile, g.email) for g in data.guardians],
            columns=["id", "last_name", "first_name", "mobile", "email"],
        )
        await conn.copy_records_to_table(
            "guardian_pupils", records=data.links, columns=["guardian_id", "pupil_id"]
        )
    log.info(
        "inserted demo records: %d schools, %d pupils, %d guardians",
        len(data.schools),
        len(data.pupils),
        len(data.guardians),
    )
    return True


async def _provision(pool: asyncpg.Pool, data: DemoDataset, now: datetime) -> dict[uuid.UUID, str]:
    """Provision the demo accounts that do not exist yet; return the clear
    password of each account created now, by account id."""
    async with pool.acquire() as conn:
        have_guardian = {
            r["guardian_id"]
            for r in await conn.fetch(
                "SELECT guardian_id FROM accounts WHERE guardian_id = ANY($1::uuid[])",
                [a.owner_id for a in data.guardian_accounts],
            )
        }
        have_pupil = {
            r["pupil_id"]
            for r in await conn.fetch(
                "SELECT pupil_id FROM accounts WHERE pupil_id = ANY($1::uuid[])",
                [a.owner_id for a in data.pupil_accounts],
            )
        }
    todo = [a for a in data.guardian_accounts if a.owner_id not in have_guardian]
    todo += [a for a in data.pupil_accounts if a.owner_id not in have_pupil]
    sem = asyncio.Semaphore(PROVISION_CONCURRENCY)

    async def one(account: DemoAccount):
        async with sem, pool.acquire() as conn:
            provision = (
                provision_guardian_account
                if account.kind == "guardian"
                else provision_pupil_account
            )
            return await provision(
                conn, account.owner_id, now=now, provisional_password=account.provisional_password
            )

    results = await asyncio.gather(*(one(a) for a in todo))
    return {r.account_id: r.provisional_password for r in results if r.created}


async def _send_notifications(
    conn: asyncpg.Connection, data: DemoDataset, created_now: dict[uuid.UUID, str]
) -> int:
    """Send the notification of every demo guardian account with an email not
    sent yet; stop at the first SMTP failure (a later seed() retries)."""
    rows = await conn.fetch(
        """
        SELECT a.id, a.guardian_id, a.provisional_password_hash
        FROM accounts a
        LEFT JOIN sent_emails se ON se.idempotency_key = 'demo-notification/' || a.id::text
        WHERE a.guardian_id = ANY($1::uuid[])
          AND a.state = 'provisioned' AND a.email IS NOT NULL
          AND a.provisional_expires_at > now()
          AND se.sent_at IS NULL
        ORDER BY a.created_at, a.identifier
        """,
        [a.owner_id for a in data.guardian_accounts],
    )
    sent = 0
    for row in rows:
        account_id = row["id"]
        password = created_now.get(account_id)
        if password is None:
            # Created by an earlier seed(): send only if the credentials are
            # still the demo ones (staff may have issued new ones).
            demo = data.guardian_account(row["guardian_id"])
            if demo is None or not await verify_password_async(
                row["provisional_password_hash"], demo.provisional_password
            ):
                continue
            password = demo.provisional_password
        try:
            if await send_account_notification(
                conn, account_id, password, idempotency_key=f"demo-notification/{account_id}"
            ):
                sent += 1
        except asyncpg.PostgresError:
            raise
        except Exception as exc:  # noqa: BLE001 - SMTP down: refused, timeout, SMTP error...
            log.warning(
                "could not send demo notification emails (%s: %s); %d left, "
                "they will be sent by the next seed",
                type(exc).__name__,
                exc,
                len(rows) - sent,
            )
            break
    return sent


def _describe_children(data: DemoDataset, children: list[Pupil]) -> str:
    """ "d'Aaron Martin (Collège …) et de Léa Martin (École …)"."""
    parts = [
        ("d'" if fold_text(c.first_name)[:1] in tuple("aeiouy") else "de ")
        + f"{c.first_name} {c.last_name} ({data.school(c.uai).name})"
        for c in children
    ]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " et " + parts[-1]


async def _credentials(conn: asyncpg.Connection, data: DemoDataset) -> list[tuple[str, str, str]]:
    rows = await conn.fetch(
        """
        SELECT identifier, guardian_id, pupil_id FROM accounts
        WHERE state = 'provisioned' AND provisional_expires_at > now()
          AND (guardian_id = ANY($1::uuid[]) OR pupil_id = ANY($2::uuid[]))
        """,
        [a.owner_id for a in data.guardian_accounts],
        [a.owner_id for a in data.pupil_accounts],
    )
    identifier_of = {r["guardian_id"] or r["pupil_id"]: r["identifier"] for r in rows}

    guardians = [a for a in data.guardian_accounts if a.owner_id in identifier_of]
    with_email = [a for a in guardians if data.guardian(a.owner_id).email]
    # Families with several children first (children in several schools), one
    # guardian per family.
    with_email.sort(key=lambda a: -len(data.children_of(a.owner_id)))
    seen_families: set[frozenset[uuid.UUID]] = set()
    distinct = []
    for a in with_email:
        family = frozenset(c.id for c in data.children_of(a.owner_id))
        if family not in seen_families:
            seen_families.add(family)
            distinct.append(a)
    without_email = [a for a in guardians if not data.guardian(a.owner_id).email]
    chosen = distinct[:4] + without_email[:1]
    if len(chosen) < 5:
        chosen += [a for a in with_email if a not in chosen][: 5 - len(chosen)]

    credentials: list[tuple[str, str, str]] = []
    for a in chosen:
        guardian = data.guardian(a.owner_id)
        contact = "avec email" if guardian.email else "sans email (courrier à imprimer)"
        label = f"Responsable {_describe_children(data, data.children_of(a.owner_id))}, {contact}"
        credentials.append((identifier_of[a.owner_id], a.provisional_password, label))
    for a in [a for a in data.pupil_accounts if a.owner_id in identifier_of][:2]:
        p = data.pupil(a.owner_id)
        label = f"Élève {p.first_name} {p.last_name} ({p.class_name}, {data.school(p.uai).name})"
        credentials.append((identifier_of[a.owner_id], a.provisional_password, label))
    return credentials


async def seed(
    database_url: str, *, seed: int | None = None, n_pupils: int | None = None
) -> SeedReport:
    """Write the demo dataset into the (migrated) database, provision its
    accounts and send their notification emails; idempotent (see module doc)."""
    data = generate(seed, n_pupils)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=PROVISION_CONCURRENCY + 1)
    try:
        async with pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", SEED_LOCK_ID)
            try:
                inserted = await _insert_records(conn, data)
                created_now = await _provision(pool, data, datetime.now(UTC))
                emails_sent = await _send_notifications(conn, data, created_now)
                credentials = await _credentials(conn, data)
                staff_credentials = await _seed_staff(conn, data)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", SEED_LOCK_ID)
    finally:
        await pool.close()
    report = SeedReport(inserted, len(created_now), emails_sent, credentials, staff_credentials)
    log.info(
        "demo seed: inserted=%s, accounts provisioned=%d, emails sent=%d",
        report.inserted,
        report.accounts_provisioned,
        report.emails_sent,
    )
    return report


def main() -> None:  # pragma: no cover - manual use
    from educonnect.db import database_url, migrate_url

    logging.basicConfig(level=logging.INFO)

    async def run() -> SeedReport:
        url = database_url()
        await migrate_url(url)
        return await seed(url)

    report = asyncio.run(run())
    print("Comptes de démonstration (identifiant / mot de passe provisoire) :")
    for identifier, password, label in report.credentials:
        print(f"  {identifier:<22} {password:<14} {label}")
    print("Comptes du personnel (identifiant / mot de passe) :")
    for login, password, label in report.staff_credentials:
        print(f"  {login:<40} {password:<18} {label}")


if __name__ == "__main__":  # pragma: no cover
    main()
