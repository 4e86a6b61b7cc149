"""The one result: range sets (CFF 2017; CLSI C34-A3; ACB 2014 UK guideline), repeat, flags, bilateral rules
(CFF 2007; Macroduct 3710 manual)."""

from datetime import date

import pytest

from sweattest.core.errors import ValidationError
from sweattest.core.rules.adequacy import assess_volume
from sweattest.core.rules.age import calendar_age
from sweattest.core.rules.chloride import report_chloride
from sweattest.core.rules.findings import Severity, codes
from sweattest.core.rules.interpretation import ABORTED_WORDING, QNS_WORDING, interpret
from sweattest.core.rules.ranges import CFF_2017, RANGE_SETS, range_set
from sweattest.core.rules.result import SiteOutcome, SiteStatus
from sweattest.core.units import Q_


def site(protocol, name, chloride, volume=22):
    adequacy = assess_volume(protocol, Q_(volume, "uL"), Q_(30, "min"))
    report = report_chloride(protocol, Q_(chloride, "mmol/L")) if adequacy.adequate else None
    return SiteOutcome(name, adequacy, report)


# (measured mmol/L, category, HL7 OBX-8 flag, repeat, source)
CATEGORY_CASES = [
    (5, "cf_unlikely", "N", False, "CFF 2017: '<10' is CF unlikely; HL7 table 0078 N"),
    (29, "cf_unlikely", "N", False, "CFF 2017: <= 29 CF unlikely"),
    (29.4, "cf_unlikely", "N", False, "CFF 2017; CLSI C34 whole-number rounding: 29.4 -> 29"),
    (29.5, "intermediate", "A", True, "CFF 2017: 29.5 -> 30 intermediate; repeat sweat test and CFTR analysis"),
    (30, "intermediate", "A", True, "CFF 2017: 30-59 intermediate calls for a repeat sweat test and CFTR analysis"),
    (59, "intermediate", "A", True, "CFF 2017: 30-59 intermediate; repeat"),
    (59.4, "intermediate", "A", True, "CFF 2017; CLSI C34 rounding: 59.4 -> 59"),
    (59.5, "cf_likely", "H", False, "CFF 2017; CLSI C34 rounding: 59.5 -> 60"),
    (60, "cf_likely", "H", False, "CFF 2017: >= 60 CF likely; HL7 table 0078 H"),
    (160, "cf_likely", "H", False, "CFF 2017; CLSI C34 upper limit still reportable"),
]


@pytest.mark.parametrize(("measured", "category", "flag", "repeat", "source"), CATEGORY_CASES)
def test_cff_2017_categories_flags_and_repeat(macroduct, measured, category, flag, repeat, source):
    result = interpret([site(macroduct, "left_forearm", measured)])
    assert result.category == category, source
    assert result.sites[0].flag == flag, source
    assert result.repeat_recommended is repeat, source
    assert result.wording == CFF_2017.wording(result.category)
    assert result.ranges.name == "cff_2017"


def test_intermediate_wording_says_repeat_and_cftr(macroduct):
    # CFF 2017: an intermediate result calls for a repeat sweat test and CFTR analysis
    result = interpret([site(macroduct, "left_forearm", 45)])
    assert "repeat the sweat test" in result.wording and "CFTR" in result.wording


