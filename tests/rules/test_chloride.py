"""Chloride: eluate formula (CLSI C34 Appendix A), the analyzer's measuring range on what it measured
(CLSI C34), whole mmol/L rounding half up once at the end (CLSI C34)."""

import pytest

from sweattest.core.errors import UnitError, ValidationError
from sweattest.core.rules.chloride import (
    ChlorideStatus,
    report_chloride,
    round_half_up,
    site_chloride,
    sweat_chloride_from_eluate,
)
from sweattest.core.rules.findings import Severity, codes
from sweattest.core.units import Q_

# (measured mmol/L, text, reportable, repeat_required, source)
REPORT_CASES = [
    (9.9, "<10", True, False, "CLSI C34 : below the 10 mmol/L lower limit reported as <10"),
    (9.6, "<10", True, False, "CLSI C34 : the measured value, not its rounding, is compared"),
    (10, "10", True, False, "CLSI C34 : the lower limit itself is within range"),
    (29.4, "29", True, False, "CLSI C34: round half up: 29.4 -> 29"),
    (29.5, "30", True, False, "CLSI C34: round half up: 29.5 -> 30"),
    (45, "45", True, False, "CLSI C34: coulometric result as measured"),
    (59.5, "60", True, False, "CLSI C34: round half up: 59.5 -> 60"),
    (160, "160", True, False, "CLSI C34 : 160 mmol/L is the upper limit, still reported"),
    (160.1, "not reportable (above the measuring range)", False, True, "CLSI C34 : above 160 not reported; repeat"),
    (200, "not reportable (above the measuring range)", False, True, "CLSI C34 : physiologically implausible"),
]


@pytest.mark.parametrize(("measured", "text", "reportable", "repeat", "source"), REPORT_CASES)
def test_reportable_chloride(macroduct, measured, text, reportable, repeat, source):
    report = report_chloride(macroduct, Q_(measured, "mmol/L"))
    assert (report.text, report.reportable, report.repeat_required) == (text, reportable, repeat), source


def test_above_range_blocks_and_below_range_informs(macroduct):
    high = report_chloride(macroduct, Q_(170, "mmol/L"))
    assert [(f.code, f.severity) for f in high.findings] == [("chloride_above_range", Severity.BLOCK)]
    low = report_chloride(macroduct, Q_(5, "mmol/L"))
    assert [(f.code, f.severity) for f in low.findings] == [("chloride_below_range", Severity.INFO)]
    assert codes(report_chloride(macroduct, Q_(45, "mmol/L")).findings) == []


def test_upper_limit_is_lab_configurable(macroduct):
    # CLSI C34: the upper limit is lab-configurable; some UK/Australasian labs use 150 mmol/L
    import dataclasses
    uk = dataclasses.replace(macroduct, upper_limit=Q_(150, "mmol/L"))
    assert report_chloride(uk, Q_(150, "mmol/L")).text == "150"
    assert not report_chloride(uk, Q_(150.2, "mmol/L")).reportable


def test_value_is_the_whole_number(macroduct):
    assert report_chloride(macroduct, Q_(37.74, "mmol/L")).value == Q_(38, "mmol/L")
    assert report_chloride(macroduct, Q_(0.038, "mol/L")).text == "38"


@pytest.mark.parametrize(("value", "whole"), [
    (29.4, 29), (29.5, 30), (59.5, 60), (0.5, 1), (2.5, 3), (59.49999999999999, 60), (59.4999, 59)])
def test_round_half_up(value, whole):
    # CLSI C34: whole mmol/L, round half up (not to even), once; float noise below 1e-9 ignored
    assert round_half_up(Q_(value, "mmol/L")) == whole


# (eluate mmol/L, eluate mL, sweat mg, blank, expected mmol/L, source)
ELUATE_CASES = [
    (3.1, 1.0, 89.5, None, 3.1 * 1089.5 / 89.5, "CLSI C34 App. A : (eluate + sweat) / sweat"),
    (5.0, 1.0, 100.0, None, 55.0, "CLSI C34 App. A: 5 x 1100 / 100"),
    (5.5, 1.0, 100.0, 0.5, 55.0, "CLSI C34 App. A: the pad blank is subtracted from the eluate chloride"),
]


@pytest.mark.parametrize(("eluate", "volume", "mass", "blank", "expected", "source"), ELUATE_CASES)
def test_sweat_chloride_from_eluate(gibson_cooke, eluate, volume, mass, blank, expected, source):
    got = sweat_chloride_from_eluate(gibson_cooke, Q_(eluate, "mmol/L"), Q_(volume, "mL"), Q_(mass, "mg"),
                                     None if blank is None else Q_(blank, "mmol/L"))
    assert got.to("mmol/L").magnitude == pytest.approx(expected), source


