"""Every error code is declared whole: its HTTP status and its French message,
with the figures it states taken from `educonnect.policies`."""

from __future__ import annotations

import calendar
import re
from datetime import timedelta

import pytest

from educonnect import policies
from educonnect.errors import HTTP_STATUS, MESSAGES, PUPIL_MESSAGES, ErrorCode

# The figures each message states, in order, and the policy each one says.
FIGURES: dict[ErrorCode, list[timedelta | int]] = {
    ErrorCode.CREDENTIALS_EXPIRED: [policies.PROVISIONAL_CREDENTIALS_VALIDITY_MONTHS],
    ErrorCode.RESEND_TOO_SOON: [policies.LINK_RESEND_COOLDOWN],
    ErrorCode.FRANCECONNECT_LINK_EXPIRED: [policies.FRANCECONNECT_LINK_IDLE_TIMEOUT],
    ErrorCode.FRANCECONNECT_MOBILE_LIMIT: [policies.FRANCECONNECT_MOBILES_PER_LINK],
    ErrorCode.SMS_CODE_EXPIRED: [policies.SMS_CODE_VALIDITY],
    ErrorCode.SMS_RESEND_TOO_SOON: [policies.SMS_RESEND_COOLDOWN],
    ErrorCode.SMS_SEND_LIMIT: [policies.SMS_MAX_SENDS],
    ErrorCode.REGISTRATION_EXPIRED: [policies.REGISTRATION_IDLE_TIMEOUT],
    ErrorCode.RECENT_SIGN_IN_REQUIRED: [policies.RECENT_SIGN_IN_MAX_AGE],
    ErrorCode.RECOVERY_RATE_LIMITED: [policies.RECOVERY_CONTACT_WINDOW],
}

_UNITS = {
    "seconde": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "heure": timedelta(hours=1),
}
_FIGURE = re.compile(
    r"\b(?P<count>\d+|une?) (?P<unit>seconde|minute|heure|mois)s?\b|\((?P<number>\d+)\)"
)
_EXAMPLE = re.compile(r"\(exemple : [^)]*\)")  # a UAI or a phone number to copy, not a figure


def figures(text: str) -> list[timedelta | int]:
    """The durations and counts a message states, in order."""
    found: list[timedelta | int] = []
    for m in _FIGURE.finditer(text):
        if m["number"]:
            found.append(int(m["number"]))
            continue
        count = 1 if m["count"] in ("un", "une") else int(m["count"])
        found.append(count if m["unit"] == "mois" else count * _UNITS[m["unit"]])
    return found


@pytest.mark.parametrize("code", list(ErrorCode), ids=str)
def test_every_code_is_complete(code: ErrorCode) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9_]*", code.value)
    assert isinstance(code.status, int) and 400 <= code.status <= 599
    assert HTTP_STATUS[code] == code.status
    assert code.message.strip() and MESSAGES[code] == code.message
    for text in (code.message, PUPIL_MESSAGES.get(code)):
        if text is None:
            continue
        assert "{" not in text and "}" not in text, "a placeholder left unformatted"
        assert figures(text) == FIGURES.get(code, [])
        assert not re.search(r"\d", _FIGURE.sub("", _EXAMPLE.sub("", text))), (
            "a figure written by hand"
        )


def test_codes_are_distinct() -> None:
    assert len({code.value for code in ErrorCode}) == len(ErrorCode)


def test_provisional_credentials_last_the_months_families_read() -> None:
    """92 days: the longest run of three calendar months, so "3 mois" is never less."""
    months = policies.PROVISIONAL_CREDENTIALS_VALIDITY_MONTHS
    lengths = [calendar.monthrange(2027 + m // 12, m % 12 + 1)[1] for m in range(48)]
    longest = max(sum(lengths[i : i + months]) for i in range(len(lengths) - months))
    assert policies.PROVISIONAL_CREDENTIALS_VALIDITY == timedelta(days=longest)
