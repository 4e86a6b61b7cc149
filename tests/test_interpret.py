"""The worksheet service (sweattest.bench.interpret): issue 4 case format, rules applied per site and per test."""

import copy

import pytest

from sweattest.bench.interpret import interpret_case
from sweattest.core.errors import ValidationError

CASE = {
    "method": "macroduct",
    "patient": {"dob": "2025-06-01", "gestational_age_weeks_at_birth": 39, "weight_kg": 4.1},
    "collected_at": "2026-11-20T10:00:00Z",
    "sites": [{"site": "left_forearm", "collection_min": 30, "volume_ul": 22, "chloride_mmol_l": 45},
              {"site": "right_forearm", "collection_min": 30, "volume_ul": 18, "chloride_mmol_l": 41}],
}

GAUZE = {
    "method": "gibson_cooke",
    "patient": {"dob": "2025-06-01"},
    "collected_at": "2026-11-20T10:00:00Z",
    "sites": [{"site": "right_forearm", "collection_min": 30, "pre_weight_mg": 1012.4, "post_weight_mg": 1101.9,
               "eluate_chloride_mmol_l": 11.7, "eluate_volume_ml": 0.2}],
}


def case(base=CASE, **changes):
    doc = copy.deepcopy(base)
    for path, value in changes.items():
        target = doc
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[int(key)] if key.isdigit() else target[key]
        if value is ...:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value
    return doc


def test_macroduct_case():
    out = interpret_case(CASE)
    assert set(out) == {"sites", "interpretation", "wording", "range_set", "repeat_recommended", "withheld",
                        "monitoring", "current_guideline", "adequacy", "findings"}
    left = out["sites"][0]
    assert left == {"site": "left_forearm", "adequate": True, "sample": "22 uL", "sweat_rate_g_m2_min": 1.4,
                    "status": "reported", "reportable_chloride": "45", "chloride_text": "45", "flag": "A",
                    "findings": []}
    assert out["sites"][1]["reportable_chloride"] == "41"
    assert out["interpretation"] == "intermediate"  # CFF 2017: 30-59
    assert out["repeat_recommended"] is True  # CFF 2017: intermediate -> repeat sweat test and CFTR analysis
    assert out["range_set"]["name"] == "cff_2017" and out["withheld"] is None
    assert out["findings"] == []


def test_gauze_case_with_eluate():
    # CLSI C34 App. A: 11.7 x (200 + 89.5) / 89.5 = 37.8 -> "38"; the eluate is within 10-160 mmol/L
    out = interpret_case(GAUZE)
    site = out["sites"][0]
    assert site["sample"] == "89.5 mg"
    assert site["reportable_chloride"] == "38"
    assert out["interpretation"] == "intermediate"


def test_gauze_chloride_entered_directly():
    doc = case(GAUZE, sites__0__eluate_chloride_mmol_l=..., sites__0__eluate_volume_ml=...,
               sites__0__chloride_mmol_l=62.5)
    assert interpret_case(doc)["interpretation"] == "cf_likely"


def test_one_site_qns():
    out = interpret_case(case(sites__1__volume_ul=14.9))
    right = out["sites"][1]
    assert right["adequate"] is False and right["reportable_chloride"] is None
    assert [f["code"] for f in right["findings"]] == ["sample_qns", "sweat_rate_low",
                                                      "chloride_not_reported_qns"]
    assert out["interpretation"] == "intermediate"
    assert [f["code"] for f in out["findings"]] == ["site_qns"]


def test_both_sites_qns():
    out = interpret_case(case(sites__0__volume_ul=10, sites__1__volume_ul=12))
    assert out["interpretation"] is None
    assert out["repeat_recommended"] is True
    assert [f["code"] for f in out["findings"]] == ["test_qns"]


@pytest.mark.parametrize(("chloride", "text", "category"), [
    (9.9, "<10", "cf_unlikely"), (29.4, "29", "cf_unlikely"), (29.5, "30", "intermediate"),
    (59.5, "60", "cf_likely"), (160, "160", "cf_likely"), (160.5, None, None)])
