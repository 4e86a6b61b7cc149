"""`sweattest user`: add with a password from stdin or the prompt, list, disable; bad input is clear."""

import io

from sweattest.cli.main import main


def _stdin(monkeypatch, text):
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_add_list_disable(db_url, monkeypatch, capsys):
    _stdin(monkeypatch, "review password\n")
    assert main(["user", "add", "rev1", "--name", "Rita Reviewer", "--role", "reviewer", "--password-stdin",
                 "--db", db_url]) == 0
    monkeypatch.setattr("getpass.getpass", lambda prompt: "tech password")
    assert main(["user", "add", "tech1", "--name", "Tina Tech", "--role", "tech", "--db", db_url]) == 0
    assert main(["user", "disable", "tech1", "--db", db_url]) == 0
    capsys.readouterr()
    assert main(["user", "list", "--db", db_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["rev1", "reviewer", "active"]
    assert lines[1].split()[:3] == ["tech1", "tech", "disabled"]


def test_a_short_password_is_refused_and_no_user_added(db_url, monkeypatch, capsys):
    _stdin(monkeypatch, "short\n")
    assert main(["user", "add", "rev1", "--name", "R", "--role", "reviewer", "--password-stdin",
                 "--db", db_url]) == 2
    assert "at least 8 characters" in capsys.readouterr().err
    assert main(["user", "list", "--db", db_url]) == 0
    assert capsys.readouterr().out == ""


def test_disabling_an_unknown_user_is_clear(db_url, capsys):
    assert main(["user", "disable", "ghost", "--db", db_url]) == 2
    assert "no user 'ghost'" in capsys.readouterr().err
