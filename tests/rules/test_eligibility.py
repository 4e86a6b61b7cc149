"""Eligibility: CFF 2017; CFF/CLSI teaching; CLSI C34 (sheet §1, §4). Boundaries cite their source."""

from datetime import UTC, date, datetime, timedelta

import pytest

from sweattest.core.errors import ValidationError
from sweattest.core.rules.eligibility import Override, check_patient, check_site, decide
from sweattest.core.rules.findings import Severity, codes
from sweattest.core.units import Q_

ON = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
BORN = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)

# (born, expected codes, source)
AGE_CASES = [
    (BORN + timedelta(minutes=1), ["age_under_48h"], "sheet §4: under 48 hours of age: block"),
    (BORN, ["age_under_10_days"], "sheet §4: exactly 48 h may be collected; CFF 2017 < 10 days warns"),
    (date(2026, 11, 18), ["age_under_48h"], "sheet §4: date of birth only: born at the end of the day"),
    (date(2026, 11, 17), ["age_under_10_days"], "sheet §4: a date 3 days back is surely >= 48 h"),
    (date(2026, 11, 11), ["age_under_10_days"], "CFF 2017: 9 days: test after 10 days of age"),
    (date(2026, 11, 10), ["age_under_2_weeks"], "CFF/CLSI teaching: 10 days, asymptomatic >= 2 weeks"),
    (date(2026, 11, 7), ["age_under_2_weeks"], "CFF/CLSI teaching: 13 days"),
    (date(2026, 11, 6), [], "CFF/CLSI teaching: 14 days = 2 weeks"),
    (date(2020, 1, 1), [], "CFF 2017: all ages"),
]


@pytest.mark.parametrize(("born", "expected", "source"), AGE_CASES)
def test_age_limits(born, expected, source):
    assert codes(check_patient(born, ON)) == expected, source


def test_under_48h_is_a_block_and_cannot_be_overridden():
    findings = check_patient(BORN + timedelta(hours=1), ON)
    assert findings[0].severity is Severity.BLOCK
    with pytest.raises(ValidationError, match="block cannot be overridden"):
        decide(findings, [Override("age_under_48h", "parents travelling", "tech1")])
    assert decide(findings).allowed is False


# (weight kg, flagged, source)
WEIGHT_CASES = [
    (2.0, True, "CFF 2017: tested once > 2 kg; exactly 2 kg warns"),
    (2.01, False, "CFF 2017: above 2 kg"),
    (1.8, True, "CFF 2017"),
]


@pytest.mark.parametrize(("kg", "flagged", "source"), WEIGHT_CASES)
def test_weight_limit(kg, flagged, source):
    findings = check_patient(date(2026, 1, 1), ON, weight=Q_(kg, "kg"))
    assert ("weight_2kg_or_less" in codes(findings)) is flagged, source




@pytest.mark.parametrize(("ga", "born", "flagged", "source"), [
    (33, date(2026, 10, 30), False, "CFF 2017: 33 w + 21 d = 36.0 w, eligible"),
    (33, date(2026, 10, 31), True, "CFF 2017: 33 w + 20 d = 35.9 w, under 36 weeks"),
    (39, date(2026, 11, 6), False, "CFF 2017: term baby"),
])
def test_corrected_gestational_age(ga, born, flagged, source):
    findings = check_patient(born, ON, gestational_age_weeks_at_birth=ga)
    assert ("corrected_ga_under_36_weeks" in codes(findings)) is flagged, source


def test_contraindications_warn_and_can_be_overridden_with_a_reason():
    findings = check_patient(date(2020, 1, 1), ON, conditions=["eczema", "implanted_device"])
    assert [(f.code, f.severity) for f in findings] == [
        ("condition_eczema", Severity.WARN), ("condition_implanted_device", Severity.WARN)]
    assert decide(findings).allowed is False
    partial = decide(findings, [Override("condition_eczema", "forearms clear", "tech1")])
    assert partial.allowed is False
    done = decide(findings, [Override("condition_eczema", "forearms clear", "tech1"),
                             Override("condition_implanted_device", "cardiology agreed", "tech1")])
    assert done.allowed is True
    assert [o.reason for o in done.overrides] == ["forearms clear", "cardiology agreed"]
    assert "cardiology agreed" in done.findings[-1].message


@pytest.mark.parametrize(("override", "match"), [
    (Override("condition_eczema", "  ", "tech1"), "reason"),
    (Override("condition_oedema", "x", "tech1"), "no such finding"),
])
def test_bad_overrides_are_refused(override, match):
    findings = check_patient(date(2020, 1, 1), ON, conditions=["eczema"])
    with pytest.raises(ValidationError, match=match):
        decide(findings, [override])


def test_sites_and_skin():
    # CLSI C34 (sheet §1): never across chest or head; never over broken skin
    assert check_site("left_forearm") == []
    assert codes(check_site("chest")) == ["site_not_allowed"]
    assert [(f.code, f.severity) for f in check_site("right_forearm", ["broken"])] == [
        ("site_skin_not_intact", Severity.BLOCK)]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"conditions": ["flu"]}, "unknown condition"),
    ({"weight": Q_(0, "kg")}, "weight"),
    ({"gestational_age_weeks_at_birth": 60}, "gestational age"),
])
def test_bad_patient_data(kwargs, match):
    with pytest.raises(ValidationError, match=match):
        check_patient(date(2020, 1, 1), ON, **kwargs)


def test_birth_after_collection_is_an_error():
    with pytest.raises(ValidationError, match="date of birth"):
        check_patient(date(2026, 11, 21), ON)
    with pytest.raises(ValidationError, match="time zone"):
        check_patient(date(2020, 1, 1), ON.replace(tzinfo=None))
