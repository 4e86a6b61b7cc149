"""Eligibility: CFF 2017; CFF 2007; CLSI C34; ACB 2014 (UK). Boundaries cite their source."""

from datetime import UTC, date, datetime, timedelta

import pytest

from sweattest.core.errors import ValidationError
from sweattest.core.rules.eligibility import Limits, Override, assess, check_patient, check_site, decide
from sweattest.core.rules.findings import Severity, codes, withheld_because
from sweattest.core.units import Q_

ON = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
BORN = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
UK = Limits(min_age=Q_(2, "week"), recommended_age=Q_(2, "week"), min_weight=Q_(3, "kg"))

# (born, expected codes, source)
AGE_CASES = [
    (date(2026, 11, 20), ["age_under_minimum"], "CLSI C34; CFF 2007: born today, under 48 hours: block"),
    (ON - timedelta(hours=47), ["age_under_minimum"], "CLSI C34; CFF 2007: 47 hours: block"),
    (BORN + timedelta(minutes=1), ["age_under_minimum"], "CLSI C34: 1 minute under 48 hours: block"),
    (BORN, ["age_under_10_days"], "CLSI C34: exactly 48 h may be collected; CFF 2017 < 10 days warns"),
    (date(2026, 11, 18), ["age_under_minimum"], "CLSI C34: date of birth only: born at the end of the day"),
    (date(2026, 11, 17), ["age_under_10_days"], "CLSI C34: a date 3 days back is surely >= 48 h"),
    (date(2026, 11, 11), ["age_under_10_days"], "CFF 2017: 9 days: test after 10 days of age"),
    (date(2026, 11, 10), ["age_under_recommended"], "CFF 2007; CLSI C34: 10 days, asymptomatic >= 2 weeks"),
    (date(2026, 11, 7), ["age_under_recommended"], "CFF 2007; CLSI C34: 13 days"),
    (date(2026, 11, 6), [], "CFF 2007; CLSI C34: 14 days = 2 weeks"),
    (date(2020, 1, 1), [], "CFF 2017: all ages"),
]


@pytest.mark.parametrize(("born", "expected", "source"), AGE_CASES)
def test_age_limits(born, expected, source):
    assert codes(check_patient(born, ON)) == expected, source


@pytest.mark.parametrize(("born", "source"), [
    (date(2026, 11, 21), "a date of birth tomorrow is an entry error"),
    (ON + timedelta(minutes=1), "a time of birth after the collection is an entry error"),
])
def test_a_birth_in_the_future_is_an_error(born, source):
    with pytest.raises(ValidationError, match="date of birth is in the future"):
        check_patient(born, ON)


@pytest.mark.parametrize(("born", "expected", "source"), [
    (date(2026, 11, 10), ["age_under_minimum"], "ACB 2014: a UK lab that sets 2 weeks as the minimum: 10 days blocks"),
    (date(2026, 11, 6), ["age_under_minimum"], "ACB 2014: 14 days by date, birth taken at the day's end: block"),
    (date(2026, 11, 5), [], "ACB 2014: 15 days, surely 2 weeks"),
])
def test_a_lab_sets_its_own_minimum_age(born, expected, source):
    assert codes(check_patient(born, ON, limits=UK)) == expected, source


def test_under_the_minimum_age_is_a_block_and_cannot_be_overridden():
    findings = check_patient(BORN + timedelta(hours=1), ON)
    assert findings[0].severity is Severity.BLOCK
    with pytest.raises(ValidationError, match="block cannot be overridden"):
        decide(findings, [Override("age_under_minimum", "parents travelling", "tech1")])
    assert decide(findings).allowed is False


# (weight, limits, flagged, source)
WEIGHT_CASES = [
    (Q_(1.9, "kg"), Limits(), True, "CFF 2017: tested once > 2 kg; 1.9 kg warns"),
    (Q_(2.0, "kg"), Limits(), True, "CFF 2017: > 2 kg; exactly 2 kg warns"),
    (Q_(2.1, "kg"), Limits(), False, "CFF 2017: 2.1 kg is above 2 kg"),
    (Q_(2100, "g"), Limits(), False, "CFF 2017: the same weight in grams"),
    (Q_(2.5, "kg"), UK, True, "ACB 2014: a UK lab's 3 kg limit"),
]


@pytest.mark.parametrize(("weight", "limits", "flagged", "source"), WEIGHT_CASES)
def test_weight_limit(weight, limits, flagged, source):
    findings = check_patient(date(2026, 1, 1), ON, weight=weight, limits=limits)
    assert ("weight_at_or_under_minimum" in codes(findings)) is flagged, source


@pytest.mark.parametrize(("ga_weeks", "born", "flagged", "source"), [
    (35, date(2026, 11, 17), True, "CFF 2017: 35 weeks at birth, 3 days old: 35.4 w, under 36 weeks"),
    (36, date(2026, 11, 17), False, "CFF 2017: 36 weeks at birth, 3 days old: eligible"),
    (35, date(2020, 1, 1), False, "CFF 2017: 35 weeks at birth, now years old: corrected age far above 36"),
    (33, date(2026, 10, 30), False, "CFF 2017: 33 w + 21 d = 36.0 w, eligible"),
    (33, date(2026, 10, 31), True, "CFF 2017: 33 w + 20 d = 35.9 w, under 36 weeks"),
    (34, date(2026, 11, 7), True, "CFF 2017: 34 w + 13 d = 35.9 w, under 36 weeks"),
    (39, date(2026, 11, 6), False, "CFF 2017: term baby"),
])
def test_corrected_gestational_age(ga_weeks, born, flagged, source):
    findings = check_patient(born, ON, gestational_age_at_birth=Q_(ga_weeks, "week"))
    assert ("corrected_ga_under_minimum" in codes(findings)) is flagged, source


