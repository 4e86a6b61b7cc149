"""`sweattest run` and `sweattest resume` on configured instruments, as real processes: the bench station's own
process performs the run and the command follows it as a terminal. Killing the command (SIGKILL) during the
stimulation does not end it early: the station ends it by its method and stores every reading; `resume` follows
the run again and finishes it. A stop signal (SIGTERM) is a graceful stop: the stimulation is stopped by the off
sequence and recorded as such, and the run's lease is released. The inducer is a simulator on a pseudo-terminal;
simulated time (--speed 60) keeps each test to seconds."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sweattest.bench.demo import DEMO_ORDER
from sweattest.bench.station.channel import MAX_FRAME, StationAddress, connect
from sweattest.record.runs import load_run
from sweattest.record.store.store import open_store, resolve_url
from tests.bench.conftest import ROOT, instrument_table, write_config
from tests.bench.test_run_on_instruments import UNVERIFIED_REASON
from tests.conftest import PERFORMER, PERFORMER_PASSWORD, add_performer
from tests.serving import _kill

#: Simulated time: the six-minute collection takes 1.5 s (the stimulation takes as long as its 900 readings over
#: the serial line take).
SPEED = "240"


def method(tmp_path: Path) -> Path:
    """Macroduct with a 90-second stimulation and a six-minute collection."""
    text = (ROOT / "protocols" / "macroduct.toml").read_text(encoding="utf-8")
    text = text.replace('name = "macroduct"', 'name = "macroduct_station"')
    text = re.sub(r'duration = \{ value = "5 min"', 'duration = { value = "90 s"', text)
    text = re.sub(r'max_time = \{ value = "30 min"', 'max_time = { value = "6 min"', text)
    path = tmp_path / "macroduct_station.toml"
    path.write_text(text, encoding="utf-8")
    return path


def answer(prompt: str) -> str:
    """What the tech types at each prompt (Enter confirms a step)."""
    if "look at the skin" in prompt:
        return "none"
    if "read the sweat volume" in prompt:
        return "35 uL"
    if "chloride of the normal" in prompt:
        return "40 mmol/L"
    if "chloride of the abnormal" in prompt:
        return "100 mmol/L"
    if "Type the chloride" in prompt:
        return "45 mmol/L"
    return ""


class Command:
    """A `sweattest` command in a process of its own whose prompts a tech answers as they appear."""

    def __init__(self, *argv: str, env: dict[str, str] | None = None):
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1") | (env or {})
        self.proc = subprocess.Popen([sys.executable, "-m", "sweattest", *argv], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
        self.proc.stdin.write(PERFORMER_PASSWORD + "\n")  # --password-stdin
        self.proc.stdin.flush()
        self.out: list[str] = []
        self.prompts: list[str] = []
        self.answer = answer  # what is typed at each prompt (bytes: written as they are)

    def follow(self, until=lambda line: False) -> str | None:
        """Read its output, answering each prompt, up to the line for which ``until`` holds (None: the end).
        Reading blocks on the process's output: no waiting on wall time."""
        for line in self.proc.stdout:
            self.out.append(line)
            if line.startswith(">>> "):
                self.prompts.append(line[4:].strip())
                try:
                    typed = self.answer(line[4:])
                    if isinstance(typed, bytes):
                        self.proc.stdin.flush()
                        self.proc.stdin.buffer.write(typed + b"\n")
                    else:
                        self.proc.stdin.write(typed + "\n")
                    self.proc.stdin.flush()
                except BrokenPipeError:
                    pass
            if until(line):
                return line
        return None

    def finish(self) -> tuple[int, str, str]:
        self.follow()
        err = self.proc.stderr.read()
        return self.proc.wait(timeout=60), "".join(self.out), err


