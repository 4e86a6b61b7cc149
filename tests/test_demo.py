"""`sweattest demo`: a complete simulated bilateral Macroduct test, end to end, on the virtual clock."""

import json

from sweattest.cli.main import main
from sweattest.record.store.store import open_store


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