def test_single_site_reporting_boundaries(chloride, text, category):
    # CLSI C34 range and whole-number rounding, CFF 2017 categories
    doc = case(sites=[{"site": "left_forearm", "collection_min": 30, "volume_ul": 20, "chloride_mmol_l": chloride}])
    out = interpret_case(doc)
    assert out["sites"][0]["reportable_chloride"] == text
    assert out["interpretation"] == category
    # CFF 2017: intermediate -> repeat; CLSI C34: not reportable -> repeat
    assert out["repeat_recommended"] is (text is None or category == "intermediate")


def test_bilateral_difference_recommends_repeat():
    # lab default (Mackay 2008): > 10 mmol/L between sites with both < 60
    out = interpret_case(case(sites__0__chloride_mmol_l=20, sites__1__chloride_mmol_l=31))
    assert out["repeat_recommended"] is True
    assert "bilateral_difference" in [f["code"] for f in out["findings"]]


def test_patient_eligibility_findings():
    doc = case(patient={"dob": "2026-11-12", "gestational_age_weeks_at_birth": 34, "weight_kg": 1.9,
                        "conditions": ["eczema"]})
    codes = [f["code"] for f in interpret_case(doc)["findings"]]
    assert codes == ["age_under_10_days", "corrected_ga_under_minimum", "weight_at_or_under_minimum",
                     "condition_eczema"]


# (changes, blocking code, source): a block withholds the interpretation; the test is to be repeated
WITHHELD_CASES = [
    ({"patient__dob": "2026-11-20"}, "age_under_minimum", "CLSI C34; CFF 2007: under 48 hours of age"),
    ({"patient__dob": "2026-11-19"}, "age_under_minimum", "CLSI C34; CFF 2007: about 34 hours of age"),
    ({"sites__0__site": "chest"}, "site_not_allowed", "CLSI C34: never stimulate across the chest"),
]


@pytest.mark.parametrize(("changes", "code", "source"), WITHHELD_CASES)
def test_a_block_withholds_the_interpretation(changes, code, source):
    doc = case(**changes, sites__0__chloride_mmol_l=75, sites__1__chloride_mmol_l=72)
    out = interpret_case(doc)
    assert out["interpretation"] is None, source
    assert code in out["withheld"] and "Repeat the test" in out["withheld"], source
    assert out["repeat_recommended"] is True, source
    assert code in [f["code"] for f in out["findings"]], source
    assert "cf_likely" not in str(out), source


def test_without_a_block_the_same_case_is_interpreted():
    out = interpret_case(case(sites__0__chloride_mmol_l=75, sites__1__chloride_mmol_l=72))
    assert out["interpretation"] == "cf_likely" and out["withheld"] is None


def test_a_worksheet_birth_in_the_future_is_refused():
    with pytest.raises(ValidationError, match="patient.dob"):
        interpret_case(case(patient__dob="2026-11-21"))


def test_long_collection_flagged():
    out = interpret_case(case(sites__0__collection_min=40, sites__0__volume_ul=19))
    assert [f["code"] for f in out["sites"][0]["findings"]][:2] == ["collection_too_long", "sample_qns"]


def test_adequate_site_without_chloride():
    out = interpret_case(case(sites__1__chloride_mmol_l=...))
    assert out["sites"][1]["reportable_chloride"] is None
    assert "chloride_missing" in [f["code"] for f in out["findings"]]