@pytest.fixture
def bench(tmp_path, simulators):
    """A store with the performer, a lab configuration with the simulated inducer and chloridometer on
    pseudo-terminals, the order file; the station process the commands start is stopped at the end."""
    inducer = simulators.start("inducer", "--baud", "115200", "--seed", "3", "--option", "load=1:10kohm")
    analyzer = simulators.start("chloridometer", "--option", "analysis=0.2s")
    config = write_config(tmp_path, instrument_table("inducer", "scpi", inducer, baudrate=115200),
                          instrument_table("analyzer", "line", analyzer))
    db = str(tmp_path / "runs.db")
    add_performer(db)
    order = dict(DEMO_ORDER, method=str(method(tmp_path)), sites=["left_forearm"])
    (tmp_path / "order.json").write_text(json.dumps(order), encoding="utf-8")
    before = StationAddress.of(resolve_url(db), False, config=str(config))
    yield {"config": str(config), "db": db, "order": str(tmp_path / "order.json"), "out": str(tmp_path / "out")}
    for address in {before, StationAddress.of(resolve_url(db), False, config=str(config))}:  # a test may edit it
        for pid in {*re.findall(r"station (\d+) listening", address.log.read_text() if address.log.exists() else ""),
                    address.holder()} - {None}:
            _kill(int(pid))  # the stations these tests started (one ends by itself only with no run waiting)


def run_command(bench, env: dict[str, str] | None = None) -> Command:
    return Command("run", "--order", bench["order"], "--config", bench["config"], "--db", bench["db"], "--out",
                   bench["out"], "--password-stdin", "--unverified-reason", UNVERIFIED_REASON, "--speed", SPEED,
                   env=env)


def stored(db: str):
    return stored_of(db, None)


def stored_of(db: str, accession: str | None):
    """The run of ``accession`` (None: the only run), its state, events and stimulation readings."""
    store = open_store(db)
    try:
        [row] = [r for r in store.list_runs() if accession in (None, r["accession"])]
        run, _ = load_run(store, row["run_id"])
        return row, run, store.events(row["run_id"]), store.readings(row["run_id"], kind="stimulation_sample")
    finally:
        store.close()


def wait_for(db: str, kind: str) -> None:
    """Until the station has recorded an event ``kind`` (it works in its own process meanwhile)."""
    pause = threading.Event()
    for _ in range(600):
        if any(e.kind == kind for e in stored(db)[2]):
            return
        pause.wait(0.05)
    raise AssertionError(f"the station recorded no {kind}")


