"""Sign-off, automatic LIMS delivery, re-export without duplicates, the corrected report end to end."""

import io
import json
import os
from datetime import timedelta

import pypdf
import pytest

from sweattest.cli.main import main
from sweattest.core.clock import VirtualClock
from sweattest.core.config import LabConfig
from sweattest.core.errors import StoreError
from sweattest.outputs.lims.delivery import export_run
from sweattest.outputs.release import amend, sign
from sweattest.record import audit, outbox
from sweattest.record.store.store import open_store
from sweattest.record.users import add_user
from tests.golden.build import RUN_ID, START, demo_order, simulated
from tests.lims.hl7_oracle import field, segments, strict, text

STEM = f"ST-2026-000123_{RUN_ID}"


@pytest.fixture
def signed(tmp_path, monkeypatch):
    """A hostile-named demo run, signed off by a reviewer with a drop folder configured."""
    drop = tmp_path / "drop"
    drop.mkdir()
    cfg = tmp_path / "sweattest.toml"
    cfg.write_text(f'[lab]\ntimezone = "America/New_York"\n[lims]\ndrop_folder = "{drop}"\n', encoding="utf-8")
    monkeypatch.setenv("SWEATTEST_CONFIG", str(cfg))
    _, url = simulated(tmp_path, demo_order(hostile=True))
    store = open_store(url)
    clock = VirtualClock(start=START + timedelta(hours=2))
    add_user(store, "rev1", "Rita Reviewer", "reviewer", "correct horse")
    add_user(store, "tech1", "Tina Tech", "tech", "tech horse")
    sign(store, clock, RUN_ID, "tech1", "tech horse", "performed")
    sign(store, clock, RUN_ID, "rev1", "correct horse", "reviewed")
    yield store, clock, drop, url, cfg
    store.close()


def _as_rev1(monkeypatch, password: str = "correct horse") -> list[str]:
    """The exporting reviewer, with their password on stdin."""
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return ["--as", "rev1", "--password-stdin"]


def test_sign_off_delivers_final_hl7_and_csv_once(signed, capsys, monkeypatch):
    store, clock, drop, url, cfg = signed
    assert sorted(p.name for p in drop.iterdir()) == [f"{STEM}_v1.csv", f"{STEM}_v1.hl7"]
    msg = (drop / f"{STEM}_v1.hl7").read_bytes().decode("utf-8")
    strict(msg)
    assert field(msg, "OBR", 25) == "F" and {o[11] for o in segments(msg, "OBX")} == {"F"}
    assert text(field(msg, "PID", 5).split("^")[0]) == "O'Brien|Smith^<script>alert(1)</script>&~\\"
    assert "result_status" in (drop / f"{STEM}_v1.csv").read_text(encoding="utf-8")
    # exporting the same version again to the same folder creates nothing and records nothing
    before = [e for e in audit.history(store, RUN_ID) if e.what.startswith("export")]
    assert main(["export", RUN_ID, "--format", "hl7", "--db", url, *_as_rev1(monkeypatch)]) == 0
    assert "already delivered" in capsys.readouterr().out
    assert sorted(p.name for p in drop.iterdir()) == [f"{STEM}_v1.csv", f"{STEM}_v1.hl7"]
    after = [e for e in audit.history(store, RUN_ID) if e.what.startswith("export")]
    assert len(before) == len(after) == 2
    assert after[0].who == "rev1" and after[0].new["control_id"] == field(msg, "MSH", 10)
    assert audit.verify(store).intact


def test_export_to_another_folder_is_recorded(signed, tmp_path, capsys, monkeypatch):
    store, clock, drop, url, cfg = signed
    other = tmp_path / "other"
    other.mkdir()
    assert main(["export", RUN_ID, "--format", "csv", "--to", str(other), "--db", url, *_as_rev1(monkeypatch)]) == 0
    assert f"exported {other / (STEM + '_v1.csv')}" in capsys.readouterr().out
    [entry] = [e for e in audit.history(store, RUN_ID) if e.what == "export csv" and e.who == "rev1"
               and e.new["folder"] == str(other.resolve())]
    assert entry.new["folder"] == str(other.resolve()) and entry.new["version"] == 1


