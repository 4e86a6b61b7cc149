"""Calendar age (sweattest.core.rules.age): years, months and days from the date of birth to the collection date
in the lab's time zone, at month ends and on 29 February; the cut-offs say which group their boundary day is in."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from sweattest.core.errors import ValidationError
from sweattest.core.rules.age import CalendarAge, Cutoff, age_at, calendar_age
from sweattest.core.rules.ranges import AGE_CUTOFFS
from sweattest.record.store.derived import QNS_AGE_CUTOFF

# (born, on, completed months, days)
CASES = [
    ("2026-05-21", "2026-11-20", 5, 30),   # the infant: not 6 months by the calendar
    ("2026-05-21", "2026-11-21", 6, 0),
    ("2025-09-01", "2026-03-01", 6, 0),    # the UK case: 6 calendar months (181 days)
    ("2025-09-01", "2026-02-28", 5, 27),
    ("2025-08-31", "2026-02-28", 6, 0),    # month end: the anniversary is the last day of a shorter month
    ("2025-08-31", "2026-03-01", 6, 1),
    ("2025-08-30", "2026-02-28", 6, 0),
    ("2023-08-31", "2024-02-29", 6, 0),    # leap year: 29 February exists
    ("2023-08-31", "2024-02-28", 5, 28),
    ("2024-02-29", "2025-02-28", 12, 0),   # born on 29 February: 1 year old on 28 February of a common year
    ("2024-02-29", "2025-03-01", 12, 1),
    ("2024-02-29", "2028-02-29", 48, 0),
    ("2024-02-29", "2024-03-29", 1, 0),
    ("2024-01-31", "2024-02-29", 1, 0),
    ("2024-01-31", "2024-03-30", 1, 30),
    ("2024-01-31", "2024-03-31", 2, 0),
    ("2025-12-31", "2026-01-31", 1, 0),    # across the year end
    ("2026-03-08", "2026-03-08", 0, 0),
]


@pytest.mark.parametrize(("born", "on", "months", "days"), CASES)
def test_calendar_age_at_month_ends_and_leap_days(born, on, months, days):
    assert calendar_age(date.fromisoformat(born), date.fromisoformat(on)) == CalendarAge(months, days)


def test_text_and_years():
    assert calendar_age(date(2024, 2, 29), date(2025, 3, 3)).text() == "1 year 0 months 3 days"
    assert calendar_age(date(2026, 5, 21), date(2026, 11, 20)).text() == "5 months 30 days"
    assert calendar_age(date(2026, 3, 1), date(2026, 3, 13)).text() == "12 days"


def test_collection_date_is_taken_in_the_lab_time_zone():
    # 03:30 UTC on 21 November is still 20 November in New York: 5 months 30 days there
    at = datetime.fromisoformat("2026-11-21T03:30:00+00:00")
    assert age_at(date(2026, 5, 21), at, ZoneInfo("America/New_York")) == CalendarAge(5, 30)
    assert age_at(date(2026, 5, 21), at, ZoneInfo("UTC")) == CalendarAge(6, 0)


def test_birth_after_collection_and_naive_times_are_errors():
    with pytest.raises(ValidationError, match="after"):
        calendar_age(date(2026, 3, 2), date(2026, 3, 1))
    with pytest.raises(ValidationError, match="time zone"):
        age_at(date(2026, 3, 1), datetime(2026, 4, 1, 10, 0), ZoneInfo("UTC"))  # noqa: DTZ001 (the bad input)


def test_each_cutoff_says_which_group_its_boundary_day_is_in():
    six, c34, uk = CalendarAge(6, 0), AGE_CUTOFFS["clsi_c34_a3"], AGE_CUTOFFS["uk_2014"]
    assert c34.younger(six) and "up to and including 6 months" in c34.source
    assert not uk.younger(six) and "less than 6 months" in uk.source
    assert c34.younger(CalendarAge(5, 30)) and uk.younger(CalendarAge(5, 30))
    assert not c34.younger(CalendarAge(6, 1))
    assert QNS_AGE_CUTOFF.younger(CalendarAge(3, 0)) and not QNS_AGE_CUTOFF.younger(CalendarAge(3, 1))
    assert Cutoff(6, False, "x").younger(CalendarAge(0, 40))
