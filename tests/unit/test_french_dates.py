"""The dates people read, written one way (`educonnect.french_dates`)."""

from datetime import UTC, date, datetime

from educonnect.french_dates import french_date, paris_date_time, utc_date_time


def test_a_day() -> None:
    assert french_date(date(2027, 3, 2)) == "02/03/2027"


def test_a_moment_in_paris_time_winter_and_summer() -> None:
    assert paris_date_time(datetime(2027, 3, 12, 13, 5, 9, tzinfo=UTC)) == "12/03/2027 à 14:05"
    assert paris_date_time(datetime(2027, 7, 1, 22, 30, tzinfo=UTC)) == "02/07/2027 à 00:30"
    assert (
        paris_date_time(datetime(2027, 3, 12, 13, 5, 9, tzinfo=UTC), seconds=True)
        == "12/03/2027 à 14:05:09"
    )


def test_a_workflow_moment_stays_in_utc() -> None:
    assert utc_date_time(datetime(2027, 3, 12, 13, 5, tzinfo=UTC)) == "12/03/2027 à 13:05 UTC"
