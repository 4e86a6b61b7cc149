"""QA analytics: what a QA officer reads from `sweattest qa ...` on a small known data set."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

import pytest

from sweattest.cli import qa as qa_cli
from sweattest.errors import ValidationError
from sweattest.qa.qns import qns_rate
from sweattest.qa.summary import month_summary

NOV = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
OCT = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def add_run(store, run_id, *, at, operator="amy", dob="2020-01-01", qns=None, state="reported",
            method="macroduct", mrn=None, minutes=45):
    store.create_run(run_id, accession=f"A-{run_id}", method=method, operator=operator,
                     patient_mrn=mrn or f"M-{run_id}", created_at=at, order={"patient": {"dob": dob}})
    if state != "created":
        store.set_run_state(run_id, state, at + timedelta(minutes=minutes))
    if qns is not None:
        store.record_result(run_id, {"qns": qns}, who=operator, at=at + timedelta(minutes=minutes))


@pytest.fixture
def lab(store):
    # amy, Nov: 20 older patients, 2 QNS (10 % > 5 % target: breach)
    for i in range(20):
        add_run(store, f"a{i}", at=NOV + timedelta(hours=i), qns=i < 2)
    # amy, Nov: 10 infants (born 2026-09-01: <= 3 months on 2 Nov), 1 QNS (10 %: at target, no breach)
    for i in range(10):
        add_run(store, f"i{i}", at=NOV + timedelta(hours=i), dob="2026-09-01", qns=i == 0)
    # bob, Oct: 10 older patients, none QNS; one aborted without result; one still running
    for i in range(10):
        add_run(store, f"b{i}", at=OCT + timedelta(hours=i), operator="bob", qns=False, method="gibson_cooke")
    add_run(store, "bx", at=OCT, operator="bob", state="aborted")
    add_run(store, "brun", at=OCT + timedelta(days=40), operator="bob", state="created")
    # a repeat: same patient as a0, 3 days later
    add_run(store, "a0r", at=NOV + timedelta(days=3), mrn="M-a0", qns=False)
    return store


def cli(store, *argv):
    parser = argparse.ArgumentParser()
    qa_cli.register(parser.add_subparsers())
    args = parser.parse_args(["qa", *argv, "--db", store.engine.url.render_as_string(hide_password=False)])
    return args.func(args)


def test_qns_rate_by_operator_month_and_age_with_breaches(lab):
    frame = qns_rate(lab)
    rows = {(r.operator, r.month, r.age_group): r for r in frame.itertuples()}
    older = rows[("amy", "2026-11", ">3m")]
    assert (older.tests, older.qns, older.target, older.breach) == (21, 2, 0.05, True)
    infant = rows[("amy", "2026-11", "<=3m")]
    assert (infant.tests, infant.qns, infant.rate, infant.target, infant.breach) == (10, 1, 0.1, 0.1, False)
    assert rows[("bob", "2026-10", ">3m")].tests == 10  # the aborted run without a result is not a test
    assert len(frame) == 3


def test_qns_rate_cli_marks_breaches_and_shows_targets(lab, capsys):
    assert cli(lab, "qns-rate", "--since", "2026-11-01", "--until", "2026-11-30") == 0
    out = capsys.readouterr().out
    breach = [line for line in out.splitlines() if "BREACH" in line]
    assert len(breach) == 1 and "amy" in breach[0] and ">3m" in breach[0] and "9.5%" in breach[0]
    assert "<=10%" in out and "CFF 2007" in out and "bob" not in out


def test_runs_json_lines_have_the_promised_fields(lab, capsys):
    assert cli(lab, "runs", "--operator", "bob", "--format", "json") == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 12
    first = lines[0]
    assert {"run_id", "accession", "status", "operator", "method", "started_at"} <= set(first)
    assert first["started_at"] == "2026-10-05T09:00:00Z" and first["operator"] == "bob"
    assert [r["status"] for r in lines if r["run_id"] == "brun"] == ["created"]


@pytest.mark.parametrize("argv, expected", [
    (["--status", "aborted"], {"bx"}),
    (["--method", "gibson_cooke", "--until", "2026-10-05"], {f"b{i}" for i in range(10)}),
    (["--since", "2026-11-05"], {"a0r", "brun"}),
    (["--since", "2026-11-14", "--until", "2026-11-14"], {"brun"}),
    (["--since", "2026-11-13", "--until", "2026-11-13"], set()),
])
def test_runs_filters(lab, capsys, argv, expected):
    cli(lab, "runs", *argv, "--format", "json")
    assert {json.loads(line)["run_id"] for line in capsys.readouterr().out.splitlines()} == expected


def test_runs_csv_export_to_file(lab, tmp_path, capsys):
    out = tmp_path / "runs.csv"
    cli(lab, "runs", "--format", "csv", "--out", str(out), "--status", "aborted")
    text = out.read_text().splitlines()
    assert text[0].startswith("run_id,accession,status,operator,method,started_at")
    assert text[1].startswith("bx,A-bx,aborted,bob,macroduct,2026-10-05T09:00:00Z")
    assert "1 runs written" in capsys.readouterr().out


def test_runs_table_and_empty_result(lab, capsys):
    cli(lab, "runs", "--operator", "nobody")
    assert capsys.readouterr().out == "no runs match\n"
    cli(lab, "runs", "--status", "aborted")
    assert "2026-10-05 09:00Z" in capsys.readouterr().out


def test_parquet_without_pyarrow_is_a_clear_error(lab, tmp_path):
    pytest.importorskip("pandas")
    try:
        import pyarrow  # noqa: F401
        pytest.skip("pyarrow is installed")
    except ImportError:
        pass
    with pytest.raises(ValidationError, match="needs pyarrow"):
        cli(lab, "runs", "--format", "parquet", "--out", str(tmp_path / "r.parquet"))
    assert not (tmp_path / "r.parquet").exists()


@pytest.mark.parametrize("argv, message", [
    (["runs", "--since", "2026-13-01"], "not a date"),
    (["runs", "--since", "2026-11-02", "--until", "2026-11-01"], "before --since"),
    (["summary", "--month", "2026-11-01"], "not a month"),
])
def test_bad_dates_are_clear_errors(lab, argv, message):
    with pytest.raises(ValidationError, match=message):
        cli(lab, *argv)


def test_month_summary(lab, capsys):
    summary = month_summary(lab, "2026-11")
    assert (summary["runs"], summary["reported"], summary["aborted"], summary["unfinished"]) == (32, 31, 0, 1)
    assert summary["qns"] == 3 and summary["with_result"] == 31
    assert summary["repeats"] == 1
    assert summary["turnaround_median_min"] == 45.0
    october = month_summary(lab, "2026-10")
    assert (october["runs"], october["aborted"], october["qns_rate"]) == (11, 1, 0.0)
    cli(lab, "summary", "--month", "2026-11")
    out = capsys.readouterr().out
    assert "QNS rate           9.7% (3 of 31 with a result)" in out
    assert "repeats            1" in out


def test_summary_of_an_empty_month(lab):
    empty = month_summary(lab, "2025-01")
    assert empty["runs"] == 0 and empty["qns_rate"] is None and empty["turnaround_median_min"] is None