# (conditions, overrides, allowed, source): each warning needs its own reason (CLSI C34)
CONDITION_CASES = [
    *[([code], [], False, f"CLSI C34: {code} warns; no reason, no test") for code in
      ("dehydration", "oedema", "systemic_illness", "systemic_corticosteroids", "eczema", "broken_skin",
       "open_oxygen")],
    *[([code], [], False, f"CLSI C34 (2024): {code}: consult first") for code in
      ("implanted_device", "epilepsy", "pregnancy")],
    *[([code], [Override(f"condition_{code}", f"reason for {code}", "tech1")], True,
       f"CLSI C34: {code} overridden with its own reason") for code in
      ("dehydration", "oedema", "systemic_illness", "systemic_corticosteroids", "eczema", "broken_skin",
       "open_oxygen", "implanted_device", "epilepsy", "pregnancy")],
    (["open_oxygen", "eczema"], [Override("condition_eczema", "forearms clear", "tech1")], False,
     "CLSI C34: one reason does not override a fire-risk warning and another at once"),
    (["open_oxygen", "eczema"], [Override("condition_eczema", "forearms clear", "tech1"),
                                 Override("condition_open_oxygen", "oxygen off, nasal cannula", "tech1")], True,
     "CLSI C34: each warning with its own reason"),
]


@pytest.mark.parametrize(("conditions", "overrides", "allowed", "source"), CONDITION_CASES)
def test_condition_warnings_need_their_own_reason(conditions, overrides, allowed, source):
    decision = assess(date(2020, 1, 1), ON, conditions=conditions, overrides=overrides)
    assert all(f.severity is Severity.WARN for f in decision.findings if f.code.startswith("condition_")), source
    assert decision.allowed is allowed, source
    if not allowed:
        assert "its own recorded reason" in decision.refusal(), source
    else:
        assert [o.reason for o in decision.overrides] == [o.reason for o in overrides], source


def test_the_same_warning_overridden_twice_is_refused():
    findings = check_patient(date(2020, 1, 1), ON, conditions=["eczema"])
    with pytest.raises(ValidationError, match="one reason per warning"):
        decide(findings, [Override("condition_eczema", "a", "tech1"), Override("condition_eczema", "b", "tech1")])


@pytest.mark.parametrize(("override", "match"), [
    (Override("condition_eczema", "  ", "tech1"), "reason"),
    (Override("condition_oedema", "x", "tech1"), "no such finding"),
])
def test_bad_overrides_are_refused(override, match):
    findings = check_patient(date(2020, 1, 1), ON, conditions=["eczema"])
    with pytest.raises(ValidationError, match=match):
        decide(findings, [override])


def test_sites_and_skin():
    # CLSI C34: never across chest or head; never over broken skin
    assert check_site("left_forearm") == []
    assert codes(check_site("chest")) == ["site_not_allowed"]
    assert [(f.code, f.severity) for f in check_site("right_forearm", ["broken"])] == [
        ("site_skin_not_intact", Severity.BLOCK)]
    assert assess(date(2020, 1, 1), ON, sites=["chest"]).refusal().startswith("do not stimulate")


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"conditions": ["flu"]}, "unknown condition"),
    ({"weight": Q_(0, "kg")}, "weight"),
    ({"gestational_age_at_birth": Q_(60, "week")}, "gestational age"),
])
def test_bad_patient_data(kwargs, match):
    with pytest.raises(ValidationError, match=match):
        check_patient(date(2020, 1, 1), ON, **kwargs)


def test_collection_time_needs_a_zone():
    with pytest.raises(ValidationError, match="time zone"):
        check_patient(date(2020, 1, 1), ON.replace(tzinfo=None))


# (findings of the case, withheld, source)
@pytest.mark.parametrize(("born", "sites", "withheld", "source"), [
    (date(2026, 11, 20), ["left_forearm"], True, "CLSI C34: under 48 hours: no interpretation"),
    (date(2020, 1, 1), ["chest"], True, "CLSI C34: a site on the chest: no interpretation"),
    (date(2026, 11, 11), ["left_forearm"], False, "CFF 2017: a warning does not withhold it"),
    (date(2020, 1, 1), ["left_forearm"], False, "no finding"),
])
def test_a_block_withholds_the_interpretation(born, sites, withheld, source):
    reason = withheld_because(assess(born, ON, sites=sites).findings)
    assert (reason is not None) is withheld, source
    if withheld:
        assert reason.startswith("interpretation withheld") and "Repeat the test" in reason, source


def test_days_of_age_are_counted_in_the_lab_time_zone():
    # 02:00 UTC on 21 November is still 20 November in New York: born 7 November, 13 days there, 14 in UTC
    at = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
    new_york = __import__("zoneinfo").ZoneInfo("America/New_York")
    assert codes(check_patient(date(2026, 11, 7), at, zone=new_york)) == ["age_under_recommended"]
    assert codes(check_patient(date(2026, 11, 7), at)) == []


def test_an_age_limit_in_months_is_a_calendar_month():
    # a lab recommending testing from 1 month: born 31 January, 1 calendar month old on 28 February (not 30.44 days)
    limits = Limits(recommended_age=Q_(1, "month"))
    on = datetime(2026, 2, 28, 10, 0, tzinfo=UTC)
    assert codes(check_patient(date(2026, 1, 31), on, limits=limits)) == []
    assert codes(check_patient(date(2026, 2, 1), on, limits=limits)) == ["age_under_recommended"]
    with pytest.raises(ValidationError, match="whole months"):
        check_patient(date(2026, 1, 1), on, limits=Limits(recommended_age=Q_(1.5, "month")))
