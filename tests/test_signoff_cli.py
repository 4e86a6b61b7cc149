"""`sweattest sign`: review signature from the command line, amendments with a reason, wrong passwords."""

import io
import json

from sweattest.cli.main import main
from sweattest.record.audit import history, verify
from sweattest.record.signoff import signatures, versions
from sweattest.record.store.store import open_store
from sweattest.record.users import add_user
from tests.store.backends import START, make_run, sign_performed


def _stdin(monkeypatch, text):
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def _prepare(db_url):
    from sweattest.core.clock import VirtualClock

    store = open_store(db_url, VirtualClock(start=START))
    add_user(store, "rev1", "Rita Reviewer", "reviewer", "review password")
    add_user(store, "tech1", "Tina Tech", "tech", "tech password")
    make_run(store, store.clock)
    sign_performed(store, store.clock)
    store.close()


def test_review_then_amend(db_url, monkeypatch, capsys, tmp_path):
    _prepare(db_url)
    _stdin(monkeypatch, "review password\n")
    assert main(["sign", "R1", "--as", "rev1", "--meaning", "reviewed", "--password-stdin", "--db", db_url]) == 0
    assert "signed reviewed by Rita Reviewer (rev1)" in capsys.readouterr().out
    changes = tmp_path / "changes.json"
    changes.write_text(json.dumps({"comment": "sample haemolysed"}))
    monkeypatch.setattr("getpass.getpass", lambda prompt: "review password")
    assert main(["sign", "R1", "--as", "rev1", "--amend", str(changes), "--reason", "comment missing",
                 "--db", db_url]) == 0
    assert "amended as version 2" in capsys.readouterr().out
    store = open_store(db_url)
    assert [s.meaning for s in signatures(store, "R1")] == ["performed", "reviewed", "corrected"]
    assert versions(store, "R1")[0].reason == "comment missing"
    assert store.get_run("R1")["state"] == "reported"
    store.close()


def test_a_wrong_password_signs_nothing(db_url, monkeypatch, capsys):
    _prepare(db_url)
    _stdin(monkeypatch, "guess\n")
    assert main(["sign", "R1", "--as", "rev1", "--meaning", "reviewed", "--password-stdin", "--db", db_url]) == 1
    assert "authentication failed" in capsys.readouterr().err
    store = open_store(db_url)
    assert [s.meaning for s in signatures(store, "R1")] == ["performed"]
    assert store.get_run("R1")["state"] == "result_ready"
    store.close()


def test_a_tech_who_tries_to_review_is_refused_and_the_attempt_audited(db_url, monkeypatch, capsys):
    _prepare(db_url)
    _stdin(monkeypatch, "tech password\n")
    assert main(["sign", "R1", "--as", "tech1", "--meaning", "reviewed", "--password-stdin", "--db", db_url]) == 2
    err = capsys.readouterr().err
    assert "tech1 is a tech: only a reviewer or admin can review a run" in err and "MRN" not in err
    store = open_store(db_url)
    try:
        assert [s.meaning for s in signatures(store, "R1")] == ["performed"]
        refused = history(store, "R1")[-1]
        assert (refused.who, refused.what) == ("tech1", "wrong_role") and verify(store).intact
    finally:
        store.close()


def test_meaning_or_amend_is_required(db_url, capsys):
    assert main(["sign", "R1", "--as", "rev1", "--db", db_url]) == 2
    assert "either --meaning" in capsys.readouterr().err