def test_failed_write_leaves_no_file_and_the_retry_sends_the_same_message(signed, tmp_path, monkeypatch):
    store, clock, drop, url, cfg = signed
    target = tmp_path / "failing"
    target.mkdir()
    real_replace = os.replace

    def broken(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("sweattest.outputs.files.os.replace", broken)
    with pytest.raises(OSError):
        export_run(store, clock, RUN_ID, "hl7", target, config=LabConfig())
    assert list(target.iterdir()) == []  # no partial file, no temp file left
    [queued] = [e for e in audit.history(store, RUN_ID) if e.what == "export hl7" and e.new["folder"] ==
                str(target.resolve())]  # recorded before the file was renamed into the folder
    monkeypatch.setattr("sweattest.outputs.files.os.replace", real_replace)
    again = export_run(store, clock, RUN_ID, "hl7", target, config=LabConfig())
    assert again.created and again.control_id == queued.new["control_id"]
    assert field(again.path.read_text(encoding="utf-8"), "MSH", 10) == queued.new["control_id"]
    assert [e for e in audit.history(store, RUN_ID) if e.what == "export hl7"].count(queued) == 1
    assert not export_run(store, clock, RUN_ID, "hl7", target, config=LabConfig()).created


def test_failed_audit_write_leaves_no_file_and_no_message(signed, tmp_path, monkeypatch):
    store, clock, drop, url, cfg = signed
    target = tmp_path / "audit-fails"
    target.mkdir()

    def refused(*args, **kwargs):
        raise StoreError("cannot write to the run store: disk I/O error")

    monkeypatch.setattr("sweattest.record.outbox.chain.append_audit", refused)  # the export's audit entry
    with pytest.raises(StoreError):
        export_run(store, clock, RUN_ID, "hl7", target, config=LabConfig())
    assert list(target.iterdir()) == []
    assert [m for m in outbox.messages(store) if m.destination == str(target.resolve())] == []
    monkeypatch.undo()
    assert export_run(store, clock, RUN_ID, "hl7", target, config=LabConfig()).created


def test_corrected_report_end_to_end(signed, tmp_path, capsys, monkeypatch):
    store, clock, drop, url, cfg = signed
    clock.sleep(1800)  # corrected half an hour after the first release
    version = amend(store, clock, RUN_ID, "rev1", "correct horse", changes={"left_forearm.chloride": 62},
                    reason="transcription error\nanalyzer printout re-read")
    assert version == 2
    msg = (drop / f"{STEM}_v2.hl7").read_bytes().decode("utf-8")
    strict(msg)
    chloride = [o for o in segments(msg, "OBX") if o[3].startswith("2077-6^")]
    # OBX-11 C only on what changed (the left chloride); the right arm is sent again as final
    assert [(o[5], o[8], o[11]) for o in chloride] == [("62", "H", "C"), ("48", "A", "F")]
    interpretation = [o for o in segments(msg, "OBX") if o[5].startswith("cf_likely^")]
    assert [o[11] for o in interpretation] == ["C"]  # intermediate -> CF likely: the interpretation changed
    others = [o[11] for o in segments(msg, "OBX") if o not in chloride and o not in interpretation]
    assert others and set(others) == {"F"}  # site, volume, adequacy, rate, times: unchanged, sent as final
    assert field(msg, "OBR", 25) == "C"
    assert field(msg, "OBR", 22) == "20260308083000+0000"  # this version's release time, not the first release
    note = [text(n[3]) for n in segments(msg, "NTE") if "Corrected" in n[3] or "interpretation changed" in n[3]]
    assert note == ["Corrected (version 2, released 2026-03-08T08:30:00+00:00) by Rita Reviewer (rev1): Left forearm "
                    "sweat chloride: 45 -> 62 mmol/L. Reason: transcription error\nanalyzer printout re-read",
                    "The interpretation changed from intermediate to CF likely."]
    assert "CF likely" in text(segments(msg, "NTE")[0][3])
    csv_text = (drop / f"{STEM}_v2.csv").read_text(encoding="utf-8")
    assert ",2,corrected," in csv_text and ",62,62," in csv_text
    out = tmp_path / "corrected.pdf"
    assert main(["report", RUN_ID, "--pdf", "--out", str(out), "--db", url, "--config", str(cfg),
                 *_as_rev1(monkeypatch)]) == 0
    assert "corrected report" in capsys.readouterr().out
    pdf_text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(out.read_bytes())).pages)
    for needle in ("CORRECTED REPORT: version 2 replaces version 1", "Corrections",
                   "45 → 62 mmol/L", "Changed: Left forearm sweat chloride: 45 → 62 mmol/L",
                   "corrected, was 45", "The interpretation changed from intermediate to CF likely",
                   "transcription error", "analyzer printout re-read", "Rita Reviewer (rev1)",
                   "04:30 EDT"):  # after the change to daylight time
        assert needle in pdf_text, needle
    pages = [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(out.read_bytes())).pages]
    assert len(pages) >= 2 and all("CORRECTED REPORT (version 2)" in p for p in pages)  # a banner on every page
    html_out = tmp_path / "corrected.html"
    assert main(["report", RUN_ID, "--out", str(html_out), "--db", url, "--config", str(cfg),
                 *_as_rev1(monkeypatch)]) == 0
    html = html_out.read_text(encoding="utf-8")
    assert "this version (2); first released 2026-03-08 04:00 EDT" in html
    assert "transcription error<br>\nanalyzer printout re-read" in html and "<script>" not in html
    assert audit.verify(store).intact
    # FHIR: DiagnosticReport.issued is this version's release time; the first release is kept beside it
    from sweattest.core.config import LabConfig
    from sweattest.outputs.lims.fhir import render_fhir
    from sweattest.record.record_json import record_document
    from sweattest.record.stored_record import stored_record

    record = stored_record(store, RUN_ID, clock)
    report = record_document(record)["report"]
    assert report["released_at"] == "2026-03-08T08:30:00+00:00"
    assert report["first_released_at"] == "2026-03-08T08:00:00+00:00"
    assert report["corrected_by"] == {"username": "rev1", "name": "Rita Reviewer"}
    assert report["changed"] == {"sites": {"left_forearm": ["chloride"]}, "interpretation": True}
    assert json.loads(render_fhir(record, LabConfig()))["entry"][0]["resource"]["issued"] == "2026-03-08T08:30:00Z"


