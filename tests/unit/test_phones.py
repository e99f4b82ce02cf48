"""Typed French mobile numbers to E.164 (`educonnect.phones`), the one
function every route and the school import use."""

from __future__ import annotations

import pytest

from educonnect.csv_import import parse_mobile
from educonnect.errors import DomainError, ErrorCode
from educonnect.phones import e164_mobile


@pytest.mark.parametrize(
    "typed",
    [
        "06 12 34 56 78",
        "0612345678",
        "06.12.34.56.78",
        "+33 6 12 34 56 78",
        "+33612345678",
        "0033612345678",
    ],
)
def test_the_ways_people_type_a_mobile(typed):
    assert e164_mobile(typed) == "+33612345678"


@pytest.mark.parametrize(
    "typed", ["04 78 12 34 56", "06 12 34", "pas un numéro", "", "+33 8 00 00 00 00"]
)
def test_landlines_and_non_numbers_are_refused_naming_the_field(typed):
    with pytest.raises(DomainError) as refused:
        e164_mobile(typed, field="telephone")
    assert refused.value.code == ErrorCode.PHONE_INVALID
    assert refused.value.details == [{"field": "telephone"}]
    assert "06 12 34 56 78" in refused.value.message  # the French example


def test_the_school_import_reads_the_same_numbers():
    assert parse_mobile("06 12 34 56 78") == "+33612345678"
    assert parse_mobile("04 78 12 34 56") is None
