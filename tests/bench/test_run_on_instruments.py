"""A complete bilateral run through `sweattest run` without --simulate, on the instruments of the lab
configuration, the tech's answers scripted on standard input (one line per prompt). The bench station performs
the run (here its server runs in the test's process, on a virtual clock: instant, so the five-minute stimulation
and the collection take no wall time while every reading still crosses the serial line); the command follows it
as a terminal. Wired instruments are simulators in their own processes on pseudo-terminals."""

from __future__ import annotations

import io
import json
import re
import sys
from datetime import date
from pathlib import Path

import pytest

from sweattest.bench.service import RunService
from sweattest.cli.main import main
from sweattest.core.clock import VirtualClock
from sweattest.core.rules.checklist import CHECKLIST
from sweattest.record.qc_lots import add_lot
from sweattest.record.runs import load_run
from sweattest.record.store.store import open_store
from tests.bench.conftest import ROOT, instrument_table, sweattest, write_config
from tests.bench.station_here import station_here
from tests.conftest import PERFORMER, PERFORMER_PASSWORD, add_performer

CHLORIDE = {"1": "45 mmol/L", "2": "48 mmol/L"}  # by channel: left forearm, right forearm
#: The pre-stimulation checklist confirmed at the terminal, item by item (Enter on each)
CHECKLIST_CONFIRMED = "\n" * len(CHECKLIST)
#: Standard input of a run started as a process: the password, then the checklist confirmed
AT_THE_TERMINAL = PERFORMER_PASSWORD + "\n" + CHECKLIST_CONFIRMED
#: The instruments of these tests have no calibration on record: a patient run on them says why it goes ahead.
UNVERIFIED_REASON = "first day on these instruments; calibration booked for tomorrow"


def short_method(tmp_path: Path) -> Path:
    """Macroduct with a short stimulation and collection (90 s and 6 min)."""
    text = (ROOT / "protocols" / "macroduct.toml").read_text(encoding="utf-8")
    text = text.replace('name = "macroduct"', 'name = "macroduct_short"')
    text = re.sub(r'duration = \{ value = "5 min"', 'duration = { value = "90 s"', text)
    text = re.sub(r'max_time = \{ value = "30 min"', 'max_time = { value = "6 min"', text)
    path = tmp_path / "macroduct_short.toml"
    path.write_text(text, encoding="utf-8")
    return path


class Tech:
    """Standard input of the run: answers the prompt the run just printed, one line at a time. Nobody types into
    a simulated analyzer's terminal: the run tells a simulator what was loaded, and it measures by itself."""

    def __init__(self, out: io.StringIO, typed: dict[str, list[str]] | None = None):
        self.out = out
        self.typed = typed or {}
        self.answered: list[tuple[str, str]] = []

    def readline(self) -> str:
        prompt = self.out.getvalue().rsplit(">>> ", 1)[-1].split("\n", 1)[0]
        answer = self.answer(prompt)
        self.answered.append((prompt, answer))
        return answer + "\n"

    def answer(self, prompt: str) -> str:
        for key, answers in self.typed.items():
            if key in prompt and answers:
                return answers.pop(0)
        if "read the sweat volume" in prompt:
            return "35 uL"
        if "look at the skin" in prompt:
            return "none"  # chosen: no grade is assumed
        return ""


def run_cli(monkeypatch, tmp_path, config: Path, tech_for, *extra: str, method: str | None = None
            ) -> tuple[int, str, Tech]:
    from sweattest.bench.demo import DEMO_ORDER

    order = dict(DEMO_ORDER, method=method or str(short_method(tmp_path)))
    (tmp_path / "order.json").write_text(json.dumps(order), encoding="utf-8")
    out = io.StringIO()
    tech = tech_for(out)
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stdin", tech)
    add_performer(tmp_path / "runs.db")  # the order's operator, asked for their password at the terminal
    monkeypatch.setattr("sweattest.cli.context.getpass.getpass", lambda prompt: PERFORMER_PASSWORD)
    with station_here(monkeypatch, str(tmp_path / "runs.db"), config, VirtualClock(speed=None)):
        status = main(["run", "--order", str(tmp_path / "order.json"), "--config", str(config),
                       "--db", str(tmp_path / "runs.db"), "--out", str(tmp_path / "out"),
                       "--unverified-reason", UNVERIFIED_REASON, *extra])
    monkeypatch.undo()
    return status, out.getvalue(), tech


