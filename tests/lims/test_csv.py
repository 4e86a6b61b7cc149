"""LIMS CSV schema 2: one row per site, explicit status, UTC times, UTF-8, formula injection neutralized."""

import csv
import io

import pytest

from sweattest.outputs.lims.csv_file import COLUMNS, neutralize, render_csv


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_demo_rows(demo):
    text = render_csv(demo)
    assert text.startswith(",".join(COLUMNS) + "\r\n")
    left, right = _rows(text)
    assert left["schema_version"] == "2" and left["site"] == "left_forearm" and left["site_status"] == "reported"
    assert (left["chloride_mmol_l"], right["chloride_mmol_l"]) == ("45", "48")
    assert left["sample_amount"] == "40.0" and left["sample_unit"] == "uL" and left["adequate"] == "true"
    assert left["collection_started_at"] == "2026-03-08T06:05:00Z"
    assert left["result_status"] == "preliminary" and left["report_version"] == "1"
    assert left["interpretation_category"] == "intermediate" and left["mrn"] == "MRN0012345"


def test_qns_and_aborted_sites_have_explicit_status_never_blank(demo):
    left, right = demo["sites"]
    record = {**demo, "sites": [{**left, "adequate": False, "chloride": None},
                                {**right, "state": "aborted", "abort_reason": "open circuit", "chloride": None}]}
    rows = _rows(render_csv(record))
    assert [r["site_status"] for r in rows] == ["qns", "aborted"]
    assert all(r["chloride_mmol_l"] == "" for r in rows)  # no number at all, and the status says why
    low = {**demo, "sites": [{**left, "chloride": {"value_mmol_l": 8, "reportable": "<10",
                                                   "repeat_required": False}}]}
    [row] = _rows(render_csv(low))
    assert (row["site_status"], row["chloride_mmol_l"], row["chloride_text"]) == ("below_range", "", "<10")


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
