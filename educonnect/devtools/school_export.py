"""A school's export file for provisioning (format: docs/provisioning-csv.md),
generated with Faker ("fr_FR") and a fixed seed: the same arguments always
give the same file.

    .venv/bin/python -m educonnect.devtools.school_export --pupils 2000 --seed 7 > lycee.csv

Families: one to three children in the school (siblings share their
guardians), one or two guardians, about 15 % without email and 5 % without
mobile. `changed(...)` derives the "next" file of the same school: some
classes change, some pupils leave, new families arrive.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import sys
from dataclasses import dataclass, replace
from datetime import date, timedelta

from faker import Faker

from educonnect.csv_import import ALL_COLUMNS
from educonnect.identifiers import fold_text

LEVELS = {
    "ecole": (["CP", "CE1", "CE2", "CM1", "CM2"], 6),
    "college": (["6e", "5e", "4e", "3e"], 11),
    "lycee": (["2nde", "1re", "Tle"], 15),
}
CLASS_SIZE = 32
NO_EMAIL_RATE = 0.15
NO_MOBILE_RATE = 0.05
SECOND_GUARDIAN_RATE = 0.6
SCHOOL_YEAR_START = 2026


@dataclass(frozen=True)
class Guardian:
    last_name: str
    first_name: str
    mobile: str
    email: str


@dataclass(frozen=True)
class ExportRow:
    external_id: str
    last_name: str
    first_name: str
    birthdate: date
    class_name: str
    level: str
    guardians: tuple[Guardian, ...]

    def as_dict(self) -> dict[str, str]:
        values = {
            "identifiant_eleve": self.external_id,
            "nom_eleve": self.last_name,
            "prenom_eleve": self.first_name,
            "date_naissance": self.birthdate.strftime("%d/%m/%Y"),
            "classe": self.class_name,
            "niveau": self.level,
        }
        for n in (1, 2):
            g = self.guardians[n - 1] if len(self.guardians) >= n else Guardian("", "", "", "")
            values |= {f"resp{n}_nom": g.last_name, f"resp{n}_prenom": g.first_name,
                       f"resp{n}_mobile": g.mobile, f"resp{n}_email": g.email}  # fmt: skip
        return values


class _Generator:
    def __init__(self, seed: int, kind: str, email_domain: str, id_prefix: str):
        self.rng = random.Random(seed)
        self.fake = Faker("fr_FR")
        self.fake.seed_instance(seed)
        self.kind = kind
        self.email_domain = email_domain
        self.id_prefix = id_prefix
        self.next_id = 0
        self.emails: set[str] = set()
        self.mobiles: set[str] = set()

    def _external_id(self) -> str:
        # INE-like: 9 digits + 2 letters, unique within the file.
        self.next_id += 1
        letters = "".join(self.rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(2))
        return f"{self.id_prefix}{self.next_id:09d}{letters}"[-20:]

    def _email(self, first: str, last: str) -> str:
        local = re.sub(r"[^a-z0-9]+", ".", fold_text(f"{first} {last}")).strip(".")
        candidate, n = local, 1
        while candidate in self.emails:
            n += 1
            candidate = f"{local}{n}"
        self.emails.add(candidate)
        return f"{candidate}@{self.email_domain}"

    def _mobile(self) -> str:
        while True:
            prefix = self.rng.choice(
                ["60", "61", "62", "64", "65", "66", "67", "68", "73", "74", "75", "76", "77", "78"]
            )
            digits = f"{self.rng.randrange(10_000_000):07d}"
            number = (
                f"0{prefix[0]} {prefix[1]}{digits[0]} {digits[1:3]} {digits[3:5]} {digits[5:7]}"
            )
            if number not in self.mobiles:
                self.mobiles.add(number)
                return number

    def _guardian(self, first: str, last: str) -> Guardian:
        email = "" if self.rng.random() < NO_EMAIL_RATE else self._email(first, last)
        mobile = "" if self.rng.random() < NO_MOBILE_RATE else self._mobile()
        return Guardian(last, first, mobile, email)

    def family(self, max_children: int) -> list[ExportRow]:
        levels, first_age = LEVELS[self.kind]
        last = self.fake.last_name()
        guardians = [self._guardian(self.fake.first_name_female(), last)]
        if self.rng.random() < SECOND_GUARDIAN_RATE:
            other_last = self.fake.last_name() if self.rng.random() < 0.2 else last
            guardians.append(self._guardian(self.fake.first_name_male(), other_last))
        if self.rng.random() < 0.5:
            guardians.reverse()
        n_children = min(max_children, self.rng.choices([1, 2, 3], weights=[60, 32, 8])[0])
        rows, first_names = [], set()
        level_indices = self.rng.sample(range(len(levels)), min(n_children, len(levels)))
        for level_index in level_indices:
            while True:
                first = (
                    self.fake.first_name_female()
                    if self.rng.random() < 0.5
                    else self.fake.first_name_male()
                )
                if first not in first_names:
                    first_names.add(first)
                    break
            year = SCHOOL_YEAR_START - first_age - level_index
            born = date(year, 1, 1) + timedelta(days=self.rng.randrange(365))
            rows.append(
                ExportRow(
                    self._external_id(),
                    last,
                    first,
                    born,
                    "",
                    levels[level_index],
                    tuple(guardians),
                )
            )
        return rows


def _assign_classes(rows: list[ExportRow], kind: str) -> list[ExportRow]:
    levels, _ = LEVELS[kind]
    by_level: dict[str, list[int]] = {lv: [] for lv in levels}
    for i, row in enumerate(rows):
        by_level[row.level].append(i)
    out = list(rows)
    for level, indices in by_level.items():
        indices.sort(
            key=lambda i: (
                fold_text(rows[i].last_name),
                fold_text(rows[i].first_name),
                rows[i].external_id,
            )
        )
        n_classes = max(1, -(-len(indices) // CLASS_SIZE))
        for k, i in enumerate(indices):
            number = k * n_classes // len(indices) + 1
            name = (
                f"{level} {number}"
                if kind == "lycee"
                else f"{level} {'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[(number - 1) % 26]}"
            )
            out[i] = replace(rows[i], class_name=name)
    return out


def generate_export(
    n_pupils: int,
    *,
    seed: int = 2026,
    kind: str = "lycee",
    email_domain: str = "example.fr",
    id_prefix: str = "",
) -> list[ExportRow]:
    """`n_pupils` rows, deterministic for the same arguments."""
    gen = _Generator(seed, kind, email_domain, id_prefix)
    rows: list[ExportRow] = []
    while len(rows) < n_pupils:
        rows += gen.family(n_pupils - len(rows))
    gen.rng.shuffle(rows)
    return _assign_classes(rows, kind)


def changed(
    rows: list[ExportRow], *, seed: int, new_pupils: int, leavers: int = 0, class_changes: int = 0,
    kind: str = "lycee", email_domain: str = "example.fr",
) -> list[ExportRow]:  # fmt: skip
    """The next export of the same school: `class_changes` pupils change
    class, `leavers` leave, `new_pupils` (new families) arrive."""
    rng = random.Random(seed)
    out = list(rows)
    for i in rng.sample(range(len(out)), min(class_changes, len(out))):
        out[i] = replace(out[i], class_name=out[i].class_name + "b")
    for i in sorted(rng.sample(range(len(out)), min(leavers, len(out))), reverse=True):
        del out[i]
    gen = _Generator(seed + 1, kind, email_domain, id_prefix="N")
    arrivals: list[ExportRow] = []
    while len(arrivals) < new_pupils:
        arrivals += gen.family(new_pupils - len(arrivals))
    arrivals = [
        replace(r, class_name=f"{r.level} {'N' if kind != 'lycee' else '99'}") for r in arrivals
    ]
    return out + arrivals


def to_csv(rows: list[ExportRow], *, delimiter: str = ";") -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=ALL_COLUMNS, delimiter=delimiter, lineterminator="\r\n"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow(row.as_dict())
    return buffer.getvalue().encode("utf-8")


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - manual use
    parser = argparse.ArgumentParser(
        description="Fichier d'export d'établissement (CSV) généré, pour essayer l'import."
    )
    parser.add_argument("--pupils", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--kind", choices=sorted(LEVELS), default="lycee")
    parser.add_argument("--email-domain", default="example.fr")
    args = parser.parse_args(argv)
    rows = generate_export(
        args.pupils, seed=args.seed, kind=args.kind, email_domain=args.email_domain
    )
    sys.stdout.buffer.write(to_csv(rows))


if __name__ == "__main__":  # pragma: no cover
    main()
