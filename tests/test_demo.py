"""`sweattest demo`: a complete simulated bilateral Macroduct test, end to end, on the virtual clock."""

import io
import json

import pytest
import sqlalchemy as sa

from sweattest.cli.demo import SIMULATED_ACTOR
from sweattest.cli.main import main
from sweattest.record.audit import verify
from sweattest.record.store.store import open_store, schema
from sweattest.record.users import add_user
from tests.store import backends
from tests.store.test_record_chain import _tamper

store_url = backends.store_url  # both backends


def test_demo_runs_a_bilateral_test_and_writes_its_files(tmp_path, db_url, capsys):
    out = tmp_path / "out"
    assert main(["demo", "--out", str(out), "--db", db_url]) == 0
    text = capsys.readouterr().out
    # each step as it happens, live current during stimulation, a countdown during collection
    assert "start_stimulation" in text and "stimulating left_forearm" in text and " mA " in text
    assert "collecting  right_forearm" in text and "left" in text
    assert "interpretation: " in text and f"Files written to {out}" in text
    files = sorted(p.name.split(".", 1)[1] for p in out.iterdir())
    assert files == ["csv", "fhir.json", "hl7", "html", "json", "pdf"]  # a file of each LIMS format
    [path] = [p for p in out.glob("*.json") if not p.name.endswith(".fhir.json")]
    record = json.loads(path.read_text())
    assert [s["site"] for s in record["sites"]] == ["left_forearm", "right_forearm"]
    for site in record["sites"]:
        assert site["state"] == "result_ready" and site["adequate"] is True
        assert float(site["stimulation"]["charge"].split()[0]) > 6.9
    assert [s["chloride"]["text"] for s in record["sites"]] == ["45", "48"] or all(
        40 <= int(s["chloride"]["text"]) <= 53 for s in record["sites"])
    assert record["interpretation"]["category"] == "intermediate"
    html = next(out.glob("*.html")).read_text()
    assert "ST-2026-000123" in html and "Doe, Jane" in html
    store = open_store(db_url)
    try:
        [run] = store.list_runs()
        assert run["run_id"] == record["run_id"] and run["state"] == "result_ready"
        events = store.events(record["run_id"])
        assert events[0].kind == "verify_patient" and all(e.accepted for e in events)
        samples = store.readings(record["run_id"], site="left_forearm", kind="stimulation_sample")
        assert len(samples) >= 300 * 10  # 10 Hz for 5 minutes, every sample kept
    finally:
        store.close()


def test_python_dash_m_works_too(tmp_path, db_url):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "sweattest", "protocol", "list"], capture_output=True,
                          text=True, cwd=tmp_path, env={"PYTHONPATH": str(__import__("pathlib").Path(
                              __file__).resolve().parents[1]), "PATH": ""}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "macroduct" in proc.stdout and "gibson_cooke" in proc.stdout


@pytest.fixture
def lab_store(store_url):
    """A lab's store: it has users."""
    store = open_store(store_url, backends.VirtualClock(start=backends.START))
    try:
        add_user(store, "tech1", "Tina Tech", "tech", "tech password", actor="setup")
    finally:
        store.close()
    return store_url


def _audit(url: str) -> list[dict]:
    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(schema.audit).order_by(schema.audit.c.id)).mappings()]
    finally:
        store.close()


def test_the_demo_in_a_store_with_users_is_started_by_a_bench_user_who_signs_in(lab_store, tmp_path, monkeypatch,
                                                                                 capsys):
    """A store that has users is a lab's: the demo asks who starts it, and their password, before it reads or
    writes anything; the run's operator stays the simulated tech, its creation is audited as the user's."""
    out, before = tmp_path / "out", _audit(lab_store)
    argv = ["demo", "--out", str(out), "--db", lab_store]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "this store has users (a lab's store): give --as USER, a tech or reviewer" in err
    assert _audit(lab_store) == before and not out.exists()
    monkeypatch.setattr("sys.stdin", io.StringIO("not the password\n"))
    assert main([*argv, "--as", "tech1", "--password-stdin"]) == 1
    assert "authentication failed" in capsys.readouterr().err
    assert [e["what"] for e in _audit(lab_store)[len(before):]] == ["wrong_password"] and not out.exists()
    monkeypatch.setattr("sys.stdin", io.StringIO("tech password\n"))
    assert main([*argv, "--as", "tech1", "--password-stdin"]) == 0
    capsys.readouterr()
    store = open_store(lab_store)
    try:
        [run] = store.list_runs()
        assert (run["purpose"], run["operator"], run["state"]) == ("simulated", SIMULATED_ACTOR, "result_ready")
        assert store.get_run(run["run_id"])["order"]["started_by"] == "tech1"
        assert verify(store).intact
    finally:
        store.close()
    [created] = [e for e in _audit(lab_store) if e["what"] == "create_run"]
    assert created["who"] == "tech1" and json.loads(created["new"])["started_by"] == "tech1"
    assert json.loads(created["new"])["operator"] == SIMULATED_ACTOR


def test_a_lab_store_whose_users_were_deleted_behind_the_programs_back_is_still_a_lab_store(lab_store, tmp_path,
                                                                                          monkeypatch, capsys):
    """Deleting every account (guards dropped, as the database's owner could) made the demo take the lab's store
    for a new one and write into it with no user: it still asks who starts it, and nobody can sign in."""
    store = open_store(lab_store)
    try:
        _tamper(store, "DELETE FROM users")
    finally:
        store.close()
    out, before = tmp_path / "out", _audit(lab_store)
    argv = ["demo", "--out", str(out), "--db", lab_store]
    assert main(argv) == 2
    assert "this store has users (a lab's store): give --as USER" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("tech password\n"))
    assert main([*argv, "--as", "tech1", "--password-stdin"]) == 1
    assert "authentication failed" in capsys.readouterr().err
    assert _audit(lab_store) == before and not out.exists()
    store = open_store(lab_store)
    try:
        assert store.list_runs() == [] and not verify(store).intact  # the deletion itself is named
    finally:
        store.close()
