"""A school's export file (DESIGN §3.11): parsing and validation.

One line per pupil, with up to two legal guardians; the columns are documented
in `docs/provisioning-csv.md`. Every problem is reported with its line number
in the file and a French message; bad lines are reported, good lines go
through. Pure module: no I/O, no database.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from pydantic import BaseModel

from educonnect.email_addresses import normalized_email
from educonnect.errors import DomainError
from educonnect.french_dates import french_date
from educonnect.identifiers import fold_text, normalize_name
from educonnect.phones import e164_mobile

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 60_000
MAX_NAME_LENGTH = 100
MAX_CLASS_LENGTH = 30
OLDEST_BIRTHDATE = date(1990, 1, 1)

PUPIL_COLUMNS = [
    "identifiant_eleve",
    "nom_eleve",
    "prenom_eleve",
    "date_naissance",
    "classe",
    "niveau",
]
GUARDIAN_FIELDS = ["nom", "prenom", "mobile", "email"]
REQUIRED_COLUMNS = PUPIL_COLUMNS + [f"resp1_{f}" for f in GUARDIAN_FIELDS]
OPTIONAL_COLUMNS = [f"resp2_{f}" for f in GUARDIAN_FIELDS]
ALL_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# Other spellings found in school exports.
ALIASES = {
    "ine": "identifiant_eleve",
    "numero_eleve": "identifiant_eleve",
    "num_eleve": "identifiant_eleve",
    "date_de_naissance": "date_naissance",
    "nom_de_famille_eleve": "nom_eleve",
}

COLUMN_LABELS = {
    "identifiant_eleve": "identifiant de l'élève",
    "nom_eleve": "nom de l'élève",
    "prenom_eleve": "prénom de l'élève",
    "date_naissance": "date de naissance",
    "classe": "classe",
    "niveau": "niveau",
}
for _n in (1, 2):
    COLUMN_LABELS.update(
        {
            f"resp{_n}_nom": f"nom du responsable {_n}",
            f"resp{_n}_prenom": f"prénom du responsable {_n}",
            f"resp{_n}_mobile": f"mobile du responsable {_n}",
            f"resp{_n}_email": f"email du responsable {_n}",
        }
    )

_EXTERNAL_ID = re.compile(r"[A-Z0-9]{1,20}")
_NAME = re.compile(r"[^\W\d_]+(?:[ '’\-.][^\W\d_]*)*\.?")
_SPACES = re.compile(r"\s+")
# Control characters (C0, DEL, C1) and the bidirectional overrides, in a free-text cell.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
MAX_SHOWN = 60  # characters of a refused value quoted back in its message


class FileRefused(ValueError):
    """The whole file is unusable (encoding, header, size): French message."""


class GuardianRow(BaseModel):
    last_name: str
    first_name: str
    mobile: str | None = None  # E.164
    email: str | None = None  # normalised by email-validator

    @property
    def name_key(self) -> tuple[str, str]:
        return normalize_name(self.last_name), normalize_name(self.first_name)


class PupilRow(BaseModel):
    """One valid line of the file, normalised."""

    external_id: str
    last_name: str
    first_name: str
    birthdate: date
    class_name: str
    level: str
    guardians: list[GuardianRow]


@dataclass(frozen=True)
class RowError:
    line_no: int
    field: str | None  # the column, None for the whole line
    message: str


@dataclass
class ParsedFile:
    rows: list[tuple[int, PupilRow]] = field(default_factory=list)  # (line number, row)
    errors: list[RowError] = field(default_factory=list)
    rows_total: int = 0  # non-empty lines after the header
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def invalid_lines(self) -> set[int]:
        return {e.line_no for e in self.errors}


# --------------------------------------------------------------------------
# Reading the file


def decode(content: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252 (spreadsheets' "CSV")."""
    if len(content) > MAX_FILE_BYTES:
        raise FileRefused(
            f"Le fichier dépasse la taille maximale de {MAX_FILE_BYTES // (1024 * 1024)} Mo."
        )
    if b"\x00" in content[:4096]:
        raise FileRefused(
            "Ce fichier n'est pas un fichier texte CSV (enregistrez-le au format « CSV UTF-8 »)."
        )
    nul = content.find(b"\x00")  # no PostgreSQL text can hold it, not even quoted in a line's error
    if nul >= 0:
        line_no = content.count(b"\n", 0, nul) + 1
        raise FileRefused(
            f"La ligne {line_no} du fichier contient un caractère non autorisé "
            "(caractère nul) : corrigez-la, ou enregistrez de nouveau le fichier au format « CSV UTF-8 »."
        )
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