def stored(tmp_path):
    store = open_store(str(tmp_path / "runs.db"))
    try:
        [row] = store.list_runs()
        run, _ = load_run(store, row["run_id"])
        return run, store.events(row["run_id"]), store.readings(row["run_id"])
    finally:
        store.close()


def test_scpi_inducer_and_line_analyzer_on_pseudo_terminals(monkeypatch, tmp_path, simulators):
    inducer = simulators.start("inducer", "--baud", "115200", "--seed", "3", "--option", "load=1:10kohm,2:12kohm")
    analyzer = simulators.start("chloridometer", "--option", "analysis=0.2s")
    config = write_config(tmp_path,
                          instrument_table("inducer", "scpi", inducer, baudrate=115200, serial_number="000003"),
                          instrument_table("analyzer", "line", analyzer))
    status, out, tech = run_cli(monkeypatch, tmp_path, config, lambda out: Tech(out), "--speed", "60")
    assert status == 0, out
    run, events, readings = stored(tmp_path)
    assert [s.state for s in run.sites] == ["result_ready", "result_ready"]
    # the simulator measured what was loaded by itself: channel 1 (left) about 45, channel 2 (right) about 48
    assert [round(s.analyzer_chloride.magnitude) for s in run.sites] == [45, 48]
    assert "QC normal control QCN-2611: 40" in out or "QC normal control QCN-2611: 39" in out
    store = open_store(str(tmp_path / "runs.db"))
    try:
        assert store.list_runs()[0]["purpose"] == "simulated"  # on simulators: never a patient run
    finally:
        store.close()
    ready = next(e for e in events if e.kind == "check_ready")
    assert ready.data["instruments"]["inducer"]["identity"] == "SWEATTEST IND-2 SIM serial 000003 firmware 1.0"
    assert ready.data["instruments"]["analyzer"]["identity"] == "SWEATTEST CL-SIM serial CL000000 firmware 1.0"
    finished = [e for e in events if e.kind == "finish_stimulation"]
    assert [e.data["output_off_confirmed"] for e in finished] == [True, True]
    assert len(readings) >= 2 * 890  # ten readings a second for 90 s, on each site, over the serial line
    assert "Files written to" in out and "interpretation:" in out
    assert any("load sample" in prompt for prompt, _ in tech.answered)


def test_standalone_inducer_and_manual_analyzer_typed_twice(monkeypatch, tmp_path):
    config = write_config(tmp_path, instrument_table("inducer", "standalone", serial_number="WS-3700-17"),
                          instrument_table("analyzer", "manual", serial_number="CC3400-5"))
    typed = {"Type the chloride of the normal": ["40 mmol/L", "40 mmol/L"],
             "Type the chloride of the abnormal": ["100 mmol/L", "100 mmol/L"],
             "-1 (left forearm)": ["45.5 mmol/L", "45,5 mmol/L", "45.6 mmol/L", "45.5 mmol/L", "45.5 mmol/L"],
             "-2 (right forearm)": ["48 mmol/L", "48 mmol/L"]}
    store = open_store(str(tmp_path / "runs.db"))  # the lab's lots of this analyzer, by its serial number
    try:
        for level, lot, mean in (("normal", "QCN-5", 40.0), ("abnormal", "QCA-5", 100.0)):
            add_lot(store, analyzer="CC3400-5", level=level, lot=lot, material="control", expires=date(2099, 1, 1),
                    mean=mean, sd=2.0, provisional=False, who="qa1")
    finally:
        store.close()
    status, out, tech = run_cli(monkeypatch, tmp_path, config, lambda out: Tech(out, typed=typed))
    assert status == 0, out
    run, events, readings = stored(tmp_path)
    qc_run = next(e for e in events if e.kind == "analyze").data["qc_run"]
    assert qc_run.startswith("CC3400-5/") and f"QC of analytical run {qc_run}: accepted" in out
    assert [s.state for s in run.sites] == ["result_ready", "result_ready"]
    assert readings == []  # a stand-alone inducer has no current trace
    [html] = (tmp_path / "out").glob("*.html")
    assert html.read_text(encoding="utf-8").count("no current trace (stand-alone inducer") == 2
    finished = [e for e in events if e.kind == "finish_stimulation"]
    assert finished[0].data["standalone"] == {"serial_number": "WS-3700-17",
                                              "trace": "none: stand-alone inducer, timed and confirmed by the tech"}
    left = next(e for e in events if e.kind == "analyze" and e.site == "left_forearm")
    assert left.data["entries"] == [{"value": "45.5 mmol/L", "by": "tech1"}, {"value": "45.5 mmol/L", "by": "tech1"}]
    assert left.data["disagreed"] == [{"entries": [{"value": "45.5 mmol/L", "by": "tech1"},
                                                   {"value": "45.6 mmol/L", "by": "tech1"}]}]
    assert "not accepted: " in out and "use a decimal point" in out or "45,5" in out
    assert "the two entries disagree; read the instrument again" in out
    assert "45.6" not in out  # the value typed is never shown, before or after the disagreement
    prompts = [p for p, _ in tech.answered]
    assert any(p.startswith("Press START on the inducer for left forearm (1.5 mA for 1.5 min)") for p in prompts)
    assert any("Did it complete without an error light?" in p for p in prompts)


