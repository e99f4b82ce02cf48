"""How dates and times are written for the people who read them, in one place.

"12/03/2027" (a day), "12/03/2027 à 14:05" (a moment, in Paris time) and, in the
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