def normalize_header(name: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", fold_text(name.strip())).strip("_")
    return ALIASES.get(key, key)


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ";"


def read_header(text: str) -> tuple[str, list[str]]:
    """The delimiter and the normalised column names; FileRefused if a
    required column is missing or one appears twice."""
    first_line = text.split("\n", 1)[0].rstrip("\r")
    if not first_line.strip():
        raise FileRefused(
            "Le fichier est vide ou sa première ligne (les noms de colonnes) est vide."
        )
    delimiter = _delimiter(first_line)
    header = next(csv.reader([first_line], delimiter=delimiter))
    columns = [normalize_header(h) for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise FileRefused(
            "Colonnes obligatoires absentes de la première ligne : "
            + ", ".join(missing)
            + ". Consultez la description du format de fichier."
        )
    doubled = sorted({c for c in columns if c in ALL_COLUMNS and columns.count(c) > 1})
    if doubled:
        raise FileRefused("Colonnes présentes plusieurs fois : " + ", ".join(doubled) + ".")
    return delimiter, columns


def check_file(content: bytes) -> None:
    """What the API checks before accepting an upload (the workflow checks every line)."""
    text = decode(content)
    read_header(text)
    lines = text.count("\n")
    if lines > MAX_ROWS + 1:
        raise FileRefused(
            f"Le fichier compte plus de {MAX_ROWS} lignes : découpez-le en plusieurs fichiers."
        )


def parse(content: bytes) -> ParsedFile:
    """Every line validated; raises FileRefused only for a file-level problem."""
    text = decode(content)
    delimiter, columns = read_header(text)
    result = ParsedFile(ignored_columns=[c for c in columns if c not in ALL_COLUMNS and c])
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        next(reader)
        previous_end = reader.line_num
        seen_ids: dict[str, int] = {}
        for record in reader:
            line_no = previous_end + 1
            previous_end = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            result.rows_total += 1
            if result.rows_total > MAX_ROWS:
                raise FileRefused(
                    f"Le fichier compte plus de {MAX_ROWS} lignes : découpez-le en plusieurs fichiers."
                )
            if len(record) > len(columns) and any(c.strip() for c in record[len(columns) :]):
                result.errors.append(
                    RowError(
                        line_no,
                        None,
                        f"La ligne compte {len(record)} champs alors que la première ligne en annonce "
                        f"{len(columns)} (vérifiez les séparateurs « {delimiter} » et les guillemets).",
                    )
                )
                continue
            values = {
                col: (record[i].strip() if i < len(record) else "") for i, col in enumerate(columns)
            }
            row, errors = validate_row(line_no, values)
            if row is not None and row.external_id in seen_ids:
                errors.append(
                    RowError(
                        line_no,
                        "identifiant_eleve",
                        f"L'identifiant élève {row.external_id} figure déjà ligne {seen_ids[row.external_id]} : "
                        "chaque élève ne doit figurer qu'une fois.",
                    )
                )
            if errors:
                result.errors.extend(errors)
            else:
                assert row is not None
                seen_ids[row.external_id] = line_no
                result.rows.append((line_no, row))
    except csv.Error as err:
        raise FileRefused(
            f"Le fichier ne peut pas être lu après la ligne {reader.line_num} (guillemets mal fermés ?) : {err}."
        ) from None
    return result


# --------------------------------------------------------------------------
# One line


def _clean(value: str) -> str:
    return _SPACES.sub(" ", value).strip()


def _shown(value: str) -> str:
    """A refused value as quoted back in its message: never the whole of a huge cell."""
    return value if len(value) <= MAX_SHOWN else value[:MAX_SHOWN] + "…"


def _name(
    values: dict, column: str, errors: list[RowError], line_no: int, *, required: bool = True
) -> str:
    value = _clean(values.get(column, ""))
    label = COLUMN_LABELS[column]
    if not value:
        if required:
            errors.append(RowError(line_no, column, f"Le {label} est obligatoire."))
        return ""
    if len(value) > MAX_NAME_LENGTH:
        errors.append(
            RowError(line_no, column, f"Le {label} dépasse {MAX_NAME_LENGTH} caractères.")
        )
    elif not _NAME.fullmatch(value) or not normalize_name(value):
        errors.append(
            RowError(
                line_no,
                column,
                f"Le {label} « {_shown(value)} » ne doit contenir que des lettres, des espaces, des tirets et des apostrophes.",
            )
        )
    return value


def parse_birthdate(value: str) -> date | None:
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def parse_mobile(value: str) -> str | None:
    """E.164 for a valid mobile (French numbers without the country code), else None."""
    try:
        return e164_mobile(value)
    except DomainError:
        return None


def parse_email(value: str) -> str | None:
    try:
        return normalized_email(value)
    except DomainError:
        return None


def _guardian(values: dict, n: int, errors: list[RowError], line_no: int) -> GuardianRow | None:
    prefix = f"resp{n}_"
    given = any(_clean(values.get(prefix + f, "")) for f in GUARDIAN_FIELDS)
    if n == 2 and not given:
        return None
    before = len(errors)
    last = _name(values, prefix + "nom", errors, line_no)
    first = _name(values, prefix + "prenom", errors, line_no)
    mobile = email = None
    raw_mobile = _clean(values.get(prefix + "mobile", ""))
    if raw_mobile:
        mobile = parse_mobile(raw_mobile)
        if mobile is None:
            errors.append(
                RowError(
                    line_no,
                    prefix + "mobile",
                    f"Le {COLUMN_LABELS[prefix + 'mobile']} « {_shown(raw_mobile)} » n'est pas un numéro de téléphone "
                    "mobile valide (exemple : 06 12 34 56 78).",
                )
            )
    raw_email = _clean(values.get(prefix + "email", ""))
    if raw_email:
        email = parse_email(raw_email)
        if email is None:
            errors.append(
                RowError(
                    line_no,
                    prefix + "email",
                    f"L'{COLUMN_LABELS[prefix + 'email']} « {_shown(raw_email)} » n'est pas une adresse électronique valide.",
                )
            )
    if len(errors) > before:
        return None
    return GuardianRow(last_name=last, first_name=first, mobile=mobile, email=email)


def validate_row(line_no: int, values: dict[str, str]) -> tuple[PupilRow | None, list[RowError]]:
    errors: list[RowError] = []
    external_id = _clean(values.get("identifiant_eleve", "")).replace(" ", "").upper()
    if not external_id:
        errors.append(
            RowError(
                line_no,
                "identifiant_eleve",
                "L'identifiant de l'élève (INE ou numéro) est obligatoire.",
            )
        )
    elif not _EXTERNAL_ID.fullmatch(external_id):
        errors.append(
            RowError(
                line_no,
                "identifiant_eleve",
                f"L'identifiant de l'élève « {_shown(external_id)} » ne doit contenir que des lettres et des chiffres "
                "(20 caractères au plus).",
            )
        )
    last = _name(values, "nom_eleve", errors, line_no)
    first = _name(values, "prenom_eleve", errors, line_no)

    raw_birthdate = _clean(values.get("date_naissance", ""))
    birthdate = parse_birthdate(raw_birthdate) if raw_birthdate else None
    if not raw_birthdate:
        errors.append(RowError(line_no, "date_naissance", "La date de naissance est obligatoire."))
    elif birthdate is None:
        errors.append(
            RowError(
                line_no,
                "date_naissance",
                f"La date de naissance « {_shown(raw_birthdate)} » n'est pas une date valide (format attendu JJ/MM/AAAA).",
            )
        )
    elif not OLDEST_BIRTHDATE <= birthdate <= date.today():
        errors.append(
            RowError(
                line_no,
                "date_naissance",
                f"La date de naissance {french_date(birthdate)} n'est pas plausible.",
            )
        )

    class_name = _clean(values.get("classe", ""))
    level = _clean(values.get("niveau", ""))
    for column, value in (("classe", class_name), ("niveau", level)):
        if not value:
            errors.append(RowError(line_no, column, f"La colonne {column} est obligatoire."))
        elif len(value) > MAX_CLASS_LENGTH:
            errors.append(
                RowError(
                    line_no, column, f"La colonne {column} dépasse {MAX_CLASS_LENGTH} caractères."
                )
            )
        elif _CONTROLS.search(value):
            errors.append(
                RowError(
                    line_no, column, f"La colonne {column} contient des caractères non autorisés."
                )
            )

    guardians = [
        g
        for g in (_guardian(values, 1, errors, line_no), _guardian(values, 2, errors, line_no))
        if g
    ]
    if len(guardians) == 2 and guardians[0].name_key == guardians[1].name_key:
        errors.append(
            RowError(
                line_no,
                "resp2_nom",
                "Les deux responsables ont les mêmes nom et prénom : laissez le responsable 2 vide.",
            )
        )
    if errors:
        return None, errors
    assert birthdate is not None
    return (
        PupilRow(
            external_id=external_id,
            last_name=last,
            first_name=first,
            birthdate=birthdate,
            class_name=class_name,
            level=level,
            guardians=guardians,
        ),
        [],
    )
