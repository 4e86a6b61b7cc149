"""Chloride: eluate formula (CLSI C34 Appendix A, sheet §3), analytical range (CLSI C34, sheet §3),
whole mmol/L rounding half up once at the end (sheet §4)."""

import pytest

from sweattest.core.errors import UnitError, ValidationError
from sweattest.core.rules.chloride import report_chloride, round_half_up, sweat_chloride_from_eluate
from sweattest.core.rules.findings import Severity, codes
from sweattest.core.units import Q_

# (measured mmol/L, text, reportable, repeat_required, source)
REPORT_CASES = [
    (9.9, "<10", True, False, "CLSI C34 (sheet §3): below the 10 mmol/L lower limit reported as <10"),
    (9.6, "<10", True, False, "CLSI C34 (sheet §3): the measured value, not its rounding, is compared"),
    (10, "10", True, False, "CLSI C34 (sheet §3): the lower limit itself is within range"),
    (29.4, "29", True, False, "sheet §4: round half up: 29.4 -> 29"),
    (29.5, "30", True, False, "sheet §4: round half up: 29.5 -> 30"),
    (45, "45", True, False, "CLSI C34: coulometric result as measured"),
    (59.5, "60", True, False, "sheet §4: round half up: 59.5 -> 60"),
    (160, "160", True, False, "CLSI C34 (sheet §3): 160 mmol/L is the upper limit, still reported"),
    (160.1, None, False, True, "CLSI C34 (sheet §3): above 160 not reported; repeat"),
    (200, None, False, True, "CLSI C34 (sheet §3): physiologically implausible"),
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
    # sheet §3: some UK/Australasian labs use 150 mmol/L
    import dataclasses
    uk = dataclasses.replace(macroduct, upper_limit=Q_(150, "mmol/L"))
    assert report_chloride(uk, Q_(150, "mmol/L")).text == "150"
    assert report_chloride(uk, Q_(150.2, "mmol/L")).text is None


def test_value_is_the_whole_number(macroduct):
    assert report_chloride(macroduct, Q_(37.74, "mmol/L")).value == Q_(38, "mmol/L")
    assert report_chloride(macroduct, Q_(0.038, "mol/L")).text == "38"


@pytest.mark.parametrize(("value", "whole"), [
    (29.4, 29), (29.5, 30), (59.5, 60), (0.5, 1), (2.5, 3), (59.49999999999999, 60), (59.4999, 59)])
def test_round_half_up(value, whole):
    # sheet §4: round half up (not to even), once; float noise below 1e-9 ignored
    assert round_half_up(Q_(value, "mmol/L")) == whole


# (eluate mmol/L, eluate mL, sweat mg, blank, expected mmol/L, source)
ELUATE_CASES = [
    (3.1, 1.0, 89.5, None, 3.1 * 1089.5 / 89.5, "CLSI C34 App. A (sheet §3): (eluate + sweat) / sweat"),
    (5.0, 1.0, 100.0, None, 55.0, "CLSI C34 App. A: 5 x 1100 / 100"),
    (5.5, 1.0, 100.0, 0.5, 55.0, "sheet §3: the pad blank is subtracted from the eluate chloride"),
]


@pytest.mark.parametrize(("eluate", "volume", "mass", "blank", "expected", "source"), ELUATE_CASES)
def test_sweat_chloride_from_eluate(gibson_cooke, eluate, volume, mass, blank, expected, source):
    got = sweat_chloride_from_eluate(gibson_cooke, Q_(eluate, "mmol/L"), Q_(volume, "mL"), Q_(mass, "mg"),
                                     None if blank is None else Q_(blank, "mmol/L"))
    assert got.to("mmol/L").magnitude == pytest.approx(expected), source


def test_eluate_only_formula(eluate_only):
    # sheet §3: a protocol may neglect the sweat volume in the numerator
    got = sweat_chloride_from_eluate(eluate_only, Q_(5, "mmol/L"), Q_(1, "mL"), Q_(100, "mg"))
    assert got.magnitude == pytest.approx(50.0)


def test_issue_example_reports_38(gibson_cooke):
    chloride = sweat_chloride_from_eluate(gibson_cooke, Q_(3.1, "mmol/L"), Q_(1, "mL"), Q_(89.5, "mg"))
    assert report_chloride(gibson_cooke, chloride).text == "38"


@pytest.mark.parametrize(("eluate", "volume", "mass", "blank", "match"), [
    (-1, 1, 100, None, "eluate chloride"),
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
