"""QNS age groups (CFF 2007: <= 3 months, > 3 months) by calendar age in the lab's time zone."""

from datetime import UTC, datetime

from sweattest.record.store.derived import INFANT, OLDER, age_group


def order(dob, zone="UTC"):
    return {"patient": {"dob": dob}, "analysis": {"max_delay": "same day", "timezone": zone}}


def test_three_calendar_months_is_the_younger_group_the_day_after_is_older():
    on = datetime(2026, 2, 28, 12, 0, tzinfo=UTC)
    assert age_group(order("2025-11-30"), on) == INFANT    # 2 months 29 days
    assert age_group(order("2025-11-28"), on) == INFANT    # exactly 3 months: "<= 3 months" (CFF 2007)
    assert age_group(order("2025-11-27"), on) == OLDER     # 3 months 1 day
    assert age_group(order("2025-11-30"), datetime(2026, 3, 1, 12, 0, tzinfo=UTC)) == OLDER  # 3 months 1 day


def test_the_test_date_is_the_lab_local_date():
    at = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)  # still 28 February in New York
    assert age_group(order("2025-11-28", "America/New_York"), at) == INFANT
    assert age_group(order("2025-11-28"), at) == OLDER
    assert age_group({"patient": {}}, at) is None