def test_an_error_on_the_standalone_inducer_aborts_that_site(monkeypatch, tmp_path):
    config = write_config(tmp_path, instrument_table("inducer", "standalone"), instrument_table("analyzer", "manual"))
    typed = {"Did it complete without an error light? [Enter: yes": ["E3 electrode contact", ""],
             "Type the chloride": ["40 mmol/L", "40 mmol/L", "100 mmol/L", "100 mmol/L", "48 mmol/L", "48 mmol/L"]}
    status, out, _ = run_cli(monkeypatch, tmp_path, config, lambda out: Tech(out, typed=typed))
    assert status == 0, out
    run, events, _ = stored(tmp_path)
    left, right = run.sites
    assert left.state == "aborted"
    assert left.abort_reason.startswith("the stand-alone inducer showed an error: E3 electrode contact.")
    assert right.state == "result_ready"


def test_speed_is_refused_on_instruments_that_are_not_simulators(tmp_path):
    config = write_config(tmp_path, instrument_table("inducer", "standalone"), instrument_table("analyzer", "manual"))
    from sweattest.bench.demo import DEMO_ORDER

    (tmp_path / "order.json").write_text(json.dumps(DEMO_ORDER), encoding="utf-8")
    add_performer(tmp_path / "runs.db")
    done = sweattest("run", "--order", str(tmp_path / "order.json"), "--config", str(config), "--db",
                     str(tmp_path / "runs.db"), "--speed", "60", "--password-stdin", input=AT_THE_TERMINAL)
    assert done.returncode == 2
    assert ("--speed: the inducer, analyzer on this bench did not identify itself as a sweattest simulator"
            in done.stderr)
    store = open_store(str(tmp_path / "runs.db"))
    try:
        assert store.list_runs() == []  # refused before the run was created
    finally:
        store.close()


def test_standard_input_ending_stops_the_run_safely_and_keeps_what_was_recorded(tmp_path):
    config = write_config(tmp_path, instrument_table("inducer", "standalone"), instrument_table("analyzer", "manual"))
    from sweattest.bench.demo import DEMO_ORDER

    (tmp_path / "order.json").write_text(json.dumps(DEMO_ORDER), encoding="utf-8")
    add_performer(tmp_path / "runs.db")
    done = sweattest("run", "--order", str(tmp_path / "order.json"), "--config", str(config), "--db",
                     str(tmp_path / "runs.db"), "--password-stdin", "--unverified-reason", UNVERIFIED_REASON,
                     input=AT_THE_TERMINAL)
    assert done.returncode == 1
    assert "standard input ended while waiting for: Press START on the inducer for left forearm" in done.stderr
    store = open_store(str(tmp_path / "runs.db"))
    try:
        [row] = store.list_runs()
        assert [e.kind for e in store.events(row["run_id"])][:3] == ["verify_patient", "check_ready",
                                                                     "start_stimulation"]
        assert row["run_id"] in [r["run_id"] for r in RunService(store).unfinished()]  # `sweattest resume` finds it
    finally:
        store.close()
    run_id = row["run_id"]
    assert (f"Every output is off. Run {run_id} is left unfinished (left forearm stimulating, "
            f"right forearm ready); recorded readings and "
            f"collection start times are kept. Continue it with `sweattest resume {run_id} --config {config} "
            f"--db {tmp_path / 'runs.db'} --as {PERFORMER}` at this station") in done.stderr
    assert done.stdout.count(run_id) == 1  # said once, when the run was created

    # resumed where no instruments are configured: the message names what `resume` has, never --simulate
    resumed = sweattest("resume", run_id, "--db", str(tmp_path / "runs.db"), "--as", PERFORMER, "--password-stdin",
                        input=PERFORMER_PASSWORD + "\n")
    assert resumed.returncode == 2
    assert "no instruments are configured for this station; add [[instruments]] tables" in resumed.stderr
    assert "--simulate" not in resumed.stderr


