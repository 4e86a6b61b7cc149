"""A sign-in refused on the command line is an audit entry however it failed: a wrong password (docs/ui.md), the
right password of a disabled account, or a user whose role may not do what the command does. Each refusal is one
line naming no patient and exit status 1; nothing but its audit entry is written, and the chain stays intact.
On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa

from sweattest.cli.main import main
from sweattest.core.config import LabConfig
from sweattest.lis.worklist import receive
from sweattest.record.audit import verify
from sweattest.record.store.store import open_store, schema
from sweattest.record.users import add_user, disable_user
from tests.lis.messages import orm
from tests.store import backends

store_url = backends.store_url  # both backends


@pytest.fixture
def lab(store_url):
    """A lab's store: an administrator, two techs (tech2 disabled), the QA desk, and an LIS order (MRN555)."""
    store = open_store(store_url, backends.VirtualClock(start=backends.START))
    try:
        add_user(store, "admin1", "Ada Admin", "admin", "admin password", actor="setup")
        for username, name, role in (("tech1", "Tina Tech", "tech"), ("tech2", "Tom Tech", "tech"),
                                     ("qa1", "Quinn Quality", "qa")):
            add_user(store, username, name, role, f"{role} password", actor="admin1", actor_password="admin password")
        disable_user(store, "tech2", actor="admin1", actor_password="admin password")
        receive(store, store.clock, orm(), LabConfig())
    finally:
        store.close()
    return store_url


def _entries(url: str) -> list[dict]:
    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(schema.audit).order_by(schema.audit.c.id)).mappings()]
    finally:
        store.close()


def _intact_with_no_run(url: str) -> None:
    store = open_store(url)
    try:
        assert store.list_runs() == [] and verify(store).intact
    finally:
        store.close()


#: (command line, user, password, the refusal's audit entry, what the user is told)
REFUSALS = {
    "a tech lists the patient runs": (
        ["qa", "runs", "--format", "csv"], "tech1", "tech password", "wrong_role",
        "tech1 is a tech: only a reviewer or qa or admin can view patient runs"),
    "a qa user starts the demo in the lab's store": (
        ["demo", "--out", "{tmp}/out"], "qa1", "qa password", "wrong_role",
        "qa1 is a qa: only a tech or reviewer can run the demo in a store that has users"),
    "an admin starts the demo in the lab's store": (
        ["demo", "--out", "{tmp}/out"], "admin1", "admin password", "wrong_role",
        "admin1 is an admin: only a tech or reviewer can run the demo in a store that has users"),
    "a disabled tech lists the worklist": (
        ["worklist"], "tech2", "tech password", "disabled_sign_in", "authentication failed"),
    "a disabled tech starts the demo": (
        ["demo", "--out", "{tmp}/out"], "tech2", "tech password", "disabled_sign_in", "authentication failed"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_refused_sign_in_is_audited_and_nothing_else_written(lab, tmp_path, monkeypatch, capsys, case):
    argv, user, password, what, told = REFUSALS[case]
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    before = _entries(lab)
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    assert main([*argv, "--db", lab, "--as", user, "--password-stdin"]) == 1
    err = capsys.readouterr().err
    assert told in err and err.count("\n") == 1
    assert "MRN555" not in err and "Tom Tech" not in err and "Quinn" not in err
    [entry] = _entries(lab)[len(before):]  # one entry: who tried, what, where, why; no patient
    command = " ".join(argv[:2] if argv[0] == "qa" else argv[:1])
    assert entry["who"] == user and entry["what"] == what and entry["at"] is not None
    assert f"command line: sweattest {command}" in entry["why"] and "MRN" not in json.dumps(entry, default=str)
    if what == "wrong_role":
        assert json.loads(entry["new"])["action"] in told and "cannot" in entry["why"]
    else:
        assert "the account is disabled" in entry["why"]
    assert not (tmp_path / "out").exists()
    _intact_with_no_run(lab)


def test_a_user_who_is_not_an_administrator_is_refused_and_audited(lab, monkeypatch, capsys):
    before = _entries(lab)
    monkeypatch.setattr("sys.stdin", io.StringIO("tech password\nnew user password\n"))
    assert main(["user", "add", "rev2", "--name", "Rita Two", "--role", "reviewer", "--by", "tech1",
                 "--password-stdin", "--db", lab]) == 1
    assert "tech1 is not an administrator; only an administrator can manage users" in capsys.readouterr().err
    [entry] = _entries(lab)[len(before):]
    assert (entry["who"], entry["what"]) == ("tech1", "wrong_role") and "manage users" in entry["why"]
    assert main(["user", "list", "--db", lab]) == 0
    assert "rev2" not in capsys.readouterr().out
    _intact_with_no_run(lab)


def test_the_only_active_administrator_cannot_be_disabled_so_nobody_adds_users_without_one(lab, monkeypatch, capsys):
    """Disabling the last administrator left a store that needed no administrator at all: anyone then added
    an administrator of their own, with no password, and `audit verify` said intact. The last one is kept; a
    disabled administrator still makes the store one whose users only an administrator manages."""
    monkeypatch.setattr("sys.stdin", io.StringIO("admin password\n"))
    assert main(["user", "disable", "admin1", "--by", "admin1", "--password-stdin", "--db", lab]) == 2
    assert "admin1 is the only active administrator: add another administrator first" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("a password of my own\n"))
    assert main(["user", "add", "mallory", "--name", "M", "--role", "admin", "--password-stdin", "--db", lab]) == 2
    assert "--by ADMIN: an administrator must add users" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("admin password\nsecond admin password\n"))
    assert main(["user", "add", "admin2", "--name", "Al Admin", "--role", "admin", "--by", "admin1",
                 "--password-stdin", "--db", lab]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("second admin password\n"))
    assert main(["user", "disable", "admin1", "--by", "admin2", "--password-stdin", "--db", lab]) == 0
    store = open_store(lab)
    try:  # admin1 is disabled (a lab may disable a departed administrator); admin2 is kept, so is the rule
        with store.writing() as conn:  # admin2 left too, behind the program's back (caught by verify)
            conn.execute(schema.users.update().values(active=False))
    finally:
        store.close()
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("a password of my own\n"))
    assert main(["user", "add", "mallory", "--name", "M", "--role", "admin", "--password-stdin", "--db", lab]) == 2
    assert "an administrator must add users" in capsys.readouterr().err
    assert main(["user", "list", "--db", lab]) == 0
    assert "mallory" not in capsys.readouterr().out
