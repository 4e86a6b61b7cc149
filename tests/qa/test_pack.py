"""The accreditation evidence pack against a store built with known values: 20 tests of November by tech1, 2 of
them QNS (10 % against the CFF 5 % target), one day's QC with a 1-3s violation, one amended result; a QNS test
in December outside the period. Its CSV tables, its PDF, and the bad inputs that write nothing."""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from datetime import date, timedelta

import pytest

from sweattest.core.config import LabConfig
from sweattest.qa.pack import EMPTY, SECTION_BUILDERS, build_pack, pack_filter, render_html, tables_zip
from sweattest.record.signoff import amend, sign
from tests.conftest import qa_main
from tests.store import backends
from tests.store.backends import START, make_run

store_url, store, clock = backends.store_url, backends.store, backends.clock  # both backends; empty
NOVEMBER = pack_filter(date(2026, 11, 1), date(2026, 11, 30))


def build_lab(store, clock):
    """The known values of the module's docstring."""
    from sweattest.record.users import add_user

    add_user(store, "tech1", "Tina Tech", "tech", "tech password")
    add_user(store, "rev1", "Rita Reviewer", "reviewer", "review password")
    for n in range(1, 20):
        make_run(store, clock, f"N{n}", volumes=(5, 4) if n in (3, 7) else (40, 40))
    sign(store, clock, "N1", "tech1", "tech password", "performed")
    sign(store, clock, "N1", "rev1", "review password", "reviewed")
    amend(store, clock, "N1", "rev1", "review password", changes={"comment": "haemolysed? no: checked"},
          reason="comment left out at review")
    clock.sleep(timedelta(days=1).total_seconds())
    make_run(store, clock, "N20", qc="rejected")  # the normal control 5 SD high: 1-3s
    clock.sleep(timedelta(days=15).total_seconds())
    make_run(store, clock, "D1", volumes=(3, 3))  # December: outside the period


built_source, lab = backends.built_store(build_lab, "lab")  # both backends; each test on its own copy


def _pack(store):
    return build_pack(store, NOVEMBER, generated_at=START + timedelta(days=30), generated_by="qa1",
                      config=LabConfig())


def test_pack_figures_match_the_known_store(lab):
    pack = _pack(lab)
    sections = {s.key: s for s in pack.sections}
    assert sections["qns_rate"].rows == (("lab", "all operators", ">3m", 20, 2, 10.0, 5.0, "yes"),
                                         ("operator", "tech1", ">3m", 20, 2, 10.0, 5.0, "yes"))
    assert any(">3m: 10.0 % (2 of 20) against 5 %" in n for n in sections["qns_rate"].notes)
    [held] = sections["qc_runs"].rows  # the rejected run, with no corrective action recorded
    assert (held[3], held[4], held[5]) == ("rejected", "westgard_1_3s", "NONE RECORDED")
    assert any("without a corrective action: " + held[1] in n for n in sections["qc_runs"].notes)
    assert sections["qc_days"].rows == () and "2 day(s) with patient tests" in sections["qc_days"].notes[0]
    stats = {(r[2], r[3]): r[4] for r in sections["qc_stats"].rows}
    assert stats[("QCN-2611", "2026-11")] == 2 and stats[("QCN-2611", "all")] == 2
    qc = sections["qc"]
    flagged = [r for r in qc.rows if r[9]]  # both levels of the rejected analytical run; the normal one broke it
    assert sorted((r[2], r[8], r[9], r[10]) for r in flagged) == [("abnormal", 0.0, "1-3s", "yes"),
                                                                  ("normal", 5.0, "1-3s", "yes")]
    assert len(qc.rows) == 4 and len(qc.figures) == 2  # two days of QC, two levels; a chart per level
    assert all(f.startswith(b"\x89PNG") for f in qc.figures)
    [amended] = sections["amendments"].rows
    assert amended[1] == "N1" and amended[3] == 2 and amended[4] == "rev1"
    assert amended[5] == "comment: - -> haemolysed? no: checked" and amended[6] == "comment left out at review"
    turnaround = sections["turnaround"].rows
    assert turnaround[-1][:3] == ("whole period", 20, 1)
    audit = dict(sections["audit_chain"].rows)
    assert audit["verification"] == "intact" and audit["head SHA-256"] == pack.audit_head[1]


def test_csv_tables_hold_the_sections_rows(lab):
    pack = _pack(lab)
    with zipfile.ZipFile(io.BytesIO(tables_zip(pack))) as zf:
        names = set(zf.namelist())
        assert {"pack.csv", "qns_rate.csv", "qc.csv", "turnaround.csv", "amendments.csv",
                "audit_chain.csv"} <= names
        assert len(names) == len(SECTION_BUILDERS) + 1  # one table per section, and the cover
        qns = list(csv.reader(io.StringIO(zf.read("qns_rate.csv").decode("utf-8"))))
        cover = dict(csv.reader(io.StringIO(zf.read("pack.csv").decode("utf-8"))))
        qc = list(csv.DictReader(io.StringIO(zf.read("qc.csv").decode("utf-8"))))
    assert qns == [["scope", "who", "age_group", "tests", "qns", "rate_pct", "target_pct", "breach"],
                   ["lab", "all operators", ">3m", "20", "2", "10.0", "5.0", "yes"],
                   ["operator", "tech1", ">3m", "20", "2", "10.0", "5.0", "yes"]]
    assert cover["from"] == "2026-11-01" and cover["to"] == "2026-11-30"
    assert cover["audit_head_sha256"] == pack.audit_head[1]
    assert [(r["level"], r["z"], r["westgard"]) for r in qc if r["rejected"] == "yes"] == [
        ("abnormal", "0.0", "1-3s"), ("normal", "5.0", "1-3s")]