def test_a_run_refused_before_it_is_created_prints_no_run_id(tmp_path):
    """A missing port, an overdue calibration: refused before anything is written, and no run id is printed for
    a run that does not exist."""
    from sweattest.bench.demo import DEMO_ORDER

    (tmp_path / "order.json").write_text(json.dumps(DEMO_ORDER), encoding="utf-8")
    add_performer(tmp_path / "runs.db")
    configs = {"port": write_config(tmp_path, instrument_table("inducer", "scpi", "/dev/ttyUSB-not-there"),
                                    instrument_table("analyzer", "manual")),
               "calibration": write_config(tmp_path, instrument_table("inducer", "standalone",
                                                                      calibration_due="2020-01-31"),
                                           instrument_table("analyzer", "manual"))}
    for why, config in configs.items():
        done = sweattest("run", "--order", str(tmp_path / "order.json"), "--config", str(config), "--db",
                         str(tmp_path / "runs.db"), "--password-stdin", input=AT_THE_TERMINAL)
        assert done.returncode == 1, why
        assert "does not exist" in done.stderr or "calibration was due on 2020-01-31" in done.stderr, why
        assert "sweattest: run R" not in done.stdout and not re.search(r"R\d{8}-[0-9A-F]{8}", done.stdout), why
        store = open_store(str(tmp_path / "runs.db"))
        try:
            assert store.list_runs() == [], why
        finally:
            store.close()


@pytest.mark.parametrize("entry, message", [("35,5 uL", "use a decimal point"), ("35.5 mmol/L", "volume")])
def test_a_bad_manual_entry_is_refused_and_asked_again(monkeypatch, tmp_path, entry, message):
    config = write_config(tmp_path, instrument_table("inducer", "standalone"), instrument_table("analyzer", "manual"))
    typed = {"read the sweat volume": [entry, "35 uL", "35 uL"],
             "Type the chloride": ["40 mmol/L", "40 mmol/L", "100 mmol/L", "100 mmol/L", "45 mmol/L", "45 mmol/L",
                                   "48 mmol/L", "48 mmol/L"]}
    status, out, _ = run_cli(monkeypatch, tmp_path, config, lambda out: Tech(out, typed=typed))
    assert status == 0, out
    assert "not accepted: " in out and message in out.split("not accepted: ", 1)[1].split("\n", 1)[0]
    run, _, _ = stored(tmp_path)
    assert [s.adequacy.sample.to("uL").magnitude for s in run.sites] == [35, 35]
    assert all(s.state == "result_ready" for s in run.sites)


# (volumes typed at the console, state of the left forearm, sample kept, source)
IMPLAUSIBLE_ENTRIES = [
    (["5000 uL", "35 uL"], "result_ready", 35, "Macroduct 3710 manual: a coil holds about 85 uL; asked again"),
    (["5000 uL", "22000 uL"], "aborted", None, "Macroduct 3710 manual: refused twice, the site is aborted"),
]


