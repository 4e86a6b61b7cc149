"""A run keeps the method it was created with: editing the lab's method file afterwards changes nothing about
that run (replay, report, HL7, CSV, resume); a changed stored copy is refused; old runs use the file."""

from __future__ import annotations

import copy
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.bench.order import parse_order
from sweattest.bench.runner import Reporter
from sweattest.bench.service import RunService, perform_simulated_run
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.cli.main import main
from sweattest.core.clock import VirtualClock
from sweattest.core.config import load_config
from sweattest.core.errors import TamperError, ValidationError
from sweattest.core.protocol import load_protocol, protocol_hash
from sweattest.core.resources import data_dir
from sweattest.core.units import Q_
from sweattest.outputs.run_files import write_outputs
from sweattest.record.audit import history
from sweattest.record.runs import load_run
from sweattest.record.store.store import open_store
from sweattest.record.stored_record import stored_record
from tests.conftest import as_performer

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def lab(tmp_path):
    """A lab configuration whose [protocols] folder holds copies of the shipped methods."""
    methods = tmp_path / "lab" / "methods"
    methods.mkdir(parents=True)
    for path in data_dir("protocols").glob("*.toml"):
        shutil.copy(path, methods / path.name)
    lab_copy = methods / "macroduct.toml"  # the lab's own macroduct, told apart from the shipped one by its title
    lab_copy.write_text(lab_copy.read_text(encoding="utf-8").replace('title = "', 'title = "Lab: ', 1),
                        encoding="utf-8")
    config_file = tmp_path / "lab" / "sweattest.toml"
    config_file.write_text('[protocols]\nfolder = "methods"\n', encoding="utf-8")
    return config_file


@pytest.fixture
def store(tmp_path):
    s = open_store(str(tmp_path / "runs.db"), VirtualClock(start=START))
    yield s
    s.close()


def _edit_method(folder: Path) -> None:
    """What a lab might do after the run: raise the minimum sample and change the current."""
    path = folder / "macroduct.toml"
    text = path.read_text(encoding="utf-8")
    assert '"15 uL"' in text and '"1.5 mA"' in text
    path.write_text(text.replace('"15 uL"', '"60 uL"').replace('"1.5 mA"', '"2 mA"'), encoding="utf-8")


def _demo_run(store, config, out_dir: Path, reporter: Reporter | None = None):
    order = parse_order(copy.deepcopy(DEMO_ORDER), config.protocol_folder)
    scenario = parse_scenario(copy.deepcopy(DEMO_SCENARIO), order.sites)
    return perform_simulated_run(order, scenario, store=store, clock=VirtualClock(start=START), out_dir=out_dir,
                                 reporter=reporter, config=config)


def test_a_run_replays_reports_and_exports_as_before_after_its_method_file_is_edited(lab, store, tmp_path):
    config = load_config(lab)
    result = _demo_run(store, config, tmp_path / "before")
    assert result.record.method.title.startswith("Lab: ")  # the lab's method, not the shipped one
    _edit_method(config.protocol_folder)
    assert load_protocol("macroduct", config.protocol_folder).minimum_sample == Q_(60, "uL")

    run, _ = load_run(store, result.run.run_id)
    assert run == result.run
    assert run.protocol.minimum_sample == Q_(15, "uL") and run.protocol.current == Q_(1.5, "mA")
    generated = result.record.generated_at
    record = stored_record(store, result.run.run_id, VirtualClock(start=generated))
    assert record == result.record
    after = write_outputs(record, tmp_path / "after", config)
    for kind in ("json", "html", "csv"):
        assert after[kind].read_bytes() == result.files[kind].read_bytes(), kind
    assert _without_control_id(after["hl7"]) == _without_control_id(result.files["hl7"])


