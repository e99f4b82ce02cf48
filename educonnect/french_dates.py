"""How dates and times are written for the people who read them, in one place.

"12/03/2027" (a day), "12/03/2027 à 14:05" (a moment, in Paris time), "3 décembre à
14 h 05" (a moment on a page, in words) and, in the
workflows' details for operators, "12/03/2027 à 14:05 UTC" (workflow code reads
no time zone: it writes workflow.now()'s UTC as it is). Pure Python: workflows import it.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def french_date(day: date) -> str:
    """12/03/2027"""
    return f"{day:%d/%m/%Y}"


def paris_date_time(moment: datetime, *, seconds: bool = False) -> str:
    """12/03/2027 à 14:05 (14:05:09 with `seconds`), Paris time."""
    local = moment.astimezone(PARIS)
    return (
        f"{french_date(local)} à {local:%H:%M:%S}"
        if seconds
        else f"{french_date(local)} à {local:%H:%M}"
    )


def utc_date_time(moment: datetime) -> str:
    """12/03/2027 à 14:05 UTC, the moment as given (a workflow's times are UTC)."""
    return f"{french_date(moment)} à {moment:%H:%M} UTC"


MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip


def paris_day_in_words(moment: datetime) -> str:
    """3 décembre (1er décembre), Paris time; the spaces do not break a line."""
    local = moment.astimezone(PARIS)
    day = "1er" if local.day == 1 else str(local.day)
    return f"{day}\u00a0{MONTHS[local.month - 1]}"


def paris_moment_in_words(moment: datetime) -> str:
    """3 décembre à 14 h 05, Paris time (the pages: "Un lien a été envoyé ... le ...")."""
    local = moment.astimezone(PARIS)
    return f"{paris_day_in_words(moment)} à {local.hour}\u00a0h\u00a0{local.minute:02d}"