def test_a_period_without_records_says_so(store):
    pack = _pack(store)
    assert all(not s.rows for s in pack.sections if s.key != "audit_chain")
    html = render_html(pack, LabConfig())
    assert html.count(EMPTY) >= 4


@pytest.fixture(scope="module")
def sqlite_lab(tmp_path_factory):
    """A copy of the known store on SQLite (the one the SQLite tests above copy, built once) for the module's
    commands, which read it and add their user and audit entries."""
    source, _ = backends.built_sqlite(build_lab, tmp_path_factory)
    path = tmp_path_factory.mktemp("pack") / "runs.db"
    shutil.copyfile(source, path)
    return f"sqlite:///{path}"


def test_pack_command_writes_the_pdf_and_its_tables(sqlite_lab, tmp_path, capsys, monkeypatch):
    from pypdf import PdfReader

    out = tmp_path / "evidence" / "nov.pdf"
    out.parent.mkdir()
    assert qa_main(monkeypatch, ["qa", "pack", "--from", "2026-11-01", "--to", "2026-11-30", "--out", str(out),
                 "--db", sqlite_lab]) == 0
    captured = capsys.readouterr()
    assert f"pack: {len(SECTION_BUILDERS)}/{len(SECTION_BUILDERS)} Audit trail" in captured.err
    assert f"wrote {out}" in captured.out
    assert sorted(p.name for p in out.parent.iterdir()) == ["nov-tables.zip", "nov.pdf"]
    text = "\n".join(page.extract_text() for page in PdfReader(out).pages)
    assert "Accreditation evidence pack" in text and "2026-11-01 to 2026-11-30" in text
    assert "10.0" in text and "1-3s" in text and "comment left out at review" in text
    assert "e-signature of QA1 Desk (qa1), QA, meaning approved" in text.replace("\n", " ")
    # no [lab] configured: the cover carries no identity rather than an invented one
    assert "CLIA number" not in text and "Laboratory director" not in text


@pytest.mark.parametrize("argv, message", [
    (["--from", "2026-11-30", "--to", "2026-11-01"], "--from 2026-11-30 is after --to 2026-11-01"),
    (["--from", "2026-11-31", "--to", "2026-12-01"], "--from '2026-11-31': use a date such as"),
    (["--from", "2026-11-01", "--to", "2026-11-30", "--out", "{tmp}/missing/pack.pdf"], "--out"),
    (["--from", "2026-11-01", "--to", "2026-11-30", "--out", "{tmp}/pack.txt"], "ending in .pdf"),
])
def test_bad_input_is_one_line_and_writes_nothing(sqlite_lab, tmp_path, capsys, argv, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert qa_main(monkeypatch, ["qa", "pack", *argv, "--db", sqlite_lab]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_the_lab_wide_qns_rate_is_a_hand_count(store, clock):
    """Two operators, infants (<=3m) and older patients; the figures counted by hand:
    lab >3m: 4 tests, 1 QNS (25.0 %); lab <=3m: 3 tests, 2 QNS (66.7 %);
    tech1 >3m 3/1 (33.3 %), tech1 <=3m 2/1 (50.0 %); tech2 >3m 1/0 (0.0 %), tech2 <=3m 1/1 (100.0 %)."""
    infant = "2026-10-01"  # seven weeks old in November 2026
    tests = [("tech1", None, False), ("tech1", None, True), ("tech1", None, False), ("tech1", infant, True),
             ("tech1", infant, False), ("tech2", None, False), ("tech2", infant, True)]
    for n, (operator, dob, qns) in enumerate(tests):
        make_run(store, clock, f"H{n}", operator=operator, volumes=(5, 4) if qns else (40, 40),
                 **({"dob": dob} if dob else {}))
    rows = {s.key: s for s in _pack(store).sections}["qns_rate"].rows
    assert rows == (("lab", "all operators", "<=3m", 3, 2, 66.7, 10.0, "yes"),
                    ("lab", "all operators", ">3m", 4, 1, 25.0, 5.0, "yes"),
                    ("operator", "tech1", "<=3m", 2, 1, 50.0, 10.0, "yes"),
                    ("operator", "tech1", ">3m", 3, 1, 33.3, 5.0, "yes"),
                    ("operator", "tech2", "<=3m", 1, 1, 100.0, 10.0, "yes"),
                    ("operator", "tech2", ">3m", 1, 0, 0.0, 5.0, "no"))
