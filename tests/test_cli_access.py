"""Every command line that shows or exports patient data, or changes a record, asks for an authenticated user; a
list of patients read is an audit entry with who and when. Each command is named here with its reason, so a new
command is a visible decision."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime
from functools import partial

import pytest

from sweattest.cli.context import perform
from sweattest.cli.main import build_parser, main
from sweattest.core.clock import VirtualClock
from sweattest.core.config import LabConfig
from sweattest.lis.worklist import receive
from sweattest.record.audit import verify
from sweattest.record.pack_approvals import WHAT
from sweattest.record.store.store import open_store
from sweattest.record.users import add_user
from tests.lis.messages import orm
from tests.store.backends import make_run

#: Commands that ask for no user, and why.
OPEN = {
    "protocol list": "methods", "protocol show": "methods", "protocol diagram": "the procedure's states",
    "interpret": "a worksheet typed in and interpreted; nothing read from or written to the store",
    "simulate": "a simulated instrument", "instruments check": "the lab's instruments",
    "equipment list": "instruments, no patient", "equipment history": "an instrument's log, no patient",
    "calibration list": "instruments, no patient", "qc lot list": "control lots, no patient",
    "competency list": "staff records, no patient", "pt list": "proficiency samples, no patient",
    "audit verify": "names tables and keys, no patient", "audit head": "a hash",
    "user password": "the user gives their current password", "user list": "user names and roles",
    "serve": "the web app asks for a log-in on every page",
    "lis outbox": "message states, run ids and control ids; no body, no patient",
    "lis serve": "the LIS interface service (its writes are the LIS's and the system's, audited as such)",
    "lis simulate": "a simulated LIS",
    "qc runs": "analytical runs, their controls and verdicts; no patient",
    "qc days": "days with patient tests and the control levels run; counts, no patient",
    "qc stats": "control statistics per lot and month; no patient",
}


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield " ".join(path), parser
        return
    for name, sub in subs[0].choices.items():
        yield from _commands(sub, (*path, name))


def test_every_command_asks_for_a_user_or_says_why_not():
    for command, parser in _commands(build_parser()):
        options = {o for a in parser._actions for o in a.option_strings}
        if command in OPEN:
            assert not options & {"--as", "--by"}, command
            continue
        assert options & {"--as", "--by"}, f"`sweattest {command}` asks for no user"


def test_every_command_gets_its_store_configuration_and_user_from_the_context():
    """One way in: each command is declared with what it needs (sweattest.cli.context.command), so its store is
    closed on every path and its user signed in before its records are read."""
    for command, parser in _commands(build_parser()):
        func = parser.get_default("func")
        assert isinstance(func, partial) and func.func is perform, f"`sweattest {command}` opens things by hand"


@pytest.fixture
def lab(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    store = open_store(url, VirtualClock(start=datetime(2026, 11, 20, 8, tzinfo=UTC)))
    add_user(store, "tech1", "Tina Tech", "tech", "tech password", actor="setup")
    add_user(store, "qa1", "Quinn Quality", "qa", "qa desk password", actor="setup")
    add_user(store, "rev1", "Rita Reviewer", "reviewer", "review password", actor="setup")
    receive(store, store.clock, orm(), LabConfig())
    make_run(store, store.clock)
    store.close()
    return url, tmp_path


def _password(monkeypatch, password: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))


#: The QA desk's views of the whole lab are the qa role's (and a reviewer's or admin's); the bench's the tech's.
QA_DESK = {("qa", "runs"), ("qa", "pack"), ("patient", "conflicts")}


def _who(argv: list[str]) -> tuple[str, str]:
    return ("qa1", "qa desk password") if tuple(argv[:2]) in QA_DESK else ("tech1", "tech password")


#: Commands that list patients (MRNs, names) or export a period's runs: each asks for a user.
LISTS = [["qa", "runs", "--format", "csv"], ["qa", "pack", "--from", "2026-11-01", "--to", "2026-11-30", "--out",
                                             "{tmp}/pack.pdf"],
         ["patient", "history", "MRN1", "--dob", "2025-06-01"], ["patient", "conflicts"]]


@pytest.mark.parametrize("argv", [["worklist"], ["report", "R1", "--out", "{tmp}/r.html"], ["audit", "show", "R1"],
                                  *LISTS])
def test_patient_data_needs_a_user_and_the_right_password(lab, monkeypatch, capsys, argv):
    url, tmp = lab
    argv = [a.replace("{tmp}", str(tmp)) for a in argv] + ["--db", url]
    with pytest.raises(SystemExit) as stop:  # without a user: refused by the command line itself
        main(argv)
    assert stop.value.code == 2 and "--as" in capsys.readouterr().err
    user, password = _who(argv)
    _password(monkeypatch, "not the password")
    assert main([*argv, "--as", user, "--password-stdin"]) == 1
    err = capsys.readouterr().err
    assert "authentication failed" in err and "MRN" not in err and "Doe" not in err
    assert not (tmp / "r.html").exists() and not (tmp / "pack.pdf").exists()
    _password(monkeypatch, password)
    assert main([*argv, "--as", user, "--password-stdin"]) == 0
    out = capsys.readouterr().out
    if argv[0] == "worklist":
        assert "ACC-1001" in out
    elif argv[:2] == ["qa", "pack"]:
        assert (tmp / "pack.pdf").exists()
    elif argv[:2] == ["patient", "conflicts"]:
        assert "no MRN" in out
    else:
        assert "R1" in out


@pytest.mark.parametrize("argv", LISTS, ids=[" ".join(a[:2]) for a in LISTS])
def test_a_list_of_patients_read_is_recorded_with_who_and_when(lab, monkeypatch, capsys, argv):
    url, tmp = lab
    argv = [a.replace("{tmp}", str(tmp)) for a in argv]
    user, password = _who(argv)
    _password(monkeypatch, password)
    assert main([*argv, "--db", url, "--as", user, "--password-stdin"]) == 0
    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            from sweattest.record.store import schema

            # the pack's read is its approval: who, when, the period and the PDF's SHA-256 (record/pack_approvals.py)
            wanted = (schema.audit.c.what == WHAT) if argv[:2] == ["qa", "pack"] else schema.audit.c.what.like("read %")
            entry = conn.execute(schema.audit.select().where(wanted)).mappings().one()
        if argv[:2] == ["qa", "pack"]:
            assert entry["who"] == user and "sha256" in entry["new"] and entry["at"] is not None
            return
        assert entry["who"] == user and '"rows":' in entry["new"] and '"station":' in entry["new"]
        assert verify(store).intact
    finally:
        store.close()


def test_a_worklist_listing_is_recorded_with_who_and_when(lab, monkeypatch, capsys):
    url, _ = lab
    _password(monkeypatch, "tech password")
    assert main(["worklist", "--format", "json", "--db", url, "--as", "tech1", "--password-stdin"]) == 0
    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            from sweattest.record.store import schema

            entry = conn.execute(schema.audit.select().where(schema.audit.c.what == "read worklist")).mappings().one()
        assert entry["who"] == "tech1" and '"rows":1' in entry["new"] and '"format":"json"' in entry["new"]
        assert entry["at"] is not None and verify(store).intact
    finally:
        store.close()


def test_a_resend_to_the_lis_needs_a_user_and_their_password(lab, monkeypatch, capsys):
    """`lis resend --as NAME` took any name, with no password, and recorded it as who re-queued the result."""
    from sweattest.record import outbox

    url, _ = lab
    store = open_store(url)
    try:
        with store.writing() as conn:
            message_id = outbox.queue(conn, run_id="R1", version=1, fmt="hl7", channel=outbox.MLLP,
                                      destination="lis:2575", name="R1_v1.hl7", control_id="C1", body="MSH|x\r",
                                      at=store.clock.utcnow(), who="tech1")
        outbox.failed(store, message_id, store.clock.utcnow(), "AR from the LIS")
    finally:
        store.close()
    argv = ["lis", "resend", str(message_id), "--db", url]
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2 and "--as" in capsys.readouterr().err
    _password(monkeypatch, "not the password")
    assert main([*argv, "--as", "rev1", "--password-stdin"]) == 1
    assert "authentication failed" in capsys.readouterr().err
    _password(monkeypatch, "nobody's password")
    assert main([*argv, "--as", "the director", "--password-stdin"]) == 1
    _password(monkeypatch, "tech password")  # a tech may not re-queue a result for the LIS
    assert main([*argv, "--as", "tech1", "--password-stdin"]) == 1
    _password(monkeypatch, "review password")
    assert main([*argv, "--as", "rev1", "--password-stdin"]) == 0
    store = open_store(url)
    try:
        assert outbox.get(store, message_id).state == "pending"
        with store.engine.connect() as conn:
            from sweattest.record.store import schema

            who = conn.execute(schema.audit.select().where(schema.audit.c.what == "outbox resend")).mappings().one()
        assert who["who"] == "rev1"
    finally:
        store.close()


def test_resume_needs_a_user_who_may_perform_runs_and_records_who_resumed(lab, monkeypatch, capsys):
    """`sweattest resume` carried a run of a patient on with no user: it asks for a tech or reviewer and their
    password before reading the store, and the resume is recorded as theirs."""
    from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
    from sweattest.bench.order import parse_order
    from sweattest.bench.service import RunService
    from sweattest.bench.simulation.scenario import parse_scenario
    from sweattest.record.runs import load_run

    url, tmp = lab
    order = parse_order(DEMO_ORDER)
    store = open_store(url)
    try:  # a run left unfinished: created, then its process stopped before performing it
        active = RunService(store).start(order, clock=VirtualClock(speed=None), ask_repeat=False,
                                         scenario=parse_scenario(DEMO_SCENARIO, order.sites))
        active.bench.shutdown()
        active.runner.lease.release()
        events = len(store.events(active.run_id))
    finally:
        store.close()
    argv = ["resume", active.run_id, "--db", url, "--out", str(tmp / "resumed")]
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2 and "--as" in capsys.readouterr().err
    for user, password, refusal in (
            ("tech1", "not the password", "authentication failed"),
            ("qa1", "qa desk password", "qa1 is a qa: only a tech or reviewer can resume a run")):
        _password(monkeypatch, password)
        assert main([*argv, "--as", user, "--password-stdin"]) == 1
        assert refusal in capsys.readouterr().err
    store = open_store(url)
    try:
        assert len(store.events(active.run_id)) == events  # refused: nothing resumed, nothing recorded
    finally:
        store.close()
    assert not (tmp / "resumed").exists()
    _password(monkeypatch, "tech password")
    assert main([*argv, "--as", "tech1", "--password-stdin"]) == 0
    assert f"resuming run {active.run_id}" in capsys.readouterr().out
    store = open_store(url)
    try:
        run, _ = load_run(store, active.run_id)
        assert [r.by for r in run.resumptions] == ["tech1"] and run.state == "result_ready"
        assert verify(store).intact
    finally:
        store.close()


def test_a_run_resumed_by_another_user_records_that_user_for_what_follows(lab, monkeypatch, capsys):
    """The run's operator went home; a reviewer resumes the run at the terminal. Every step after the resume is
    recorded as the reviewer's, not as the absent operator's."""
    from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
    from sweattest.bench.order import parse_order
    from sweattest.bench.service import RunService
    from sweattest.bench.simulation.scenario import parse_scenario

    url, tmp = lab
    order = parse_order(DEMO_ORDER)
    store = open_store(url)
    try:
        active = RunService(store).start(order, clock=VirtualClock(speed=None), ask_repeat=False,
                                         scenario=parse_scenario(DEMO_SCENARIO, order.sites))
        active.bench.shutdown()
        active.runner.lease.release()
    finally:
        store.close()
    _password(monkeypatch, "review password")
    assert main(["resume", active.run_id, "--db", url, "--out", str(tmp / "resumed"), "--as", "rev1",
                 "--password-stdin"]) == 0
    capsys.readouterr()
    store = open_store(url)
    try:
        kinds = [(e.kind, e.data.get("actor")) for e in store.events(active.run_id)]
    finally:
        store.close()
    after = kinds[[k for k, _ in kinds].index("resume"):]
    assert after[0] == ("resume", "rev1")
    assert {actor for _, actor in after} <= {"rev1", "timer", "system"}, after
