"""How pages write what a French reader sees (dates: `educonnect.french_dates`)."""

from __future__ import annotations

from datetime import timedelta

from educonnect.errors import _in_words


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


def duration_in_words(duration: timedelta) -> str:
    """A policy's duration as the refusals say it ("10 minutes", "une heure")."""
    return _in_words(duration)
