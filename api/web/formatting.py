"""How pages write what a French reader sees (dates: `educonnect.french_dates`)."""

from __future__ import annotations


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
