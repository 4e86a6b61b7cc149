"""`sweattest user`: the first administrator, then users added and disabled only by an administrator who
gives their password (21 CFR 11.10(d),(g)); passwords from stdin or the prompt; bad input is clear."""

import io

from sweattest.cli.main import main


def _stdin(monkeypatch, text):
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def _first_admin(db_url, monkeypatch):
    _stdin(monkeypatch, "admin password\n")
    assert main(["user", "add", "admin1", "--name", "Ada Admin", "--role", "admin", "--password-stdin",
                 "--db", db_url]) == 0


def test_add_list_disable(db_url, monkeypatch, capsys):
    _first_admin(db_url, monkeypatch)
    _stdin(monkeypatch, "admin password\nreview password\n")  # the administrator's, then the new user's
    assert main(["user", "add", "rev1", "--name", "Rita Reviewer", "--role", "reviewer", "--by", "admin1",
                 "--password-stdin", "--db", db_url]) == 0
    answers = iter(["admin password", "tech password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    assert main(["user", "add", "tech1", "--name", "Tina Tech", "--role", "tech", "--by", "admin1",
                 "--db", db_url]) == 0
    monkeypatch.setattr("getpass.getpass", lambda prompt: "admin password")
    assert main(["user", "disable", "tech1", "--by", "admin1", "--db", db_url]) == 0
    capsys.readouterr()
    assert main(["user", "list", "--db", db_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[:3] for ln in lines] == [["admin1", "admin", "active"], ["rev1", "reviewer", "active"],
                                                ["tech1", "tech", "disabled"]]


def test_only_an_administrator_with_their_password_manages_users(db_url, monkeypatch, capsys):
    _first_admin(db_url, monkeypatch)
    _stdin(monkeypatch, "admin password\nreview password\n")
    assert main(["user", "add", "rev1", "--name", "Rita Reviewer", "--role", "reviewer", "--by", "admin1",
                 "--password-stdin", "--db", db_url]) == 0
    capsys.readouterr()
    # no administrator named
    _stdin(monkeypatch, "new password\n")
    assert main(["user", "add", "rev2", "--name", "R Two", "--role", "reviewer", "--password-stdin",
                 "--db", db_url]) == 2
    assert "--by ADMIN" in capsys.readouterr().err
    # a reviewer is not an administrator
    _stdin(monkeypatch, "review password\nnew password\n")
    assert main(["user", "add", "rev2", "--name", "R Two", "--role", "reviewer", "--by", "rev1",
                 "--password-stdin", "--db", db_url]) != 0
    assert "not an administrator" in capsys.readouterr().err
    # the administrator's password is wrong
    _stdin(monkeypatch, "wrong password\n")
    assert main(["user", "disable", "rev1", "--by", "admin1", "--password-stdin", "--db", db_url]) != 0
    capsys.readouterr()
    assert main(["user", "list", "--db", db_url]) == 0
    listed = capsys.readouterr().out
    assert "rev2" not in listed and "rev1             reviewer  active" in listed  # nothing changed


def test_a_short_password_is_refused_and_no_user_added(db_url, monkeypatch, capsys):
    _stdin(monkeypatch, "short\n")
    assert main(["user", "add", "rev1", "--name", "R", "--role", "reviewer", "--password-stdin",
                 "--db", db_url]) == 2
    assert "at least 10 characters" in capsys.readouterr().err
    assert main(["user", "list", "--db", db_url]) == 0
    assert capsys.readouterr().out == ""


def test_disabling_an_unknown_user_is_clear(db_url, monkeypatch, capsys):
    _first_admin(db_url, monkeypatch)
    _stdin(monkeypatch, "admin password\n")
    assert main(["user", "disable", "ghost", "--by", "admin1", "--password-stdin", "--db", db_url]) == 2
    assert "no user 'ghost'" in capsys.readouterr().err


def test_disabling_a_user_keeps_the_labs_lock_out_rules(db_url, monkeypatch, capsys, tmp_path):
    """The lab locks an account after two wrong passwords: guessing the administrator's password through
    `user disable` locks it as a log-in does, and the right password then is refused until the lock ends."""
    config = tmp_path / "lab.toml"
    config.write_text("[access]\nlockout_after = 2\n", encoding="utf-8")
    _first_admin(db_url, monkeypatch)
    _stdin(monkeypatch, "admin password\ntech password\n")
    assert main(["user", "add", "tech1", "--name", "Tina Tech", "--role", "tech", "--by", "admin1",
                 "--password-stdin", "--db", db_url, "--config", str(config)]) == 0
    for guess in ("guess one", "guess two", "admin password"):
        _stdin(monkeypatch, guess + "\n")
        assert main(["user", "disable", "tech1", "--by", "admin1", "--password-stdin", "--db", db_url,
                     "--config", str(config)]) == 1
    assert "account admin1 is locked" in capsys.readouterr().err
    assert main(["user", "list", "--db", db_url]) == 0
    assert "tech1            tech      active" in capsys.readouterr().out