@pytest.mark.parametrize(("entries", "state", "sample", "source"), IMPLAUSIBLE_ENTRIES)
def test_a_volume_the_coil_cannot_hold_is_refused_naming_the_limit(monkeypatch, tmp_path, entries, state, sample,
                                                                   source):
    config = write_config(tmp_path, instrument_table("inducer", "standalone"), instrument_table("analyzer", "manual"))
    typed = {"left forearm: remove the collector and read the sweat volume": list(entries),
             "Type the chloride": ["40 mmol/L", "40 mmol/L", "100 mmol/L", "100 mmol/L", "45 mmol/L", "45 mmol/L",
                                   "48 mmol/L", "48 mmol/L"]}
    status, out, _ = run_cli(monkeypatch, tmp_path, config, lambda out: Tech(out, typed=typed))
    assert status == 0, out
    assert "not accepted: sample volume 5000.0 µL is above the 85 µL maximum (Macroduct 3710 manual" in out, source
    run, events, _ = stored(tmp_path)
    left = run.site("left_forearm")
    assert left.state == state, source
    if sample is None:
        assert left.abort_reason.startswith("sample not accepted: sample volume 22000.0 µL"), source
    else:
        assert left.adequacy.sample.to("uL").magnitude == sample, source
    assert run.site("right_forearm").state == "result_ready"
    # nothing is lost: every reading typed is in the record, the refused ones marked refused with the reason
    left_readings = [e for e in events if e.kind == "measure_sample" and e.site == "left_forearm"]
    assert len(left_readings) == 2, source
    assert not left_readings[0].accepted and "85 µL maximum" in left_readings[0].data["refused"]
    assert "5000" in json.dumps(left_readings[0].data["volume"])


def test_a_patient_run_on_instruments_not_verified_needs_a_reason_or_is_refused_as_the_lab_configures(tmp_path):
    from sweattest.bench.demo import DEMO_ORDER

    (tmp_path / "order.json").write_text(json.dumps(DEMO_ORDER), encoding="utf-8")
    add_performer(tmp_path / "runs.db")
    tables = (instrument_table("inducer", "standalone", serial_number="WS-3700-17"),
              instrument_table("analyzer", "manual", serial_number="CC3400-5"))

    def run(config, *extra):
        return sweattest("run", "--order", str(tmp_path / "order.json"), "--config", str(config), "--db",
                         str(tmp_path / "runs.db"), "--password-stdin", *extra, input=AT_THE_TERMINAL)

    done = run(write_config(tmp_path, *tables))
    assert done.returncode == 2
    assert ("inducer standalone WS-3700-17, analyzer manual CC3400-5: not verified (no calibration on record; a due "
            "date in the configuration verifies nothing). A patient run on it needs the reason it goes "
            "ahead") in done.stderr
    assert "Give the reason with --unverified-reason TEXT" in done.stderr
    assert "sweattest: run R" not in done.stdout

    refusing = write_config(tmp_path, *tables, extra='[calibration]\nunrecorded = "refuse"\n')
    done = run(refusing, "--unverified-reason", UNVERIFIED_REASON)
    assert done.returncode == 2
    assert "This lab refuses patient runs on an instrument not verified: record its calibration" in done.stderr
    assert "--unverified-reason" not in done.stderr
    store = open_store(str(tmp_path / "runs.db"))
    try:
        assert store.list_runs() == []  # nothing was run
    finally:
        store.close()

    done = run(write_config(tmp_path, *tables), "--unverified-reason", UNVERIFIED_REASON)  # stdin ends at START
    assert "standard input ended" in done.stderr
    store = open_store(str(tmp_path / "runs.db"))
    try:
        [row] = store.list_runs()
        _, order = load_run(store, row["run_id"])
        events = store.events(row["run_id"])
    finally:
        store.close()
    assert row["purpose"] == "patient"
    assert order["unverified_instruments"] == {
        "instruments": ["inducer standalone WS-3700-17", "analyzer manual CC3400-5"], "reason": UNVERIFIED_REASON,
        "by": "tech1"}
    ready = next(e for e in events if e.kind == "check_ready")
    assert ready.data["instruments"]["analyzer"]["calibration"] == "not verified (no calibration on record)"