def test_report_of_unknown_run_is_a_clear_error(signed, tmp_path, capsys, monkeypatch):
    store, clock, drop, url, cfg = signed
    assert main(["report", "R-NOPE", "--db", url, "--out", str(tmp_path / "x.html"), *_as_rev1(monkeypatch)]) == 2
    assert "no run 'R-NOPE'" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


def test_export_needs_a_folder(signed, tmp_path, capsys, monkeypatch):
    store, clock, drop, url, cfg = signed
    monkeypatch.delenv("SWEATTEST_CONFIG")
    assert main(["export", RUN_ID, "--format", "csv", "--db", url, *_as_rev1(monkeypatch)]) == 2
    assert "--to: give the destination folder" in capsys.readouterr().err
    missing = tmp_path / "missing"
    assert main(["export", RUN_ID, "--format", "csv", "--to", str(missing), "--db", url, *_as_rev1(monkeypatch)]) == 2
    assert "not a folder" in capsys.readouterr().err and not missing.exists()


def test_bad_config_stops_the_demo_before_anything_is_written(tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[lab]\ntimezone = 'Nowhere/Else'\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["demo", "--out", str(out), "--db", str(tmp_path / "r.db"), "--config", str(cfg)]) == 2
    assert "[lab] timezone" in capsys.readouterr().err and not out.exists()


def test_an_export_with_a_wrong_password_is_refused_in_one_line(signed, tmp_path, capsys, monkeypatch):
    store, clock, drop, url, cfg = signed
    other = tmp_path / "other"
    other.mkdir()
    before = len(audit.history(store, RUN_ID))
    assert main(["export", RUN_ID, "--format", "csv", "--to", str(other), "--db", url,
                 *_as_rev1(monkeypatch, "not the password")]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "authentication failed" in err
    assert list(other.iterdir()) == [] and len(audit.history(store, RUN_ID)) == before