# (changes, field named in the error)
BAD_CASES = [
    ({"method": "pilogel"}, "method"),
    ({"method": ...}, "method"),
    ({"collected_at": "2026-11-20T10:00:00"}, "collected_at"),
    ({"collected_at": "yesterday"}, "collected_at"),
    ({"patient__dob": "01/06/2025"}, "patient.dob"),
    ({"patient__dob": ...}, "patient.dob"),
    ({"patient__dob": "2027-01-01"}, "patient.dob"),
    ({"patient__weight_kg": "4.1"}, "patient.weight_kg"),
    ({"patient__gestational_age_weeks_at_birth": 60}, "patient.gestational_age_weeks_at_birth"),
    ({"patient__conditions": ["flu"]}, "patient.conditions[0]"),
    ({"patient__mrn": "x"}, "patient.mrn"),
    ({"sites": []}, "sites"),
    ({"sites__1__site": "left_forearm"}, "sites"),
    ({"sites__0__volume_ul": ...}, "sites[0].volume_ul"),
    ({"sites__0__volume_ul": -1}, "sites[0].volume_ul"),
    ({"sites__0__volume_ul": True}, "sites[0].volume_ul"),
    ({"sites__0__collection_min": 0}, "sites[0].collection_min"),
    ({"sites__0__pre_weight_mg": 1000}, "sites[0].pre_weight_mg"),
    ({"sites__0__chloride_mmol_l": -3}, "sites[0].chloride_mmol_l"),
    ({"sites__0__colection_min": 30}, "sites[0].colection_min"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_CASES)
def test_bad_input_names_the_field(changes, field):
    doc = case(**changes)
    before = copy.deepcopy(doc)
    with pytest.raises(ValidationError) as err:
        interpret_case(doc)
    assert str(err.value).startswith(field), str(err.value)
    assert "\n" not in str(err.value)
    assert doc == before  # the entered case is left as it was


BAD_GAUZE = [
    ({"sites__0__post_weight_mg": 1000.0}, "sites[0].post_weight_mg"),
    ({"sites__0__pre_weight_mg": 0}, "sites[0].pre_weight_mg"),
    ({"sites__0__pre_weight_mg": ...}, "sites[0].pre_weight_mg"),
    ({"sites__0__volume_ul": 20}, "sites[0].volume_ul"),
    ({"sites__0__eluate_volume_ml": ...}, "sites[0].eluate_volume_ml"),
    ({"sites__0__eluate_volume_ml": 0}, "sites[0].eluate_volume_ml"),
    ({"sites__0__blank_mmol_l": 12}, "sites[0].blank_mmol_l"),
    ({"sites__0__chloride_mmol_l": 40}, "sites[0].chloride_mmol_l"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_GAUZE)
def test_bad_gauze_input_names_the_field(changes, field):
    # CLSI C34: an impossible weight is an error to correct, never a QNS
    with pytest.raises(ValidationError) as err:
        interpret_case(case(GAUZE, **changes))
    assert str(err.value).startswith(field), str(err.value)


def test_not_an_object():
    with pytest.raises(ValidationError, match="case"):
        interpret_case([1, 2])
    with pytest.raises(ValidationError, match=r"sites\[0\]"):
        interpret_case(case(sites=["left_forearm"]))


# (changes, expected site fields, source)
SAFETY_CASES = [
    ({"sites__0__pre_weight_mg": 1000.04, "sites__0__post_weight_mg": 1075.03},
     {"adequate": False, "sample": "74.99 mg", "status": "qns"},
     "CLSI C34: weights keep the balance's precision; 74.99 mg is QNS, not a rounded adequate 75.0"),
    ({"sites__0__eluate_chloride_mmol_l": 3.0, "sites__0__eluate_volume_ml": 1.0},
     {"reportable_chloride": None, "chloride_text": "<10 mmol/L (eluate), not reportable",
      "status": "not_reportable"},
     "CLSI C34: the analyzer's range applies to the eluate; 3.0 mmol/L is never multiplied up to 33"),
]


@pytest.mark.parametrize(("changes", "expected", "source"), SAFETY_CASES)
def test_gauze_precision_and_eluate_range(changes, expected, source):
    out = interpret_case(case(GAUZE, **changes))
    site = out["sites"][0]
    assert {k: site[k] for k in expected} == expected, source
    assert out["interpretation"] is None and out["repeat_recommended"] is True, source


# (case, changes, limit, source)
IMPLAUSIBLE = [
    (CASE, {"sites__0__volume_ul": 5000}, "above the 85 µL maximum (Macroduct 3710 manual",
     "Macroduct 3710 manual: the coil holds about 85 uL"),
    (CASE, {"sites__0__volume_ul": 22000}, "above the 85 µL maximum", "Macroduct 3710 manual"),
    (GAUZE, {"sites__0__post_weight_mg": 1612.5}, "above the 500 mg maximum (CLSI C34 Appendix A",
     "CLSI C34 Appendix A: a gauze yields tens to a few hundred mg"),
]


@pytest.mark.parametrize(("base", "changes", "limit", "source"), IMPLAUSIBLE)
def test_implausible_sample_is_refused_naming_the_limit(base, changes, limit, source):
    doc = case(base, **changes)
    before = copy.deepcopy(doc)
    with pytest.raises(ValidationError) as err:
        interpret_case(doc)
    assert str(err.value).startswith("sites[0]: sample") and limit in str(err.value), source
    assert doc == before


# (ranges, dob, chloride, category, source)
WORKSHEET_RANGES = [
    ("clsi_c34_a3", "2025-06-20", 35, "cf_unlikely", "CLSI C34-A3: 17 months, <= 39 normal"),
    ("uk_2014", "2025-06-20", 60, "intermediate", "ACB 2014: 60 is intermediate"),
    ("uk_2014", "2026-08-01", 30, "intermediate", "ACB 2014: under 6 months 30-60 intermediate"),
    ("cff_2017", "2025-06-20", 60, "cf_likely", "CFF 2017: >= 60 CF likely"),
]


@pytest.mark.parametrize(("ranges", "dob", "chloride", "category", "source"), WORKSHEET_RANGES)
def test_case_chooses_its_range_set(ranges, dob, chloride, category, source):
    doc = case(ranges=ranges, patient__dob=dob,
               sites=[{"site": "left_forearm", "collection_min": 30, "volume_ul": 22, "chloride_mmol_l": chloride}])
    out = interpret_case(doc)
    assert (out["interpretation"], out["range_set"]["name"]) == (category, ranges), source
    assert out["wording"].startswith("Sweat chloride"), source


def test_unknown_range_set_lists_the_known_ones():
    with pytest.raises(ValidationError, match="ranges: unknown range set 'who_2020'; known range sets: cff_2017, "
                                              "clsi_c34_a3, uk_2014"):
        interpret_case(case(ranges="who_2020"))


# The cases of issue 24, as a clinical scientist entered them in the worksheet.
def _two(left, right, **changes):
    return case(sites__0__chloride_mmol_l=left, sites__1__chloride_mmol_l=right, **changes)


def test_c34_a3_infant_of_5_months_30_days_is_intermediate_not_normal():
    # born 21 May, tested 20 November: 5 calendar months 30 days, the infant group of C34-A3 ("up to 6 months")
    out = interpret_case(_two(35, 36, patient__dob="2026-05-21", collected_at="2026-11-20T10:00:00Z",
                              ranges="clsi_c34_a3"))
    assert out["interpretation"] == "intermediate" and out["repeat_recommended"] is True
    assert out["range_set"]["group"] == "age 6 months or under"


def test_uk_2014_at_6_calendar_months_is_the_older_group():
    # born 1 September, tested 1 March: 6 calendar months (181 days): "6 months or over" under ACB 2014
    out = interpret_case(_two(35, 36, patient__dob="2025-09-01", collected_at="2026-03-01T10:00:00Z",
                              ranges="uk_2014"))
    assert out["interpretation"] == "cf_unlikely" and out["range_set"]["group"] == "age 6 months or over"


def test_the_collection_date_is_the_lab_local_date():
    from zoneinfo import ZoneInfo

    # 03:00 UTC on 22 November is 21 November in New York: exactly 6 months there (C34-A3 infant group), 6 months
    # 1 day for a lab in UTC (the older group)
    doc = _two(35, 36, patient__dob="2026-05-21", collected_at="2026-11-22T03:00:00Z", ranges="clsi_c34_a3")
    assert interpret_case(doc, zone=ZoneInfo("America/New_York"))["interpretation"] == "intermediate"
    assert interpret_case(doc)["interpretation"] == "cf_unlikely"


@pytest.mark.parametrize("other", [62, 25])
def test_an_arm_above_160_withholds_the_interpretation(other):
    out = interpret_case(_two(171, other))
    assert out["interpretation"] is None and out["repeat_recommended"] is True
    assert "left forearm chloride above the analyzer's upper limit (physiologically implausible)" in out["withheld"]
    assert [s["flag"] for s in out["sites"]] == [None, None]
    assert out["sites"][1]["reportable_chloride"] == str(other)


def test_bilateral_results_in_different_categories_recommend_a_repeat():
    out = interpret_case(_two(55, 72))
    assert out["interpretation"] == "cf_likely" and out["repeat_recommended"] is True
    [finding] = [f for f in out["findings"] if f["code"] == "bilateral_discordant"]
    assert "different interpretive categories" in finding["message"] and "repeat the test" in finding["message"]


def test_the_lab_sets_the_between_arm_difference_limit():
    from sweattest.core.units import Q_

    assert interpret_case(_two(12, 20))["repeat_recommended"] is False
    out = interpret_case(_two(12, 20), difference_limit=Q_(7, "mmol/L"))
    assert out["repeat_recommended"] is True and "more than 7" in out["findings"][0]["message"]


def test_a_patient_on_a_cftr_modulator_gets_no_diagnostic_category():
    out = interpret_case(_two(45, 41, patient__cftr_modulator="elexacaftor/tezacaftor/ivacaftor"))
    assert out["interpretation"] is None and out["monitoring"] == "elexacaftor/tezacaftor/ivacaftor"
    assert out["wording"].startswith("Monitoring value") and "CFTR genetic" not in out["wording"]
    assert [s["flag"] for s in out["sites"]] == [None, None] and out["repeat_recommended"] is False


def test_the_c34_a3_toddler_report_says_what_cff_2017_calls_the_value():
    out = interpret_case(_two(35, 33, patient__dob="2025-06-01", collected_at="2026-11-20T10:00:00Z",
                              ranges="clsi_c34_a3"))
    assert out["interpretation"] == "cf_unlikely" and "normal." in out["wording"]
    assert out["current_guideline"].startswith("Under CFF 2017, the current guideline, 35 mmol/L is intermediate")


def test_macroduct_21_ul_in_40_min_by_the_lab_adequacy_criterion():
    # 21 uL on 5.3 cm2 in 40 min: 0.99 g/m2/min. By the minimum sample (CLSI C34; CFF 2007: 15 uL x 40/30 = 20 uL)
    # it is adequate; by the sweat rate (Macroduct 3710 manual; ACB 2014: 1 g/m2/min) it is QNS
    doc = case(sites__0__volume_ul=21, sites__0__collection_min=40)
    by_sample = interpret_case(doc)
    assert by_sample["adequacy"]["criterion"] == "minimum_sample" and by_sample["sites"][0]["adequate"] is True
    by_rate = interpret_case(doc, adequacy="sweat_rate")
    assert by_rate["sites"][0]["adequate"] is False and by_rate["sites"][0]["status"] == "qns"
    [qns] = [f for f in by_rate["sites"][0]["findings"] if f["code"] == "sample_qns"]
    assert "sweat rate 0.99 g/m²/min" in qns["message"] and "ACB 2014" in qns["source"]
    # the UK range set's default is the sweat rate; the case may name its criterion
    assert interpret_case(case(doc, ranges="uk_2014"))["sites"][0]["adequate"] is False
    assert interpret_case(case(doc, ranges="uk_2014", adequacy="minimum_sample"))["sites"][0]["adequate"] is True
    with pytest.raises(ValidationError, match="adequacy: 'volume'"):
        interpret_case(case(doc, adequacy="volume"))


def test_sodium_beside_chloride_is_checked_for_plausibility():
    # Ann Clin Biochem 1985: in CF chloride usually exceeds sodium; in non-CF the reverse
    agrees = interpret_case(case(sites__0__chloride_mmol_l=80, sites__0__sodium_mmol_l=70,
                                 sites__1__chloride_mmol_l=20, sites__1__sodium_mmol_l=30))
    assert not [f for s in agrees["sites"] for f in s["findings"] if f["code"] == "sodium_chloride_pattern"]
    odd = interpret_case(case(sites__0__chloride_mmol_l=80, sites__0__sodium_mmol_l=95))
    [finding] = [f for f in odd["sites"][0]["findings"] if f["code"] == "sodium_chloride_pattern"]
    assert "sodium 95 mmol/L is above chloride 80 mmol/L" in finding["message"] and finding["severity"] == "warn"
    assert "Ann Clin Biochem 1985" in finding["source"]
    with pytest.raises(ValidationError, match=r"sites\[0\].sodium_mmol_l: .*never reported alone"):
        interpret_case(case(sites__0__chloride_mmol_l=..., sites__0__sodium_mmol_l=40))
    with pytest.raises(ValidationError, match="sodium_mmol_l"):
        interpret_case(case(sites__0__sodium_mmol_l="40"))  # a number, never a string
