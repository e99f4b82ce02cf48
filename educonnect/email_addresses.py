"""Email addresses, one way: how a typed address is checked and stored, and how
two addresses are compared.

Pure Python (workflows import it): no DNS lookup, syntax only.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from educonnect.errors import DomainError, ErrorCode


def normalized_email(address: str, field: str | None = "email") -> str:
    """The address as stored: spaces around it dropped, the syntax checked, the
    domain normalised (`email_validator`); `email_invalid` otherwise, naming
    `field` in its details (none when `field` is None)."""
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise DomainError(ErrorCode.EMAIL_INVALID, [{"field": field}] if field else None) from None


def email_key(address: str) -> str:
    """What two addresses are compared (and counted) by: the same address whatever its case."""
    return address.lower()
