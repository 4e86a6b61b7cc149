"""LIMS CSV schema 4: one row per site, explicit status, UTC times, UTF-8, formula injection neutralized."""

import csv
import io

import pytest

from sweattest.outputs.lims.csv_file import COLUMNS, neutralize, render_csv
from tests.lims.records import record_of, stored


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_demo_rows(demo):
    text = render_csv(demo)
    assert text.startswith(",".join(COLUMNS) + "\r\n")
    left, right = _rows(text)
    assert left["schema_version"] == "4" and left["site"] == "left_forearm" and left["site_status"] == "reported"
    assert (left["chloride_mmol_l"], right["chloride_mmol_l"]) == ("45", "48")
    assert left["sample_amount"] == "40" and left["sample_unit"] == "uL" and left["adequate"] == "true"
    assert left["collection_started_at"] == "2026-03-08T06:05:00Z"
    assert left["result_status"] == "preliminary" and left["report_version"] == "1"
    assert left["test_interpretation_category"] == "intermediate" and left["mrn"] == "MRN0012345"
    assert (left["test_repeat_recommended"], left["range_set"], left["flag"]) == ("true", "cff_2017", "A")
    assert (left["site_adequacy"], left["site_category"]) == ("adequate", "intermediate")


# (sites, method, [(site_status, chloride_mmol_l, chloride_text, flag)], repeat, source)
STATUS_CASES = [
    ({"left_forearm": (10, 45), "right_forearm": "abort"}, "macroduct",
     [("qns", "", "QNS", ""), ("aborted", "", "aborted", "")], "true",
     "Macroduct 3710; CFF 2007: QNS is a status, never a blank chloride (a LIMS reads blank as 0)"),
    ({"left_forearm": "abort"}, "macroduct", [("aborted", "", "aborted", "")], "true",
     "CLSI C34: an aborted test is repeated; repeat_recommended is never blank"),
    ({"left_forearm": (22, 8)}, "macroduct", [("below_range", "", "<10", "N")], "false",
     "CLSI C34: below the analyzer's 10 mmol/L reported as <10; CFF 2017 CF unlikely"),
    ({"left_forearm": (22, 170)}, "macroduct",
     [("not_reportable", "", "not reportable (above the measuring range)", "")], "true",
     "CLSI C34: above 160 not reported, repeat"),
    ({"left_forearm": (100, 3.0)}, "gibson_cooke",
     [("not_reportable", "", "<10 mmol/L (eluate), not reportable", "")], "true",
     "CLSI C34: an eluate below the analyzer's range is not multiplied up to 33"),
    ({"left_forearm": (22, 61)}, "macroduct", [("reported", "61", "61", "H")], "false",
     "CFF 2017: >= 60 CF likely, HL7 table 0078 H"),
]


@pytest.mark.parametrize(("sites", "method", "expected", "repeat", "source"), STATUS_CASES)
def test_every_site_has_an_explicit_status_and_repeat_is_never_blank(sites, method, expected, repeat, source):
    rows = _rows(render_csv(record_of(sites, method)))
    got = [(r["site_status"], r["chloride_mmol_l"], r["chloride_text"], r["flag"]) for r in rows]
    assert got == expected, source
    assert all(r["test_repeat_recommended"] == repeat for r in rows), source
    assert all(r["test_interpretation"] for r in rows), source


def test_a_qns_site_has_its_own_adequacy_and_no_category_beside_the_test_interpretation():
    # the issue: the QNS site's row carried the test's "CF likely" as if it were its own
    qns, adequate = _rows(render_csv(record_of({"left_forearm": (10, 45), "right_forearm": (22, 65)}, "macroduct")))
    assert (qns["site_status"], qns["site_adequacy"], qns["site_category"], qns["flag"]) == ("qns", "QNS", "none", "")
    assert (adequate["site_adequacy"], adequate["site_category"], adequate["flag"]) == ("adequate", "cf_likely", "H")
    assert qns["test_interpretation_category"] == adequate["test_interpretation_category"] == "cf_likely"


def test_weight_keeps_the_balance_precision():
    # CLSI C34: 1075.03 - 1000.04 mg... here 74.99 mg over a 1000 mg container: QNS, and written as 74.99
    [row] = _rows(render_csv(record_of({"left_forearm": (74.99, 45)}, "gibson_cooke")))
    assert (row["sample_amount"], row["sample_unit"], row["adequate"], row["site_status"]) == (
        "74.99", "mg", "false", "qns")


def test_hostile_names_and_comment_survive_and_formulas_are_neutralized(hostile):
    text = render_csv(hostile)
    text.encode("utf-8")
    row = _rows(text)[0]
    assert row["patient_family"] == "O'Brien|Smith^<script>alert(1)</script>&~\\"
    assert row["comment"] == "'=cmd|' /C calc'!A0 patient anxious\nsecond line: see ~ & \\ | ^"


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_neutralize(cell):
    assert neutralize(cell) == "'" + cell


def test_plain_cells_untouched():
    assert neutralize("O'Brien") == "O'Brien" and neutralize("45") == "45"


def test_a_monitoring_value_on_a_cftr_modulator_carries_the_modulator_and_the_change():
    order = {"cftr_modulator": "ivacaftor", "modulator_start": "2026-01-15"}
    record = record_of({"left_forearm": (22, 45), "right_forearm": (22, 48)}, order=order)
    record = stored(record, modulator={"previous_rows": [{"site": "left_forearm", "before": 60, "now": 45,
                                                          "change": -15}]})
    left, right = _rows(render_csv(record))
    assert (left["cftr_modulator"], left["monitoring_value"], left["site_category"]) == ("ivacaftor", "true",
                                                                                       "monitoring")
    assert left["test_interpretation_category"] == "" and left["flag"] == ""
    assert left["test_interpretation"].startswith("Monitoring value")
    assert left["change_from_previous_mmol_l"] == "-15"  # a number, not neutralized into text
    assert right["change_from_previous_mmol_l"] == ""
