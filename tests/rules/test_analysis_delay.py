"""Collection to analysis: CFF 2017 statement 5 (analyse within a few hours); Leeds after ACB 2014 (room
temperature <= 24 h). The limit is lab configuration; the default is the same day in the lab's time zone."""

from datetime import UTC, datetime, timedelta

import pytest

from sweattest.core.errors import ValidationError
from sweattest.core.rules.analysis_delay import DelayLimit, check_delay, parse_limit
from sweattest.core.units import Q_

END = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)

# (limit, analysed after the end of collection, flagged, source)
CASES = [
    (DelayLimit(), timedelta(minutes=5), False, "CFF 2017 statement 5: analysed promptly"),
    (DelayLimit(), timedelta(hours=8, minutes=59), False, "default: still 20 November in UTC"),
    (DelayLimit(), timedelta(hours=9, minutes=1), True, "default: analysed the next day"),
    (DelayLimit(None, "America/New_York"), timedelta(hours=8, minutes=59), False, "same day in New York"),
    (DelayLimit(None, "Asia/Tokyo"), timedelta(hours=9, minutes=1), False, "15:00 UTC is already 21 Nov in Tokyo"),
    (DelayLimit(Q_(4, "h")), timedelta(hours=4), False, "CFF 2017: a lab's 4 h limit, exactly 4 h"),
    (DelayLimit(Q_(4, "h")), timedelta(hours=4, seconds=1), True, "CFF 2017: a lab's 4 h limit exceeded"),
    (DelayLimit(Q_(24, "h")), timedelta(hours=25), True, "Leeds after ACB 2014: room temperature <= 24 h"),
]


@pytest.mark.parametrize(("limit", "after", "flagged", "source"), CASES)
def test_delay_past_the_limit_is_flagged(limit, after, flagged, source):
    findings = check_delay(END, END + after, limit, "left_forearm")
    assert bool(findings) is flagged, source
    if flagged:
        assert findings[0].code == "analysis_delayed" and findings[0].severity == "warn"
        assert "CFF 2017" in findings[0].source and "left_forearm" in findings[0].message


@pytest.mark.parametrize(("text", "expected"), [("same day", DelayLimit(None, "UTC")),
                                                ("4 h", DelayLimit(Q_(4, "h"), "UTC"))])
def test_the_limit_is_same_day_or_a_time(text, expected):
    assert parse_limit(text, "UTC", "[analysis] max_delay") == expected


@pytest.mark.parametrize(("text", "match"), [("4", "has no unit"), ("4 kg", "not a time"), ("0 h", "above 0"),
                                             ("tomorrow", "cannot read|no number")])
def test_a_bad_limit_is_refused(text, match):
    with pytest.raises(ValidationError, match=match):
        parse_limit(text, "UTC", "[analysis] max_delay")
