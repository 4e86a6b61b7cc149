"""Waiting for the chloridometer never silently costs a sample, nor the other site's timing.

A silent analyzer: the wait is shown with its countdown, the other site's collection ends and is recorded on
time while the analyzer is waited for, QC says results cannot be final, and a sample written off says why. At
the terminal, before a sample is written off, the tech is offered to type the analyzer's displayed result
twice, the second entry blind."""

from __future__ import annotations

import re

from drivers.simulators.clocks import set_clock
from sweattest.cli.main import main
from sweattest.core.clock import VirtualClock
from sweattest.record.runs import load_run
from sweattest.record.store.store import open_store
from tests.bench.conftest import instrument_table, write_config
from tests.bench.test_run_on_instruments import Tech, run_cli, stored
from tests.conftest import as_performer


def test_a_silent_analyzer_keeps_the_other_sites_collection_on_time_and_says_why_a_sample_was_written_off(
        write_json, order_doc, scenario_doc, tmp_path, db_url, capsys):
    scenario_doc["faults"] = [{"device": "chloridometer", "kind": "silent"}]
    args = ["run", "--order", write_json("order.json", order_doc), "--simulate", write_json("s.json", scenario_doc),
            "--out", str(tmp_path / "out"), "--db", db_url]
    with as_performer(db_url) as actor:
        assert main(args + actor) == 3  # every site written off: no result
    out = capsys.readouterr().out
    store = open_store(db_url)
    try:
        [row] = store.list_runs()
        run, _ = load_run(store, row["run_id"])
        events = store.events(row["run_id"])
    finally:
        store.close()
    left, right = run.sites
    analyze_left = next(e for e in events if e.kind == "abort" and e.site == "left_forearm")
    right_ended = next(e for e in events if e.kind == "finish_collection" and e.site == "right_forearm")
    right_started = next(e for e in events if e.kind == "start_collection" and e.site == "right_forearm")
    # the right collection ended while the left sample was waited for, and was recorded at its time (1 s slices)
    assert right_ended.seq < analyze_left.seq
    assert abs(right_ended.t - right_started.t - 30 * 60) <= 1.0
    assert "right forearm: its timer has ended (finish collection, recorded on time)" in out
    for site in (left, right):
        assert site.state == "aborted"
        assert site.abort_reason.startswith("chloride analysis failed after 2 attempts and no result was typed from "
                                            "the analyzer's display: chloridometer: no result for sample ")
        assert "within 120 s" in site.abort_reason
    assert re.search(r"analysing +left_forearm +\[\.+\] 00:02:00 left", out)  # the wait, with its countdown
    assert "QC normal control: chloridometer: chloridometer: no result for the normal control" in out
    assert "results cannot be final until QC is run" in out


def test_at_the_terminal_a_sample_the_analyzer_did_not_measure_can_be_typed_twice_instead_of_written_off(
        monkeypatch, tmp_path):
    set_clock(VirtualClock(), "silent-analyzer")  # the analyzer's time passes at once, as the run's does
    config = write_config(tmp_path, instrument_table("inducer", "standalone"),
                          instrument_table("analyzer", "line", "sim://chloridometer?fault=silent&clock=silent-analyzer"))
    typed = {"left forearm: The chloridometer gave no usable result": [""],
             "right forearm: The chloridometer gave no usable result": ["no"],
             "Type the chloride of sample": ["46 mmol/L", "46 mmol/L"]}
    status, out, tech = run_cli(monkeypatch, tmp_path, config, lambda out: Tech(out, typed=typed))
    run, events, _ = stored(tmp_path)
    left, right = run.sites
    assert left.state == "result_ready" and left.analyzer_chloride.magnitude == 46
    typed_in = next(e for e in events if e.kind == "analyze" and e.site == "left_forearm")
    assert typed_in.data["entry"] == "manual, entered twice"
    assert typed_in.data["entries"] == [{"value": "46 mmol/L", "by": "tech1"}, {"value": "46 mmol/L", "by": "tech1"}]
    assert "no result for sample" in typed_in.data["analyzer_failed"]
    assert right.state == "aborted" and "no result was typed from the analyzer's display" in right.abort_reason
    offers = [p for p, _ in tech.answered if "If the analyzer shows a result, type it" in p]
    assert len(offers) == 2 and "[Enter: type it; or type no to write the sample off]" in offers[0]
    assert status == 0, out