def test_run_is_performed_by_the_station_and_the_terminal_asks_the_same_steps(bench):
    command = run_command(bench)
    command.follow(lambda line: "start_stimulation" in line)
    run_id = stored(bench["db"])[0]["run_id"]
    # another terminal cannot take over a run this one follows
    other = subprocess.run([sys.executable, "-m", "sweattest", "resume", run_id, "--config", bench["config"], "--db",
                            bench["db"], "--as", PERFORMER, "--password-stdin"], input=PERFORMER_PASSWORD + "\n",
                           capture_output=True, text=True, cwd=ROOT, timeout=60,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert other.returncode == 1
    assert f"run {run_id} is being performed at another terminal of this station; left alone" in other.stderr
    status, out, err = command.finish()
    assert status == 0, out + err
    row, run, events, readings = stored(bench["db"])
    assert run.sites[0].state == "result_ready"
    assert f"sweattest: run {row['run_id']} for accession ST-2026-000123" in out
    # the console's own flow: the checklist, the collector, the skin grade, the volume, the analyzer
    assert [p for p in command.prompts if p.startswith("Before any current")][-1].startswith("Before any current "
                                                                                             "(5 of 5)")
    assert any("apply the collector" in p for p in command.prompts)
    assert any("look at the skin" in p for p in command.prompts)
    assert any("read the sweat volume" in p for p in command.prompts)
    assert any("load sample" in p for p in command.prompts)
    assert out.index("start_stimulation") < out.index("finish_stimulation") < out.index("Result of run")
    assert "left_forearm   sample 35" in out and "Files written to" in out
    finished = next(e for e in events if e.kind == "finish_stimulation")
    assert finished.data["output_off_confirmed"] is True
    assert len(readings) == finished.data["samples"]  # every reading of the loop is stored
    assert row["lease_owner"] is None


def test_a_killed_run_command_leaves_the_stimulation_to_the_station_and_resume_finishes_the_run(bench):
    command = run_command(bench)
    command.follow(lambda line: "start_stimulation" in line)
    assert not any(e.kind == "finish_stimulation" for e in stored(bench["db"])[2])  # the current flows
    command.proc.kill()
    command.proc.wait(timeout=10)

    wait_for(bench["db"], "finish_stimulation")  # ended by its method, by the station, with nobody following
    row, run, events, readings = stored(bench["db"])
    finished = next(e for e in events if e.kind == "finish_stimulation")
    assert finished.data["output_off_confirmed"] is True and "abort" not in [e.kind for e in events]
    assert len(readings) == finished.data["samples"] > 0  # each reading of the loop stored

    resumed = Command("resume", row["run_id"], "--config", bench["config"], "--db", bench["db"], "--out",
                      bench["out"], "--as", PERFORMER, "--password-stdin")
    status, out, err = resumed.finish()
    assert status == 0, out + err
    assert f"sweattest: resuming run {row['run_id']}" in out
    assert any("apply the collector" in p for p in resumed.prompts)  # where the station waits for the tech
    row, run, events, _ = stored(bench["db"])
    assert run.sites[0].state == "result_ready" and "Result of run" in out
    assert row["lease_owner"] is None


def test_a_stop_signal_to_run_stops_the_stimulation_by_the_off_sequence_and_releases_the_run(bench):
    command = run_command(bench)
    command.follow(lambda line: "start_stimulation" in line)
    command.proc.send_signal(signal.SIGTERM)
    status, out, err = command.finish()
    assert status == 130, out + err
    row, run, events, readings = stored(bench["db"])
    [abort] = [e for e in events if e.kind == "abort"]
    assert abort.data["code"] == "station_stopped"
    assert "the run was interrupted (Ctrl-C or a stop signal)" in abort.data["reason"]
    assert abort.data["output_off_confirmed"] is True
    assert len(readings) == abort.data["samples"]  # the readings until the stop, each one stored
    assert any(e.kind == "station_stop" for e in events)
    assert run.sites[0].state == "aborted"
    assert row["lease_owner"] is None  # released: another terminal or the bench screens may take the run on
    assert "run was interrupted" in out


def station_pid(bench) -> int:
    pid = StationAddress.of(resolve_url(bench["db"]), False, config=bench["config"]).holder()
    assert pid
    return pid


def test_a_stalled_station_is_told_at_the_terminal_which_waits_and_goes_on_when_it_answers(bench):
    """SIGSTOP of the station while `run` follows the stimulation: the terminal says the station does not answer
    and what to do (as the bench screens do), neither hangs silently nor gives the run up; after SIGCONT the run
    goes on at the terminal to its end."""
    command = run_command(bench)
    command.follow(lambda line: "start_stimulation" in line)
    pid = station_pid(bench)
    os.kill(pid, signal.SIGSTOP)
    try:
        told = command.follow(lambda line: "NOT ANSWERING" in line or "sweattest:" in line)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert told is not None and "BENCH STATION NOT ANSWERING" in told and "stalled or hung" in told, command.out
    assert command.follow(lambda line: "answers again" in line) is not None, command.out
    status, out, err = command.finish()
    row, run, events, readings = stored(bench["db"])
    assert run.state != "open" and row["lease_owner"] is None, out + err  # followed to its end here
    assert "Result of run" in out and "sweattest resume" not in out + err
    ended = next(e for e in events if e.kind in ("finish_stimulation", "abort"))
    assert len(readings) == ended.data["samples"] > 0  # every reading of the loop stored


def test_a_killed_station_is_told_at_the_terminal_with_how_to_go_on_and_resume_finishes_the_run(bench):
    """SIGKILL of the station while `run` follows the stimulation: the command ends non-zero, once, saying the
    station stopped, what to do at the inducer and the `sweattest resume` that goes on; the station's next start
    stops the stimulation by the off sequence (its only site aborted), which `resume` then says."""
    command = run_command(bench)
    command.follow(lambda line: "start_stimulation" in line)
    pid = station_pid(bench)
    _kill(pid)
    status, out, err = command.finish()
    assert status == 1, out + err
    row = stored(bench["db"])[0]
    said = err.splitlines()[-1]
    assert said.startswith("sweattest: error: the bench station's process stopped: a current it was driving is ended "
                           "by the inducer's own watchdog"), err
    assert f"Continue it with `sweattest resume {row['run_id']} --config {bench['config']}" in said
    assert "try again in a moment" not in out + err  # not told a terminal that has given up
    resumed = Command("resume", row["run_id"], "--config", bench["config"], "--db", bench["db"], "--out",
                      bench["out"], "--as", PERFORMER, "--password-stdin")
    status, out, err = resumed.finish()  # the station started again stopped the stimulation caught by the kill
    row, run, events, _ = stored(bench["db"])
    [abort] = [e for e in events if e.kind == "abort"]
    assert abort.data["code"] == "interrupted_stimulation" and abort.data["output_off_confirmed"] is True
    assert run.sites[0].state == "aborted" and row["lease_owner"] is None
    assert status == 2 and f"run {row['run_id']} is aborted, not unfinished: there is nothing to resume" in err


def test_garbage_and_oversized_frames_from_a_client_holding_the_key_leave_the_stimulation_unharmed(bench):
    """While `run` follows a stimulation, a process holding the station's key sends a frame over the limit, one
    that is not JSON, one that is not a request and requests the station does not know: each such connection is
    dropped or refused; the stimulation runs its method's whole duration at 10 Hz, every reading stored, and the
    run goes on at the terminal to its result."""
    command = run_command(bench)
    command.follow(lambda line: "start_stimulation" in line)
    address = StationAddress.of(resolve_url(bench["db"]), False, config=bench["config"])
    bad = [b"\xff" * (MAX_FRAME + 1), b"\x00garbage\xfe", b"[1, 2, 3]", b'{"op": "stop"}',
           b'{"id": 1, "op": "confirm", "args": {"run_id": 7, "prompt": "x"}}',
           b'{"id": 2, "op": "nothing", "args": {}}']
    refused = 0
    for frame in bad:
        channel, hello = connect(address.socket, address.key())
        try:
            channel.conn.send_bytes(frame)
            reply = channel.receive()
            while "reply" not in reply:  # the station's pushes to this client come first
                reply = channel.receive()
            assert "error" in reply
            refused += 1
        except (EOFError, OSError):
            refused += 1  # dropped
        finally:
            channel.close()
    assert refused == len(bad)
    status, out, err = command.finish()
    assert status == 0, out + err
    row, run, events, readings = stored(bench["db"])
    finished = next(e for e in events if e.kind == "finish_stimulation")
    assert finished.data["output_off_confirmed"] is True and run.sites[0].state == "result_ready"
    assert len(readings) == finished.data["samples"] >= 90 * 10  # the method's 90 s at 10 Hz, each stored


def test_a_second_run_on_an_edited_lab_configuration_is_refused_the_ports_the_running_station_holds(bench):
    """The lab configuration edited while a station performs a run on it: a second `run` starts another station
    (the configuration is another one), whose start finds the serial ports held and says so; the first run goes
    on untouched."""
    command = run_command(bench)
    command.follow(lambda line: "start_stimulation" in line)
    first = station_pid(bench)
    with open(bench["config"], "a", encoding="utf-8") as f:
        f.write("\n# edited at the bench\n")
    order = json.loads(Path(bench["order"]).read_text(encoding="utf-8")) | {"accession": "ST-2026-000124"}
    Path(bench["order"]).write_text(json.dumps(order), encoding="utf-8")
    second = run_command(bench)
    status2, out2, err2 = second.finish()
    assert status2 == 1 and "sweattest: error: the inducer port " in err2, out2 + err2
    assert f"is in use by process {first} " in err2 and "nothing was sent to it" in err2
    status, out, err = command.finish()
    assert status == 0, out + err
    row, run, events, readings = stored_of(bench["db"], "ST-2026-000123")
    finished = next(e for e in events if e.kind == "finish_stimulation")
    assert run.sites[0].state == "result_ready" and len(readings) == finished.data["samples"] >= 90 * 10


def test_a_second_run_on_the_instruments_a_run_uses_is_refused_and_the_first_goes_on(bench):
    """Two `run` commands at once on one station and its instruments: the second is told the inducer is in use
    by the station's run, nothing is sent to the instrument, and the first run goes on to its result."""
    command = run_command(bench)
    command.follow(lambda line: "start_stimulation" in line)
    order = json.loads(Path(bench["order"]).read_text(encoding="utf-8")) | {"accession": "ST-2026-000124"}
    Path(bench["order"]).write_text(json.dumps(order), encoding="utf-8")
    second = run_command(bench)
    status2, out2, err2 = second.finish()
    assert status2 == 1 and "sweattest: error: the inducer port " in err2, out2 + err2
    assert "is in use by this process" in err2 and "nothing was sent to it" in err2
    status, out, err = command.finish()
    assert status == 0, out + err
    row, run, events, readings = stored_of(bench["db"], "ST-2026-000123")
    assert run.sites[0].state == "result_ready"
    store = open_store(bench["db"])
    try:
        assert [r["accession"] for r in store.list_runs()] == ["ST-2026-000123"]  # no run left of the refused one
    finally:
        store.close()


@pytest.mark.parametrize("io", [{}, {"PYTHONIOENCODING": "utf-8"}], ids=["locale", "strict-utf8"])
def test_a_binary_answer_at_a_prompt_is_refused_and_asked_again_and_the_run_goes_on(bench, io):
    """Bytes that are not text typed at a prompt (a scanner's noise into the skin note), whatever the terminal's
    decoding: the station refuses the answer, the terminal says so and asks again; the run goes on to its result
    (it was once given up; with strict decoding the command ended with a traceback)."""
    command = run_command(bench, io)
    skin = iter([b"blister: \xff\xfe scanner", "none"])
    command.answer = lambda prompt: next(skin) if "look at the skin" in prompt else answer(prompt)
    status, out, err = command.finish()
    assert status == 0, out + err
    assert "not accepted: '\ufffd\ufffd scanner' holds characters that are not text" in out
    assert sum("look at the skin" in p for p in command.prompts) == 2
    row, run, events, _ = stored(bench["db"])
    assert run.sites[0].state == "result_ready" and row["lease_owner"] is None


def test_input_ended_at_a_prompt_of_run_leaves_the_run_and_resume_at_the_same_station_finishes_it(bench):
    """The station that performed the run still runs when `resume` asks for it, holding the run's ended
    session: `resume` follows the run's new session to its results; the site stimulated is not stimulated again."""
    command = run_command(bench)

    def ends_at_the_volume(prompt: str) -> str:
        if "read the sweat volume" in prompt or command.proc.stdin.closed:
            command.proc.stdin.close()  # the tech's input ends at this prompt
            raise BrokenPipeError
        return answer(prompt)

    command.answer = ends_at_the_volume
    status, out, err = command.finish()
    assert status == 1, out + err
    row, run, events, _ = stored(bench["db"])
    assert events[-1].kind == "station_stop" and row["lease_owner"] is None

    resumed = Command("resume", row["run_id"], "--config", bench["config"], "--db", bench["db"], "--out",
                      bench["out"], "--as", PERFORMER, "--password-stdin")
    status, out, err = resumed.finish()
    assert status == 0, out + err
    assert "the bench station stopped the run" not in out + err
    assert any("read the sweat volume" in p for p in resumed.prompts)  # where the run was left
    row, run, events, _ = stored(bench["db"])
    assert run.sites[0].state == "result_ready" and "Result of run" in out
    assert [e.kind for e in events if e.accepted].count("start_stimulation") == 1
    assert row["lease_owner"] is None


def test_a_stop_signal_to_run_during_collection_keeps_its_time_and_resume_finishes_it_at_its_pace(bench):
    """SIGTERM of `run` while the sweat is collected: no stimulation to stop, the collection keeps its recorded
    start, the lease released; `resume` at the same station goes on with it (on the run's simulated pace) to its
    results, the site never stimulated again."""
    command = run_command(bench)
    command.follow(lambda line: "start_collection" in line)
    command.proc.send_signal(signal.SIGTERM)
    status, out, err = command.finish()
    assert status == 130, out + err
    row, run, events, _ = stored(bench["db"])
    assert not [e for e in events if e.kind == "abort"]  # a collection is never aborted by a stop
    assert events[-1].kind == "station_stop" and events[-1].data["collecting"] == ["left_forearm"]
    assert row["lease_owner"] is None
    started = run.sites[0].collection_started_at

    resumed = Command("resume", row["run_id"], "--config", bench["config"], "--db", bench["db"], "--out",
                      bench["out"], "--as", PERFORMER, "--password-stdin")
    status, out, err = resumed.finish()
    assert status == 0, out + err
    row, run, events, _ = stored(bench["db"])
    assert run.sites[0].state == "result_ready" and "Result of run" in out
    assert run.sites[0].collection_started_at == started  # its time runs from the recorded start
    assert [e.kind for e in events if e.accepted].count("start_stimulation") == 1