# (range set, born, collected, measured, category, source): calendar age (sweattest.core.rules.age)
RANGE_SET_CASES = [
    ("clsi_c34_a3", "2026-01-01", "2026-05-31", 35, "intermediate", "CLSI C34-A3: <= 6 months 30-59 intermediate"),
    ("clsi_c34_a3", "2026-05-21", "2026-11-20", 35, "intermediate",
     "CLSI C34-A3: 5 months 30 days is the infant group (days / 30.44 called it over 6 months)"),
    ("clsi_c34_a3", "2026-05-21", "2026-11-21", 35, "intermediate", "CLSI C34-A3: exactly 6 months is infant"),
    ("clsi_c34_a3", "2026-05-21", "2026-11-22", 35, "cf_unlikely", "CLSI C34-A3: 6 months 1 day is over 6 months"),
    ("clsi_c34_a3", "2025-08-31", "2026-02-28", 35, "intermediate", "CLSI C34-A3: born 31 Aug, 6 months on 28 Feb"),
    ("clsi_c34_a3", "2025-08-31", "2026-03-01", 35, "cf_unlikely", "CLSI C34-A3: born 31 Aug, over 6 months on 1 Mar"),
    ("clsi_c34_a3", "2025-01-01", "2026-06-01", 35, "cf_unlikely", "CLSI C34-A3: 17 months, 35 is normal"),
    ("clsi_c34_a3", "2025-01-01", "2025-11-01", 39, "cf_unlikely", "CLSI C34-A3: > 6 months 39 normal"),
    ("clsi_c34_a3", "2025-01-01", "2025-11-01", 40, "intermediate", "CLSI C34-A3: > 6 months 40-59 intermediate"),
    ("clsi_c34_a3", "2025-01-01", "2025-11-01", 60, "cf_likely", "CLSI C34-A3: >= 60"),
    ("uk_2014", "2026-01-01", "2026-04-10", 29, "cf_unlikely", "ACB 2014: under 6 months < 30 unlikely"),
    ("uk_2014", "2026-01-01", "2026-04-10", 30, "intermediate", "ACB 2014: under 6 months 30-60 intermediate"),
    ("uk_2014", "2026-01-01", "2026-04-10", 60, "intermediate", "ACB 2014: 60 is intermediate under the UK wording"),
    ("uk_2014", "2026-01-01", "2026-04-10", 61, "cf_likely", "ACB 2014: > 60 supports the diagnosis"),
    ("uk_2014", "2025-09-01", "2026-02-28", 35, "intermediate", "ACB 2014: 5 months 27 days is under 6 months"),
    ("uk_2014", "2025-09-01", "2026-03-01", 35, "cf_unlikely",
     "ACB 2014: born 1 Sep, 6 calendar months on 1 Mar is the older group (days / 30.44 said under 6 months)"),
    ("uk_2014", "2024-02-29", "2024-08-28", 35, "intermediate", "ACB 2014: born 29 Feb, 5 months 30 days"),
    ("uk_2014", "2024-02-29", "2024-08-29", 35, "cf_unlikely", "ACB 2014: born 29 Feb, 6 months on 29 Aug"),
    ("uk_2014", "2025-01-01", "2026-02-05", 39, "cf_unlikely", "ACB 2014: from 6 months < 40 unlikely"),
    ("uk_2014", "2025-01-01", "2026-02-05", 40, "intermediate", "ACB 2014: from 6 months 40-60 intermediate"),
    ("uk_2014", "2025-01-01", "2026-02-05", 60, "intermediate", "ACB 2014: 60 is intermediate (CFF 2017: CF likely)"),
    ("uk_2014", "2025-01-01", "2026-02-05", 61, "cf_likely", "ACB 2014: > 60 supports the diagnosis"),
    ("cff_2017", "2025-01-01", "2026-02-05", 60, "cf_likely", "CFF 2017: >= 60 CF likely at all ages"),
]


@pytest.mark.parametrize(("name", "born", "on", "measured", "category", "source"), RANGE_SET_CASES)
def test_range_sets_by_calendar_age(macroduct, name, born, on, measured, category, source):
    rs = range_set(name, calendar_age(date.fromisoformat(born), date.fromisoformat(on)))
    result = interpret([site(macroduct, "left_forearm", measured)], rs)
    assert result.category == category, source
    assert result.wording.startswith(rs.wording(result.category)) and result.ranges is rs, source
    assert (result.current_guideline is not None) is (name == "clsi_c34_a3"), source


def test_superseded_range_set_states_what_cff_2017_calls_the_value(macroduct):
    # the C34-A3 toddler: 35 mmol/L is "normal" over 6 months; CFF 2017 calls it intermediate
    toddler = range_set("clsi_c34_a3", calendar_age(date(2025, 1, 1), date(2026, 6, 1)))
    result = interpret([site(macroduct, "left_forearm", 35)], toddler)
    assert result.category == "cf_unlikely" and toddler.band(result.category).label == "Normal"
    assert result.wording.startswith("Sweat chloride <= 39 mmol/L (age > 6 months): normal.")
    assert ("Under CFF 2017, the current guideline, 35 mmol/L is intermediate (30-59 mmol/L, all ages)"
            in result.wording)
    same = interpret([site(macroduct, "left_forearm", 20)], toddler)
    assert "20 mmol/L is CF unlikely (<= 29 mmol/L, all ages)" in same.wording
    assert interpret([site(macroduct, "left_forearm", 35)]).current_guideline is None  # CFF 2017 itself


