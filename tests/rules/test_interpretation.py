"""Interpretation: CFF 2017 ranges (sheet §4), bilateral rules (CFF 2007; Macroduct 3710; sheet §4)."""

import pytest

from sweattest.core.errors import ValidationError
from sweattest.core.rules.adequacy import assess_volume
from sweattest.core.rules.chloride import report_chloride
from sweattest.core.rules.findings import Severity, codes
from sweattest.core.rules.interpretation import QNS_WORDING, SiteOutcome, interpret
from sweattest.core.units import Q_


def site(protocol, name, chloride, volume=22):
    adequacy = assess_volume(protocol, Q_(volume, "uL"), Q_(30, "min"))
    report = report_chloride(protocol, Q_(chloride, "mmol/L")) if adequacy.adequate else None
    return SiteOutcome(name, adequacy, report)


# (measured mmol/L, category, source)
CATEGORY_CASES = [
    (5, "cf_unlikely", "CFF 2017: '<10' is CF unlikely"),
    (29, "cf_unlikely", "CFF 2017: <= 29 CF unlikely"),
    (29.4, "cf_unlikely", "CFF 2017 + sheet §4 rounding: 29.4 -> 29"),
    (29.5, "intermediate", "CFF 2017 + sheet §4 rounding: 29.5 -> 30"),
    (30, "intermediate", "CFF 2017: 30-59 intermediate"),
    (59, "intermediate", "CFF 2017: 30-59 intermediate"),
    (59.4, "intermediate", "CFF 2017 + sheet §4 rounding: 59.4 -> 59"),
    (59.5, "cf_likely", "CFF 2017 + sheet §4 rounding: 59.5 -> 60"),
    (60, "cf_likely", "CFF 2017: >= 60 CF likely"),
    (160, "cf_likely", "CFF 2017; CLSI C34 upper limit still reportable"),
]


@pytest.mark.parametrize(("measured", "category", "source"), CATEGORY_CASES)
def test_cff_2017_categories(macroduct, measured, category, source):
    result = interpret([site(macroduct, "left_forearm", measured)])
    assert result.category == category, source
    assert result.wording and result.repeat_recommended is False


# (age days, measured, category, source)
C34_A3_CASES = [
    (150, 35, "intermediate", "CLSI C34-A3: <= 6 months 30-59 intermediate"),
    (300, 35, "cf_unlikely", "CLSI C34-A3: > 6 months <= 39 normal"),
    (300, 39, "cf_unlikely", "CLSI C34-A3: > 6 months 39 normal"),
    (300, 40, "intermediate", "CLSI C34-A3: > 6 months 40-59 intermediate"),
    (300, 60, "cf_likely", "CLSI C34-A3: >= 60"),
]


@pytest.mark.parametrize(("age_days", "measured", "category", "source"), C34_A3_CASES)
def test_older_range_set_is_selectable(macroduct, age_days, measured, category, source):
    result = interpret([site(macroduct, "left_forearm", measured)], ranges="clsi_c34_a3",
                       age=Q_(age_days, "day"))
    assert result.category == category, source


def test_range_set_errors(macroduct):
    with pytest.raises(ValidationError, match="age"):
        interpret([site(macroduct, "l", 40)], ranges="clsi_c34_a3")
    with pytest.raises(ValidationError, match="unknown range set"):
        interpret([site(macroduct, "l", 40)], ranges="nccls_1994")
    with pytest.raises(ValidationError, match="sites"):
        interpret([])


def test_bilateral_follows_higher_and_flags_discordance(macroduct):
    # sheet §4: sweattest's conservative default (no guideline states it)
    result = interpret([site(macroduct, "left_forearm", 28), site(macroduct, "right_forearm", 31)])
    assert result.category == "intermediate"
    assert codes(result.findings) == ["bilateral_discordant"]
    assert result.repeat_recommended is False


# (left, right, flagged, source)
DIFFERENCE_CASES = [
    (20, 30, False, "sheet §4 lab default: a difference of exactly 10 mmol/L is not flagged"),
    (20, 31, True, "sheet §4 lab default: > 10 mmol/L with both < 60 flagged, repeat"),
    (49, 60, False, "sheet §4: the rule applies only when both are < 60"),
    (48, 59, True, "sheet §4: both < 60, 11 apart"),
    (5, 21, True, "sheet §4: '<10' site compared by its measured value"),
]


@pytest.mark.parametrize(("left", "right", "flagged", "source"), DIFFERENCE_CASES)
def test_bilateral_difference_limit(macroduct, left, right, flagged, source):
    result = interpret([site(macroduct, "left_forearm", left), site(macroduct, "right_forearm", right)])
    assert ("bilateral_difference" in codes(result.findings)) is flagged, source
    assert result.repeat_recommended is flagged, source


def test_difference_limit_is_configurable(macroduct):
    sites = [site(macroduct, "left_forearm", 20), site(macroduct, "right_forearm", 28)]
    assert interpret(sites, difference_limit=Q_(7, "mmol/L")).repeat_recommended


def test_one_site_qns_reports_the_other_with_a_flag(macroduct):
    # Macroduct 3710; CFF 2007: a test is QNS only when both sites are QNS
    result = interpret([site(macroduct, "left_forearm", 0, volume=10), site(macroduct, "right_forearm", 65)])
    assert result.category == "cf_likely"
    assert [(f.code, f.severity) for f in result.findings] == [("site_qns", Severity.WARN)]
    assert "left_forearm" in result.findings[0].message


def test_both_sites_qns(macroduct):
    result = interpret([site(macroduct, "left_forearm", 0, volume=10),
                        site(macroduct, "right_forearm", 0, volume=14.9)])
    assert result.category is None
    assert result.wording == QNS_WORDING == "QNS — quantity not sufficient, repeat test"
    assert result.repeat_recommended
    assert codes(result.findings) == ["test_qns"]


def test_unreportable_site_requires_repeat(macroduct):
    result = interpret([site(macroduct, "left_forearm", 170)])
    assert result.category is None and result.repeat_recommended
    both = interpret([site(macroduct, "left_forearm", 170), site(macroduct, "right_forearm", 45)])
    assert both.category == "intermediate" and both.repeat_recommended
    assert codes(both.findings) == ["site_not_reportable"]


def test_adequate_site_without_chloride_is_incomplete(macroduct):
    adequacy = assess_volume(macroduct, Q_(22, "uL"), Q_(30, "min"))
    result = interpret([SiteOutcome("left_forearm", adequacy, None), site(macroduct, "right_forearm", 20)])
    assert result.category == "cf_unlikely"
    assert codes(result.findings) == ["chloride_missing"]
