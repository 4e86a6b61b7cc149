"""QA views on both backends: run lists with filters and exports, QNS rate per operator/month/age group
with CFF 2007 targets, monthly summary, Levey-Jennings chart with Westgard marks."""

import json
from datetime import timedelta

import pandas as pd
import pytest

from sweattest.core.errors import ValidationError
from sweattest.qa.filters import parse_date
from sweattest.qa.qc_chart import chart_points
from sweattest.qa.qns import format_qns, qns_rate
from sweattest.qa.runs import runs_frame
from sweattest.qa.summary import month_summary
from sweattest.record.run_filter import RunFilter
from sweattest.record.runs import record_event
from tests.conftest import qa_main
from tests.store import backends
from tests.store.backends import START, make_run

store_url, store, clock = backends.store_url, backends.store, backends.clock  # both backends


def _build_lab(store, clock):
    """November: tech1 3 tests of older patients (1 QNS: both sites short), 1 infant test with one QNS site
    (not a QNS test); tech2 1 infant QNS test. December: tech1 1 adequate test. One report."""
    make_run(store, clock, "N1", volumes=(5, 3))
    make_run(store, clock, "N2")
    make_run(store, clock, "N3")
    record_event(store, clock, "N3", "review", data={"reviewer": "rev1"}, actor="rev1")
    clock.sleep(3600)
    record_event(store, clock, "N3", "report", actor="rev1")
    make_run(store, clock, "N4", volumes=(40, 5), dob="2026-10-01")
    make_run(store, clock, "N5", operator="tech2", volumes=(4, 4), dob="2026-09-15")
    clock.sleep(timedelta(days=20).total_seconds())
    make_run(store, clock, "D1")


built_source, lab = backends.built_store(_build_lab, "lab")  # both backends; each test on its own copy


def test_qns_rate_per_operator_month_and_age_group(lab):
    frame = qns_rate(lab)
    rows = {(r.operator, r.month, r.age_group): (r.tests, r.qns, r.rate_pct, r.target_pct, r.breach)
            for r in frame.itertuples()}
    assert rows == {
        ("tech1", "2026-11", ">3m"): (3, 1, 33.3, 5.0, True),
        ("tech1", "2026-11", "<=3m"): (1, 0, 0.0, 10.0, False),
        ("tech2", "2026-11", "<=3m"): (1, 1, 100.0, 10.0, True),
        ("tech1", "2026-12", ">3m"): (1, 0, 0.0, 5.0, False),
    }


def test_qns_rate_command_marks_breaches(lab, capsys, monkeypatch):
    assert qa_main(monkeypatch, ["qa", "qns-rate", "--db", lab.url, "--operator", "tech1", "--to", "2026-11-30"]) == 0
    out = capsys.readouterr().out
    assert "<= 5 % over 3 months, <= 10 % up to 3 months" in out
    [breach] = [line for line in out.splitlines() if "BREACH" in line]
    assert breach.split()[:3] == ["tech1", "2026-11", ">3m"] and "33.3 %" in breach