def test_range_set_errors(macroduct):
    with pytest.raises(ValidationError, match="age"):
        range_set("clsi_c34_a3")
    with pytest.raises(ValidationError, match="known range sets: cff_2017, clsi_c34_a3, uk_2014"):
        range_set("nccls_1994", calendar_age(date(2026, 1, 1), date(2026, 4, 1)))
    with pytest.raises(ValidationError, match="sites"):
        interpret([])
    assert RANGE_SETS == ("cff_2017", "clsi_c34_a3", "uk_2014")


def test_bilateral_follows_higher_and_flags_discordance(macroduct):
    # sweattest's conservative default (no guideline states it); 31 is intermediate: CFF 2017 repeat
    result = interpret([site(macroduct, "left_forearm", 28), site(macroduct, "right_forearm", 31)])
    assert result.category == "intermediate"
    assert codes(result.findings) == ["bilateral_discordant"]
    assert [s.flag for s in result.sites] == ["N", "A"]
    assert result.repeat_recommended is True


# (left, right, flagged, source)
DIFFERENCE_CASES = [
    (10, 20, False, "lab default (Mackay 2008): a difference of exactly 10 mmol/L is not flagged"),
    (10, 21, True, "lab default (Mackay 2008): > 10 mmol/L with both < 60 flagged, repeat"),
    (49, 60, False, "lab default: the rule applies only when both are < 60"),
    (48, 59, True, "lab default: both < 60, 11 apart"),
    (5, 21, True, "lab default: a '<10' site compared by its limit"),
]


@pytest.mark.parametrize(("left", "right", "flagged", "source"), DIFFERENCE_CASES)
def test_bilateral_difference_limit(macroduct, left, right, flagged, source):
    result = interpret([site(macroduct, "left_forearm", left), site(macroduct, "right_forearm", right)])
    assert ("bilateral_difference" in codes(result.findings)) is flagged, source
    if result.category != "intermediate":
        assert result.repeat_recommended is (flagged or "bilateral_discordant" in codes(result.findings)), source


def test_difference_limit_is_configurable(macroduct):
    sites = [site(macroduct, "left_forearm", 12), site(macroduct, "right_forearm", 20)]
    assert not interpret(sites).repeat_recommended
    assert interpret(sites, difference_limit=Q_(7, "mmol/L")).repeat_recommended


def test_one_site_qns_reports_the_other_with_a_flag(macroduct):
    # Macroduct 3710; CFF 2007: a test is QNS only when both sites are QNS
    result = interpret([site(macroduct, "left_forearm", 0, volume=10), site(macroduct, "right_forearm", 65)])
    assert result.category == "cf_likely"
    assert [(f.code, f.severity) for f in result.findings] == [("site_qns", Severity.WARN)]
    assert [s.status for s in result.sites] == [SiteStatus.QNS, SiteStatus.REPORTED]


# (sites as (chloride, volume, aborted), wording, source): no reportable result -> repeat, never blank
NO_RESULT_CASES = [
    ([(0, 10, False), (0, 14.9, False)], QNS_WORDING, "Macroduct 3710; CFF 2007: both QNS, repeat"),
    ([(0, 10, False), (0, 22, True)], QNS_WORDING, "CFF 2007: the only measured site QNS, repeat"),
    ([(0, 22, True), (0, 22, True)], ABORTED_WORDING, "CLSI C34: an aborted test is repeated"),
    ([(170, 22, False)], "Interpretation withheld: left forearm chloride above the analyzer's upper limit "
     "(physiologically implausible): not a valid result, so the test is not interpreted from the other site. Repeat "
     "the test.", "CLSI C34: above 160 not reported, repeat"),
]


