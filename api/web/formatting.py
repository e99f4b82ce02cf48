"""How pages write addresses and moments for a French reader."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip


def masked_email(address: str | None) -> str:
    """ "jean.dupont@example.fr" -> "j***@e***.fr": enough for its owner to
    recognise it, not enough for someone looking over a shoulder."""
    if not address or "@" not in address:
        return ""
    local, domain = address.rsplit("@", 1)
    name, dot, tld = domain.rpartition(".")
    if not dot:
        name, tld = domain, ""
    return f"{local[:1]}***@{name[:1]}***{dot}{tld}"


def french_day(moment: datetime | None) -> str:
    """ "3 décembre" (Paris time)."""
    if moment is None:
        return ""
    local = moment.astimezone(PARIS)
    day = "1er" if local.day == 1 else str(local.day)
    return f"{day}\u00a0{MONTHS[local.month - 1]}"  # kept on one line


def french_moment(moment: datetime | None) -> str:
    """ "3 décembre à 14 h 05" (Paris time)."""
    if moment is None:
        return ""
    local = moment.astimezone(PARIS)
    return f"{french_day(moment)} à {local.hour}\u00a0h\u00a0{local.minute:02d}"