def test_the_pre_stimulation_checklist_of_the_bench_screens_is_asked_at_the_terminal_before_any_current(
        monkeypatch, tmp_path, simulators, capsys):
    inducer = simulators.start("inducer", "--baud", "115200", "--seed", "3")
    config = write_config(tmp_path, instrument_table("inducer", "scpi", inducer, baudrate=115200),
                          instrument_table("analyzer", "manual"))
    typed = {"Before any current (3 of 5)": ["the negative electrode is loose"]}
    status, _, _ = run_cli(monkeypatch, tmp_path, config, lambda out: Tech(out, typed=typed))
    assert status == 2
    assert re.search(r"not confirmed before stimulation: Positive \(red\) electrode on the flexor forearm.* \(the "
                     r"negative electrode is loose\); put it right, then start the run again; nothing was run",
                     capsys.readouterr().err)
    store = open_store(str(tmp_path / "runs.db"))
    try:
        assert store.list_runs() == []  # nothing was run, no current
    finally:
        store.close()

    typed = {"Type the chloride": ["40 mmol/L", "40 mmol/L", "100 mmol/L", "100 mmol/L", "45 mmol/L", "45 mmol/L",
                                   "48 mmol/L", "48 mmol/L"]}
    status, out, tech = run_cli(monkeypatch, tmp_path, config, lambda out: Tech(out, typed=typed))
    assert status == 0, out
    prompts = [p for p, _ in tech.answered]
    asked = [p for p in prompts if p.startswith("Before any current")]
    assert asked == [f"Before any current ({n} of 5): {text}. [Enter: confirmed; or type what is not right]"
                     for n, (_, text) in enumerate(CHECKLIST, 1)]
    assert prompts.index(asked[-1]) < 1 + len(asked)  # the first prompts of the run, before any other step
    assert out.index("Before any current (5 of 5)") < out.index("start_stimulation")
    store = open_store(str(tmp_path / "runs.db"))
    try:
        [row] = store.list_runs()
        _, order = load_run(store, row["run_id"])
    finally:
        store.close()
    assert order["checklist"] == {"items": ["skin", "gel", "anode", "straps", "leads"], "by": "tech1"}


def test_gibson_cooke_asks_for_the_eluate_by_name_and_shows_the_sweat_chloride_computed_from_it(monkeypatch, tmp_path):
    config = write_config(tmp_path, instrument_table("inducer", "standalone"), instrument_table("balance", "manual"),
                          instrument_table("analyzer", "manual"))
    typed = {"weight empty": ["1.0000 g"] * 4, "weight with the collected sweat": ["1.4000 g"] * 4,
             "chloride of the normal": ["40 mmol/L"] * 2, "chloride of the abnormal": ["100 mmol/L"] * 2,
             "chloride of the eluate": ["13 mmol/L", "13 mmol/L", "2.5 mmol/L", "2.5 mmol/L"]}
    status, out, tech = run_cli(monkeypatch, tmp_path, config, lambda out: Tech(out, typed=typed),
                                method="gibson_cooke")
    prompts = [p for p, _ in tech.answered]
    eluate = [p for p in prompts if "eluate" in p]
    assert eluate and all(re.match(r"Type the chloride of the eluate of sample \S+-[12] \((left|right) forearm\) "
                                   r"shown on the instrument", p) for p in eluate), eluate
    assert not any(re.match(r"Type the chloride of sample", p) for p in prompts)
    # 400 mg of sweat eluted in 1 mL: sweat chloride = eluate x 1.4 / 0.4 (45.5, reported as 46)
    assert re.search(r"left_forearm +analyze +-> result_ready: eluate 13(\.0)? mmol/L -> sweat chloride 46 mmol/L",
                     out), out
    assert re.search(r"right_forearm +analyze +-> result_ready: eluate 2\.5 mmol/L -> sweat chloride <10 mmol/L "
                     r"\(eluate\), not reportable", out), out
    assert status == 0, out


class LeavesAt(Tech):
    """A tech whose input ends at the first prompt that contains ``where``."""

    def __init__(self, out: io.StringIO, where: str, typed: dict[str, list[str]] | None = None):
        super().__init__(out, typed)
        self.where = where

    def readline(self) -> str:
        if self.where in self.out.getvalue().rsplit(">>> ", 1)[-1].split("\n", 1)[0]:
            return ""
        return super().readline()