@pytest.mark.parametrize(("sites", "wording", "source"), NO_RESULT_CASES)
def test_no_reportable_result_means_repeat(macroduct, sites, wording, source):
    outcomes = []
    for i, (cl, vol, aborted) in enumerate(sites):
        o = site(macroduct, ["left_forearm", "right_forearm"][i], cl, vol)
        outcomes.append(SiteOutcome(o.site, None if aborted else o.adequacy, None if aborted else o.chloride,
                                    aborted=aborted))
    result = interpret(outcomes)
    assert result.category is None, source
    assert result.wording == wording, source
    assert result.repeat_recommended is True, source
    assert all(s.flag is None for s in result.sites)


def test_adequate_site_without_chloride_is_pending(macroduct):
    adequacy = assess_volume(macroduct, Q_(22, "uL"), Q_(30, "min"))
    result = interpret([SiteOutcome("left_forearm", adequacy, None), site(macroduct, "right_forearm", 20)])
    assert result.category == "cf_unlikely"
    assert codes(result.findings) == ["chloride_missing"]
    assert result.sites[0].status is SiteStatus.PENDING


def test_withheld_interpretation_has_no_category_no_flags_and_repeat(macroduct):
    # "never an interpretation beside a block": the hook a blocking finding fills
    result = interpret([site(macroduct, "left_forearm", 65)], withheld="patient under 48 hours of age")
    assert result.category is None and result.withheld == "patient under 48 hours of age"
    assert result.wording.startswith("Interpretation withheld: patient under 48 hours of age")
    assert result.repeat_recommended is True
    assert result.sites[0].flag is None and result.sites[0].status is SiteStatus.REPORTED


# (the other arm, what the issue saw): one arm above 160 mmol/L withholds the test's interpretation (CLSI C34)
@pytest.mark.parametrize(("other", "was"), [(62, "CF likely"), (25, "CF unlikely")])
def test_an_implausible_arm_withholds_the_interpretation(macroduct, other, was):
    result = interpret([site(macroduct, "left_forearm", 171), site(macroduct, "right_forearm", other)])
    assert result.category is None, f"interpreted from the other arm as {was}"
    assert result.repeat_recommended is True
    assert result.withheld.startswith("left forearm chloride above the analyzer's upper limit (physiologically "
                                      "implausible)")
    assert result.wording.startswith("Interpretation withheld: left forearm chloride above")
    assert result.wording.endswith("Repeat the test.")
    assert [s.flag for s in result.sites] == [None, None] and [s.category for s in result.sites] == [None, None]
    assert result.sites[1].chloride.text == str(other)  # the other arm's value is still shown
    assert ("site_implausible", Severity.BLOCK) in [(f.code, f.severity) for f in result.findings]
    # exactly the upper limit is reportable and interpreted
    assert interpret([site(macroduct, "left_forearm", 160), site(macroduct, "right_forearm", other)]).category


def test_bilateral_results_in_different_categories_recommend_a_repeat_and_say_why(macroduct):
    result = interpret([site(macroduct, "left_forearm", 55), site(macroduct, "right_forearm", 72)])
    assert result.category == "cf_likely" and result.repeat_recommended is True
    [finding] = result.findings
    assert finding.code == "bilateral_discordant"
    assert "left_forearm 55 mmol/L intermediate, right_forearm 72 mmol/L CF likely" in finding.message
    assert "simultaneous collections normally agree" in finding.message and "repeat the test" in finding.message
    assert "Mackay 2008" in finding.source


def test_a_patient_on_a_cftr_modulator_gets_no_diagnostic_category(macroduct):
    result = interpret([site(macroduct, "left_forearm", 45), site(macroduct, "right_forearm", 48)],
                       monitoring="elexacaftor/tezacaftor/ivacaftor")
    assert result.category is None and result.monitoring == "elexacaftor/tezacaftor/ivacaftor"
    assert result.wording.startswith("Monitoring value: the patient is on a CFTR modulator "
                                     "(elexacaftor/tezacaftor/ivacaftor)")
    assert "intermediate" not in result.wording.lower() and "CFTR genetic" not in result.wording
    assert [s.flag for s in result.sites] == [None, None] and result.repeat_recommended is False
    # no reportable value: the usual repeat, no monitoring wording
    qns = interpret([site(macroduct, "left_forearm", 0, volume=5)], monitoring="ivacaftor")
    assert qns.monitoring is None and qns.wording == QNS_WORDING and qns.repeat_recommended