def test_eluate_only_formula(eluate_only):
    # CLSI C34 Appendix A variant: a protocol may neglect the sweat volume in the numerator
    got = sweat_chloride_from_eluate(eluate_only, Q_(5, "mmol/L"), Q_(1, "mL"), Q_(100, "mg"))
    assert got.magnitude == pytest.approx(50.0)


def test_issue_example_reports_38(gibson_cooke):
    chloride = sweat_chloride_from_eluate(gibson_cooke, Q_(3.1, "mmol/L"), Q_(1, "mL"), Q_(89.5, "mg"))
    assert report_chloride(gibson_cooke, chloride).text == "38"


@pytest.mark.parametrize(("eluate", "volume", "mass", "blank", "match"), [
    (3, 0, 100, None, "eluate volume"),
    (3, 1, 0, None, "sweat weight"),
    (3, 1, 100, 4, "pad blank"),
    (3, 1, 100, -1, "pad blank"),
])
def test_eluate_bad_input(gibson_cooke, eluate, volume, mass, blank, match):
    with pytest.raises(ValidationError, match=match):
        sweat_chloride_from_eluate(gibson_cooke, Q_(eluate, "mmol/L"), Q_(volume, "mL"), Q_(mass, "mg"),
                                   None if blank is None else Q_(blank, "mmol/L"))


def test_chloride_bad_input(macroduct):
    with pytest.raises(ValidationError, match="negative"):
        report_chloride(macroduct, Q_(-2, "mmol/L"))
    with pytest.raises(UnitError, match="chloride"):
        report_chloride(macroduct, Q_(45, "mg"))


# (eluate mmol/L, sweat mg, status, text, source): the measuring range applies to the eluate, before dilution
ELUATE_RANGE_CASES = [
    (3.0, 100.0, ChlorideStatus.NOT_REPORTABLE, "<10 mmol/L (eluate), not reportable",
     "CLSI C34: 3.0 mmol/L eluate is below the analyzer's 10 mmol/L; never multiplied up to 33"),
    (9.9, 100.0, ChlorideStatus.NOT_REPORTABLE, "<10 mmol/L (eluate), not reportable",
     "CLSI C34: the measured eluate, not the computed sweat value, is compared with the limit"),
    (10.0, 1000.0, ChlorideStatus.REPORTED, "20", "CLSI C34 App. A: 10 x 2000 / 1000 = 20, eluate in range"),
    (10.0, 100.0, ChlorideStatus.REPORTED, "110", "CLSI C34 App. A: 10 x 1100 / 100 = 110"),
    (15.0, 100.0, ChlorideStatus.NOT_REPORTABLE, "not reportable (above the measuring range)",
     "CLSI C34: 15 x 1100 / 100 = 165 sweat chloride, above 160: implausible, repeat"),
]


@pytest.mark.parametrize(("eluate", "mass", "status", "text", "source"), ELUATE_RANGE_CASES)
def test_measuring_range_applies_to_the_eluate(gibson_cooke, eluate, mass, status, text, source):
    report = site_chloride(gibson_cooke, Q_(eluate, "mmol/L"), sweat_mass=Q_(mass, "mg"))
    assert (report.status, report.text) == (status, text), source
    assert report.repeat_required is (status is ChlorideStatus.NOT_REPORTABLE), source


def test_eluate_below_range_blocks_and_says_why(gibson_cooke):
    report = site_chloride(gibson_cooke, Q_(3.0, "mmol/L"), sweat_mass=Q_(100, "mg"))
    assert report.value is None and not report.reportable
    [finding] = report.findings
    assert finding.code == "eluate_below_range" and finding.severity is Severity.BLOCK
    assert "never multiplied up" in finding.message and "10 mmol/L" in finding.message


def test_direct_reading_below_range_is_reported_as_less_than(macroduct):
    # CLSI C34: a Macroduct sample measured directly below 10 mmol/L is reported "<10"
    report = site_chloride(macroduct, Q_(3.0, "mmol/L"))
    assert (report.status, report.text, report.comparator, report.value) == (
        ChlorideStatus.BELOW_RANGE, "<10", "<", Q_(10, "mmol/L"))


def test_site_chloride_refuses_a_negative_reading(gibson_cooke):
    with pytest.raises(ValidationError, match="negative"):
        site_chloride(gibson_cooke, Q_(-1, "mmol/L"), sweat_mass=Q_(100, "mg"))