def test_a_run_left_at_its_terminal_is_resumed_at_the_station_under_who_resumed_it(monkeypatch, tmp_path):
    config = write_config(tmp_path, instrument_table("inducer", "standalone"), instrument_table("analyzer", "manual"))
    status, out, _ = run_cli(monkeypatch, tmp_path, config, lambda out: LeavesAt(out, "read the sweat volume"))
    assert status == 1
    run, events, _ = stored(tmp_path)
    assert [s.state for s in run.sites] == ["collection_done", "collecting"]  # left waiting for the volume
    assert events[-1].kind == "station_stop"  # the terminal's stop, recorded with why

    out = io.StringIO()
    typed = {"Type the chloride": ["40 mmol/L", "40 mmol/L", "100 mmol/L", "100 mmol/L", "45 mmol/L", "45 mmol/L",
                                   "48 mmol/L", "48 mmol/L"]}
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stdin", Tech(out, typed=typed))
    monkeypatch.setattr("sweattest.cli.context.getpass.getpass", lambda prompt: PERFORMER_PASSWORD)
    with station_here(monkeypatch, str(tmp_path / "runs.db"), config, VirtualClock(speed=None)):
        status = main(["resume", run.run_id, "--config", str(config), "--db", str(tmp_path / "runs.db"), "--out",
                       str(tmp_path / "resumed"), "--as", PERFORMER])
    monkeypatch.undo()
    assert status == 0, out.getvalue()
    assert f"sweattest: resuming run {run.run_id}" in out.getvalue() and "Result of run" in out.getvalue()
    run, events, _ = stored(tmp_path)
    assert [s.state for s in run.sites] == ["result_ready", "result_ready"]
    resumed = next(e for e in events if e.kind == "resume")
    assert resumed.data["actor"] == PERFORMER and resumed.data["outputs_off_confirmed"] is True


def test_a_run_left_at_its_terminal_is_resumed_at_the_same_station_and_finished_there(monkeypatch, tmp_path):
    """The station that performed the run still holds its ended session when `resume` asks for the run: what it
    pushed of that session is not taken for the end of the resumed run, which goes on to its results."""
    from sweattest.bench.demo import DEMO_ORDER

    config = write_config(tmp_path, instrument_table("inducer", "standalone"), instrument_table("analyzer", "manual"))
    order = dict(DEMO_ORDER, method=str(short_method(tmp_path)))
    (tmp_path / "order.json").write_text(json.dumps(order), encoding="utf-8")
    add_performer(tmp_path / "runs.db")
    db = str(tmp_path / "runs.db")
    monkeypatch.setattr("sweattest.cli.context.getpass.getpass", lambda prompt: PERFORMER_PASSWORD)
    with station_here(monkeypatch, db, config, VirtualClock(speed=None)):
        left = io.StringIO()
        monkeypatch.setattr(sys, "stdout", left)
        monkeypatch.setattr(sys, "stdin", LeavesAt(left, "read the sweat volume"))
        assert main(["run", "--order", str(tmp_path / "order.json"), "--config", str(config), "--db", db, "--out",
                     str(tmp_path / "out"), "--unverified-reason", UNVERIFIED_REASON]) == 1, left.getvalue()
        run, events, _ = stored(tmp_path)
        assert events[-1].kind == "station_stop"  # left waiting for the volume, the stop recorded

        out = io.StringIO()
        typed = {"Type the chloride": ["40 mmol/L", "40 mmol/L", "100 mmol/L", "100 mmol/L", "45 mmol/L",
                                       "45 mmol/L", "48 mmol/L", "48 mmol/L"]}
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setattr(sys, "stdin", Tech(out, typed=typed))
        status = main(["resume", run.run_id, "--config", str(config), "--db", db, "--out", str(tmp_path / "resumed"),
                       "--as", PERFORMER])
    monkeypatch.undo()
    assert status == 0, out.getvalue()
    assert "the bench station stopped the run" not in out.getvalue()
    assert "Result of run" in out.getvalue()
    run, events, _ = stored(tmp_path)
    assert [s.state for s in run.sites] == ["result_ready", "result_ready"]
    stimulated = [e.site for e in events if e.kind == "start_stimulation" and e.accepted]
    assert sorted(stimulated) == sorted(set(stimulated)) and len(stimulated) == 2  # none stimulated again