def test_runs_filters_and_json_lines(lab, capsys, monkeypatch):
    assert qa_main(monkeypatch, ["qa", "runs", "--db", lab.url, "--format", "json", "--from", "2026-11-01", "--to",
                 "2026-11-30", "--operator", "tech1"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["run_id"] for r in records] == ["N1", "N2", "N3", "N4"]
    assert {"run_id", "accession", "status", "operator", "method", "started_at"} <= set(records[0])
    assert records[0]["started_at"].startswith("2026-11-20T09:00:00") and records[0]["qns"] is True
    assert records[2]["status"] == "reported"
    assert list(runs_frame(lab, RunFilter(status="reported"))["run_id"]) == ["N3"]
    assert list(runs_frame(lab, RunFilter(method="gibson_cooke"))["run_id"]) == []


def test_runs_csv_and_parquet_exports(lab, tmp_path, capsys, monkeypatch):
    out = tmp_path / "runs.csv"
    assert qa_main(monkeypatch, ["qa", "runs", "--db", lab.url, "--format", "csv", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("run_id,accession,status,operator,method,started_at") and len(lines) == 7
    parquet = tmp_path / "r.parquet"
    assert qa_main(monkeypatch, ["qa", "runs", "--db", lab.url, "--format", "parquet", "--out", str(parquet)]) == 0
    import pandas as pd

    back = pd.read_parquet(parquet)
    assert list(back.columns[:6]) == ["run_id", "accession", "status", "operator", "method", "started_at"]
    assert len(back) == len(lines) - 1


def test_parquet_without_pyarrow_is_a_clear_error_and_writes_nothing(lab, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)  # as if not installed
    out = tmp_path / "r.parquet"
    assert qa_main(monkeypatch, ["qa", "runs", "--db", lab.url, "--format", "parquet", "--out", str(out)]) == 2
    assert "pip install 'sweattest[parquet]'" in capsys.readouterr().err
    assert not out.exists()


def test_bad_dates_are_clear():
    with pytest.raises(ValidationError, match="use a date such as"):
        parse_date("20/11/2026", "--from")
    with pytest.raises(ValidationError, match="is after"):
        RunFilter(parse_date("2026-12-01", "--from"), parse_date("2026-11-01", "--to")).apply(
            __import__("sqlalchemy").select(1))


def test_month_summary(lab, capsys, monkeypatch):
    s = month_summary(lab, "2026-11")
    assert (s["runs"], s["tests_with_sample"], s["qns_tests"], s["qns_rate_pct"]) == (5, 5, 2, 40.0)
    assert s["repeats"] == 4  # all of November's runs are of patient MRN1; the first is not a repeat
    assert s["reported"] == 1 and s["turnaround_hours_median"] > 1
    assert qa_main(monkeypatch, ["qa", "summary", "--month", "2026-11", "--db", lab.url]) == 0
    assert "QNS rate:    40.0 % (2 of 5 tests with a sample)" in capsys.readouterr().out
    assert qa_main(monkeypatch, ["qa", "summary", "--month", "2026-13", "--db", lab.url]) == 2


def _qc(store, run, values, at):
    from sweattest.record.analytical_qc import judge_and_record

    for level, lot, mean, value in (("normal", "N1", 40.0, values[0]), ("abnormal", "A1", 100.0, values[1])):
        store.add_qc_result(analyzer="CL-1", level=level, lot=lot, target_mean=mean, target_sd=2.0, value=value,
                            qc_run=run, at=at, who="tech1")
    judge_and_record(store, run)


def test_levey_jennings_chart_marks_westgard_violations(store, store_url, tmp_path, capsys, monkeypatch):
    for i, values in enumerate([(40.5, 99.0), (41.0, 101.0), (46.5, 100.5), (44.5, 104.5), (39.0, 100.0)]):
        _qc(store, f"Q{i + 1}", values, START + timedelta(days=i))
    points, target = chart_points(store, "CL-1", "normal")
    assert target == {"lot": "N1", "mean": 40.0, "sd": 2.0}
    marks = {p.qc_run: (p.violations, p.rejected) for p in points}
    assert marks["Q1"] == ((), False)
    assert marks["Q3"] == (("westgard_1_3s",), True)
    assert marks["Q4"][1] and "westgard_2_2s" in marks["Q4"][0]
    out = tmp_path / "lj.png"
    assert qa_main(monkeypatch, ["qa", "qc-chart", "--analyzer", "CL-1", "--level", "normal", "--out", str(out),
                 "--db", store_url]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "5 controls, 2 with Westgard findings" in capsys.readouterr().out
    assert qa_main(monkeypatch, ["qa", "qc-chart", "--analyzer", "CL-9", "--level", "normal", "--out", str(out),
                 "--db", store_url]) == 2
    assert "no QC results" in capsys.readouterr().err


def test_workspace_queries_on_both_backends(lab):
    """Monthly QNS and turnaround trends, the QC choices and the review queue, from SQL on either backend."""
    from sweattest.qa.trend import qns_trend, turnaround_trend
    from sweattest.qa.workspace import awaiting_signature
    from sweattest.record.analytical_qc import qc_choices
    from sweattest.record.qc_lots import DEFAULT_ANALYZER as ANALYZER

    assert qns_trend(lab) == [{"month": "2026-11", "tests": 5, "qns": 2, "rate_pct": 40.0, "breach": True},
                              {"month": "2026-12", "tests": 1, "qns": 0, "rate_pct": 0.0, "breach": False}]
    n3 = lab.get_run("N3")
    hours = round((n3["reported_at"] - n3["created_at"]).total_seconds() / 3600.0, 1)
    assert turnaround_trend(lab) == [
        {"month": "2026-11", "runs": 5, "reported": 1, "median_h": hours, "p90_h": hours},
        {"month": "2026-12", "runs": 1, "reported": 0, "median_h": None, "p90_h": None}]
    assert qc_choices(lab) == {ANALYZER: ["abnormal", "normal"]}
    mine = [(row["run_id"], meaning) for row, meaning in awaiting_signature(lab, "tech1", "tech")]
    assert mine == [("N1", "performed"), ("N2", "performed"), ("N3", "performed"), ("N4", "performed"),
                    ("D1", "performed")]
    review = [(row["run_id"], meaning) for row, meaning in awaiting_signature(lab, "rev1", "reviewer")]
    assert review == [("N1", "reviewed"), ("N2", "reviewed"), ("N4", "reviewed"), ("N5", "reviewed"),
                      ("D1", "reviewed")]
    assert [(row["run_id"], meaning) for row, meaning in awaiting_signature(lab, "tech2", "tech")] == [
        ("N5", "performed")]


def test_free_search_on_both_backends(lab):
    """Accession, MRN, names (in any case, not only ASCII) and operators by part, narrowed in SQL."""
    from sweattest.qa.workspace import find_runs
    from sweattest.record.run_filter import RunFilter

    make_run(lab, lab.clock, "U1", patient={"mrn": "MRN-9_1%", "family": "Müller", "given": "Zoë"}, operator="tech2")
    names = {"tech1": "Tina Tech", "tech2": "Ülrich Second"}

    def found(text):
        rows, total = find_runs(lab, RunFilter(), text, names, 100)
        assert total == len(rows)
        return [r["run_id"] for r in rows]

    assert found("st-n3") == ["N3"] and found("9_1%") == ["U1"] and found("9%") == []
    assert found("müller") == ["U1"] and found("MÜLLER") == ["U1"] and found("zoë müller") == ["U1"]
    assert found("müller, zoë") == ["U1"] and found("ülrich") == ["U1", "N5"] and found("ina te") == [
        "D1", "N4", "N3", "N2", "N1"]
    assert found("nobody") == [] and len(found("doe")) == 6


def test_qns_table_columns_stay_aligned_under_a_long_operator_name():
    frame = pd.DataFrame([{"operator": "simulated-tech (demo)", "month": "2026-11", "age_group": ">3m", "tests": 2,
                           "qns": 0, "rate_pct": 0.0, "target_pct": 5.0, "breach": False},
                          {"operator": "tech1", "month": "2026-11", "age_group": ">3m", "tests": 12, "qns": 2,
                           "rate_pct": 16.7, "target_pct": 5.0, "breach": True}])
    header, *rows = format_qns(frame).splitlines()[1:]
    assert [r.index("2026-11") for r in rows] == [header.index("month")] * 2
    assert rows[1].endswith("BREACH")