def _without_control_id(path: Path) -> list[list[str]]:
    """The HL7 message's fields, MSH-10 (a new UUID for every message) blanked."""
    segments = [seg.split("|") for seg in path.read_text(encoding="utf-8").split("\r")]
    assert segments[0][0] == "MSH" and segments[0][9]
    segments[0][9] = ""
    return segments


def test_the_creation_is_audited_with_the_method_hash(lab, store, tmp_path):
    config = load_config(lab)
    result = _demo_run(store, config, tmp_path / "out")
    expected = protocol_hash((config.protocol_folder / "macroduct.toml").read_text(encoding="utf-8"))
    created = next(e for e in history(store, result.run.run_id) if e.what == "create_run")
    assert created.new["protocol_sha256"] == expected
    row = store.get_run(result.run.run_id)
    assert row["protocol_sha256"] == expected and protocol_hash(row["protocol_text"]) == expected


class CrashInCollection(Reporter):
    """The process stops once the left site's collection has started (as a power cut would)."""

    def event(self, run, event):
        if event.kind == "start_collection":
            raise KeyboardInterrupt("power cut")


def test_a_run_resumes_with_its_own_method_after_the_file_is_edited(lab, store, tmp_path):
    config = load_config(lab)
    with pytest.raises(KeyboardInterrupt):
        _demo_run(store, config, tmp_path / "out", reporter=CrashInCollection())
    service = RunService(store, config)
    [row] = service.unfinished()
    _edit_method(config.protocol_folder)
    active = service.resume(row["run_id"], clock=VirtualClock(start=START.replace(hour=10)))
    resumed = service.finish(active, active.perform(), tmp_path / "resumed")
    assert resumed.run.protocol.minimum_sample == Q_(15, "uL")
    assert resumed.record.method.title.startswith("Lab: ")
    assert resumed.record.method.current.quantity == Q_(1.5, "mA") and str(resumed.record.method.current) == "1.5 mA"
    assert [s.adequate for s in resumed.record.sites] == [True, True]


def _tamper(store, run_id: str, **values) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE runs SET " + ", ".join(f"{k} = :{k}" for k in values) + " WHERE run_id = :r"),
                     values | {"r": run_id})


@pytest.mark.parametrize("change", [
    lambda row: {"protocol_text": row["protocol_text"].replace('"15 uL"', '"5 uL"')},
    lambda row: {"protocol_sha256": "0" * 64},
    lambda row: {"protocol_text": None},
], ids=["text edited", "hash replaced", "text removed"])
def test_a_tampered_snapshot_is_refused_and_the_run_kept(lab, store, tmp_path, capsys, change):
    result = _demo_run(store, load_config(lab), tmp_path / "out")
    run_id = result.run.run_id
    events_before = store.events(run_id)
    _tamper(store, run_id, **change(store.get_run(run_id)))
    with pytest.raises(TamperError, match=rf"run {run_id}: .*changed after the run was created.*audit verify"):
        load_run(store, run_id)
    with as_performer(store.url) as actor:
        status = main(["report", run_id, "--db", store.url, "--out", str(tmp_path / "report.html"), *actor])
    err = capsys.readouterr().err
    assert status != 0 and "changed after the run was created" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "report.html").exists()
    assert store.events(run_id) == events_before


def test_a_run_stored_before_snapshots_replays_against_the_shipped_file(store, tmp_path):
    result = _demo_run(store, load_config(None), tmp_path / "out")
    _tamper(store, result.run.run_id, protocol_text=None, protocol_sha256=None)  # as migration 6 leaves it
    run, _ = load_run(store, result.run.run_id)
    assert run == result.run


def test_a_method_without_its_text_creates_no_run(store):
    protocol = load_protocol("macroduct")
    from dataclasses import replace

    with pytest.raises(ValidationError, match="carries no text"):
        store.create_run("R1", accession="ST-1", method="macroduct", operator="tech1", patient_mrn="M",
                         created_at=START, order={}, protocol=replace(protocol, text=""))
    assert store.list_runs() == []
