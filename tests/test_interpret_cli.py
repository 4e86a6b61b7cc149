"""`sweattest interpret CASE.json` / `-`: JSON on stdout; bad input gives one stderr line and exit 2."""

import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sweattest.cli import main as cli_main
from tests.test_interpret import CASE

ROOT = Path(__file__).resolve().parent.parent


def test_interpret_file(tmp_path, capsys):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(CASE), encoding="utf-8")
    assert cli_main.main(["interpret", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["interpretation"] == "intermediate"
    assert [s["reportable_chloride"] for s in out["sites"]] == ["45", "41"]


def test_interpret_stdin(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(CASE)))
    assert cli_main.main(["interpret", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["sites"][0]["sample"] == "22 uL"


@pytest.mark.parametrize(("text", "named"), [
    ('{"method": "macroduct"', "not valid JSON"),
    (json.dumps({**CASE, "collected_at": "2026-11-20"}), "collected_at"),
    (json.dumps({**CASE, "sites": [{"site": "left_forearm", "collection_min": 30}]}), "sites[0].volume_ul"),
    (json.dumps({**CASE, "ranges": "nccls_1994"}), "ranges: unknown range set 'nccls_1994'; known range sets: "
                                                   "cff_2017, clsi_c34_a3, uk_2014"),
    (json.dumps({**CASE, "sites": [{"site": "left_forearm", "collection_min": 30, "volume_ul": 22000}]}),
     "sites[0]: sample volume 22000.0 µL is above the 85 µL maximum"),
    ('{"method": "macroduct", "sites": [{"volume_ul": 22,5}]}', "not valid JSON"),
])
def test_bad_input_one_line_exit_2(tmp_path, capsys, text, named):
    path = tmp_path / "case.json"
    path.write_text(text, encoding="utf-8")
    assert cli_main.main(["interpret", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and named in lines[0]
    assert path.read_text(encoding="utf-8") == text  # the case file is untouched


def test_missing_file(tmp_path, capsys):
    assert cli_main.main(["interpret", str(tmp_path / "nope.json")]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("drivers") is None,
                    reason="the full command line needs the instrument drivers package")
def test_python_dash_m_sweattest_interpret():
    proc = subprocess.run([sys.executable, "-m", "sweattest", "interpret", "-"], input=json.dumps(CASE),
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["interpretation"] == "intermediate"
    bad = subprocess.run([sys.executable, "-m", "sweattest", "interpret", "-"], input="{}",
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1 and "method" in bad.stderr


def _case_with(path: tuple, literal: str) -> str:
    doc = json.loads(json.dumps(CASE))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = "@@VALUE@@"
    return json.dumps(doc).replace('"@@VALUE@@"', literal)


@pytest.mark.parametrize(("path", "literal", "named"), [
    (("sites", 0, "volume_ul"), "NaN", "NaN is not a number; give a finite measured value"),
    (("sites", 0, "chloride_mmol_l"), "Infinity", "Infinity is not a number"),
    (("sites", 0, "collection_min"), "-Infinity", "-Infinity is not a number"),
    (("patient", "weight_kg"), "NaN", "NaN is not a number"),
    (("sites", 0, "volume_ul"), "1e999999", "sites[0].volume_ul: inf is not a finite number"),
    (("sites", 0, "chloride_mmol_l"), "1" + "0" * 400, "sites[0].chloride_mmol_l: a number of 401 digits"),
    (("sites", 0, "volume_ul"), '"9**9**9"', "sites[0].volume_ul: expected a number"),
    (("sites", 0, "volume_ul"), '"35,5"', "sites[0].volume_ul: expected a number"),
    (("sites", 0, "volume_ul"), "2e5", "sites[0].volume_ul: 200000.0 is out of range"),
])
def test_a_worksheet_number_that_is_not_finite_is_refused(tmp_path, capsys, path, literal, named):
    case_file = tmp_path / "case.json"
    text = _case_with(path, literal)
    case_file.write_text(text, encoding="utf-8")
    assert cli_main.main(["interpret", str(case_file)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and named in lines[0], lines
    assert case_file.read_text(encoding="utf-8") == text and sorted(tmp_path.iterdir()) == [case_file]


def test_lab_configuration_chooses_the_range_set_and_the_case_overrides_it(tmp_path, capsys):
    # CLSI C34-A3 vs ACB 2014: a 17-month-old with 40 mmol/L is intermediate under both; 60 splits them
    config = tmp_path / "lab.toml"
    config.write_text('[report]\nranges = "clsi_c34_a3"\n', encoding="utf-8")
    doc = {**CASE, "sites": [{"site": "left_forearm", "collection_min": 30, "volume_ul": 22, "chloride_mmol_l": 35}]}
    path = tmp_path / "case.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert cli_main.main(["interpret", str(path), "--config", str(config)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["range_set"]["name"], out["interpretation"]) == ("clsi_c34_a3", "cf_unlikely")
    path.write_text(json.dumps({**doc, "ranges": "cff_2017"}), encoding="utf-8")
    assert cli_main.main(["interpret", str(path), "--config", str(config)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["range_set"]["name"], out["interpretation"]) == ("cff_2017", "intermediate")
