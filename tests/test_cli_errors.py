"""Every failure a user can cause at the command line ends in one line on stderr and a non-zero exit, never
a traceback, with nothing lost: output folders checked before work starts, names from an order kept inside
the chosen folder, inputs nested too deeply, a password asked with no terminal, an unknown run resumed."""

from __future__ import annotations

import getpass
import io
import os
from pathlib import Path

import pytest

from sweattest.cli.main import main
from sweattest.cli.options import out_dir
from sweattest.core.clock import VirtualClock
from sweattest.core.errors import ValidationError
from sweattest.record.audit import history
from sweattest.record.store.store import open_store
from sweattest.record.users import add_user
from tests.conftest import as_performer
from tests.report.test_delivery import _as_rev1
from tests.store.backends import START, make_run


def _one_line(err: str) -> str:
    assert err.startswith("sweattest: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def unwritable(tmp_path) -> Path:
    """A folder nobody can write in (sysfs is read-only even for root)."""
    if os.geteuid() == 0:
        return Path("/sys")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


@pytest.fixture
def stored(db_url):
    store = open_store(db_url, VirtualClock(start=START))
    make_run(store, store.clock)
    add_user(store, "rev1", "Rita Reviewer", "reviewer", "correct horse", actor="setup")
    store.close()
    return db_url


def test_export_to_a_folder_that_cannot_be_written_is_one_line(stored, unwritable, capsys, monkeypatch):
    store = open_store(stored)
    entries = len(history(store, "R1"))
    assert main(["export", "R1", "--format", "hl7", "--to", str(unwritable), "--db", stored,
                 *_as_rev1(monkeypatch)]) == 2
    assert f"--to: cannot write in {unwritable}" in _one_line(capsys.readouterr().err)
    assert len(history(store, "R1")) == entries  # nothing recorded as sent
    store.close()


def test_a_failing_write_during_export_is_one_line(stored, tmp_path, capsys, monkeypatch):
    def full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("sweattest.outputs.files.os.replace", full)
    assert main(["export", "R1", "--format", "csv", "--to", str(tmp_path), "--db", stored,
                 *_as_rev1(monkeypatch)]) == 1
    assert "No space left on device" in _one_line(capsys.readouterr().err)
    assert [p.name for p in tmp_path.iterdir()] == ["runs.db"]  # no partial file


def test_report_into_a_folder_that_cannot_be_written_is_one_line(stored, unwritable, tmp_path, capsys, monkeypatch):
    assert main(["report", "R1", "--out", str(unwritable / "r.html"), "--db", stored, *_as_rev1(monkeypatch)]) == 2
    assert f"--out: cannot write in {unwritable}" in _one_line(capsys.readouterr().err)
    assert main(["report", "R1", "--out", str(tmp_path / "no" / "r.html"), "--db", stored,
                 *_as_rev1(monkeypatch)]) == 2
    assert "does not exist" in _one_line(capsys.readouterr().err)


def test_run_out_is_checked_before_the_run_starts(unwritable, tmp_path, db_url, capsys):
    assert main(["demo", "--out", str(unwritable / "results"), "--db", db_url]) == 2
    assert f"--out: cannot write in {unwritable}" in _one_line(capsys.readouterr().err)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert main(["demo", "--out", str(a_file / "results"), "--db", db_url]) == 2
    assert "is not a folder" in _one_line(capsys.readouterr().err)
    store = open_store(db_url)
    assert store.list_runs() == []  # no run was started
    store.close()


def test_an_accession_never_moves_the_output_folder(tmp_path, monkeypatch):
    here = tmp_path / "lab" / "bench"
    here.mkdir(parents=True)
    monkeypatch.chdir(here)
    folder = out_dir(None, "A/../../x", "R1")
    assert folder.parent == here and folder.name == "sweattest-A-..-..-x-R1"
    assert out_dir(None, "ST-1", "../../R1").parent == here


def test_input_nested_too_deeply_is_one_line(tmp_path, write_json, scenario_doc, db_url, capsys):
    deep = write_json("deep.json", "[" * 100_000 + "]" * 100_000)
    assert main(["run", "--order", deep, "--simulate", write_json("s.json", scenario_doc), "--db", db_url]) == 2
    assert "nested too deeply" in _one_line(capsys.readouterr().err)
    config = tmp_path / "deep.toml"
    config.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    assert main(["demo", "--config", str(config), "--db", db_url, "--out", str(tmp_path / "o")]) == 2
    assert "nested too deeply to be a lab configuration" in _one_line(capsys.readouterr().err)
    assert not (tmp_path / "o").exists()


def test_user_add_without_a_terminal_says_so(db_url, monkeypatch, capsys):
    monkeypatch.setattr("getpass.getpass", getpass.fallback_getpass)  # what getpass does with no terminal
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["user", "add", "ann", "--role", "admin", "--name", "Ann Admin", "--db", db_url]) == 2
    err = _one_line(capsys.readouterr().err)
    assert "no terminal" in err and "--password-stdin" in err
    monkeypatch.setattr("getpass.getpass", lambda prompt: (_ for _ in ()).throw(EOFError()))
    assert main(["user", "add", "ann", "--role", "admin", "--name", "Ann Admin", "--db", db_url]) == 2
    assert "--password-stdin" in _one_line(capsys.readouterr().err)
    assert main(["user", "list", "--db", db_url]) == 0 and "ann" not in capsys.readouterr().out


def test_resume_of_an_unknown_or_finished_run_fails(stored, capsys):
    with as_performer(stored) as who:
        assert main(["resume", "NOPE", "--db", stored, *who]) == 2
    assert "no run 'NOPE' in the store" in _one_line(capsys.readouterr().err)
    with as_performer(stored) as who:
        assert main(["resume", "R1", "--db", stored, *who]) == 2
    assert "run R1 is result_ready, not unfinished" in _one_line(capsys.readouterr().err)


def test_the_out_check_names_the_problem(tmp_path):
    from sweattest.outputs.files import check_folder

    assert check_folder(tmp_path / "new" / "deeper", "--out") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checked, not created
    with pytest.raises(ValidationError, match="does not exist"):
        check_folder(tmp_path / "new", "--to", create=False)
