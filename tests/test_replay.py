"""Write-ahead: a run's state is rebuilt from its recorded events and matches what the runner had."""

import shutil
from dataclasses import replace

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from sweattest.cli.main import main
from sweattest.record.record_json import load_record, record_document
from sweattest.record.runs import load_run
from sweattest.record.store import schema
from sweattest.record.store.store import open_store
from sweattest.record.stored_record import stored_run_record
from tests.conftest import as_performer

FROZEN = "2026-11-20 09:00:00"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo run at FROZEN, once for the module: its store and its output folder."""
    folder = tmp_path_factory.mktemp("demo")
    with freeze_time(FROZEN):
        assert main(["demo", "--out", str(folder / "a"), "--db", f"sqlite:///{folder / 'runs.db'}"]) == 0
    return folder


@pytest.fixture
def demo_db(demo, tmp_path, db_url):
    """``db_url``, a copy of the demo's store, and its output folder in ``tmp_path / "a"``."""
    shutil.copyfile(demo / "runs.db", tmp_path / "runs.db")
    shutil.copytree(demo / "a", tmp_path / "a")
    return db_url


def test_every_demo_run_rebuilds_from_its_events(tmp_path, demo_db, write_json, order_doc, scenario_doc):
    db_url = demo_db
    scenario_doc["faults"] = [{"device": "inducer", "site": "right_forearm", "kind": "open_circuit", "at_s": 90}]
    order_doc["accession"] = "ST-2026-000124"  # another test than the demo's (a second run of one would be a repeat)
    with freeze_time(FROZEN):
        with as_performer(db_url) as actor:
            assert main(["run", "--order", write_json("o.json", order_doc), "--simulate",
                         write_json("s.json", scenario_doc), "--out", str(tmp_path / "b"), "--db", db_url, *actor]) == 0
    store = open_store(db_url)
    try:
        runs = store.list_runs()
        assert len(runs) == 2
        for row in runs:
            folder = tmp_path / ("a" if any((tmp_path / "a").glob(f"*{row['run_id']}.json")) else "b")
            written = load_record(next(folder.glob(f"*{row['run_id']}.json")).read_text())
            run, order = load_run(store, row["run_id"])
            rebuilt = stored_run_record(store, run, order, generated_at=written.generated_at)
            head = written.audit_head  # the chain's head when the file was written: an entry of the chain
            audit = schema.audit
            with store.engine.connect() as conn:
                entry = conn.execute(sa.select(audit.c.hash).where(audit.c.id == head.entry)).scalar()
            assert entry == head.sha256
            rebuilt = replace(rebuilt, stored=replace(rebuilt.stored, audit_head=head))
            assert record_document(rebuilt) == record_document(written)
            assert run.state == row["state"]
    finally:
        store.close()


def test_review_and_report_are_recorded_on_a_stored_run(demo_db):
    from sweattest.core.clock import VirtualClock
    from sweattest.core.errors import ProcedureError
    from sweattest.record.runs import record_event

    db_url = demo_db
    store = open_store(db_url)
    try:
        [row] = store.list_runs()
        clock = VirtualClock(start=row["created_at"])
        clock.sleep(3600)
        with pytest.raises(ProcedureError, match="cannot report when the run is result_ready"):
            record_event(store, clock, row["run_id"], "report", actor="rev1")
        run = record_event(store, clock, row["run_id"], "review", data={"reviewer": "rev1"}, actor="rev1")
        assert run.state == "reviewed" and run.reviewer == "rev1"
        run = record_event(store, clock, row["run_id"], "report", actor="rev1")
        assert run.state == "reported" and store.get_run(row["run_id"])["state"] == "reported"
        refused = [e for e in store.events(row["run_id"]) if not e.accepted]
        assert [e.kind for e in refused] == ["report"] and "result_ready" in refused[0].data["refused"]
        assert load_run(store, row["run_id"])[0].state == "reported"
    finally:
        store.close()
