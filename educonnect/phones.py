"""Mobile numbers as people type them ("06 12 34 56 78", "+33 6 12 34 56 78")."""

from __future__ import annotations

import phonenumbers

from educonnect.errors import DomainError, ErrorCode

_MOBILE_KINDS = (
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
)


def e164_mobile(raw: str, field: str = "mobile") -> str:
    """The mobile number in E.164 (French when written without a country
    code), or DomainError(PHONE_INVALID) naming `field`: not a number, not a
    valid one, or a landline."""
    try:
        number = phonenumbers.parse(raw, "FR")
    except phonenumbers.NumberParseException:
        raise DomainError(ErrorCode.PHONE_INVALID, [{"field": field}]) from None
    if (
        not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in _MOBILE_KINDS
    ):
        raise DomainError(ErrorCode.PHONE_INVALID, [{"field": field}])
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
