"""Users, e-signatures and amendments: the rules a QA inspector checks."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime, timedelta

import pytest

from sweattest.audit import history, verify
from sweattest.cli import user as user_cli
from sweattest.errors import StoreError, ValidationError
from sweattest.users import add_user, amend_result, disable_user, list_users, sign, signatures

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PW = "correct horse"


@pytest.fixture
def lab(store):
    for name, role in (("tech1", "tech"), ("rev1", "reviewer"), ("boss", "admin"), ("tech2", "tech")):
        add_user(store, name, role=role, password=PW, full_name=name.title(), by="boss", at=T0)
    store.create_run("R1", accession="A1", method="macroduct", operator="tech1", patient_mrn="M",
                     created_at=T0, order={})
    store.set_run_state("R1", "reported", T0 + timedelta(minutes=40))
    return store


def test_password_is_stored_as_scrypt_with_its_parameters(lab):
    with lab.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM users WHERE username = 'tech1'").scalar()
    assert stored.startswith("scrypt$16384$8$1$") and PW not in stored
    assert "correct" not in str([e["new"] for e in history(lab, None)])


def test_list_hides_hashes_and_shows_roles(lab):
    users = {u["username"]: u for u in list_users(lab)}
    assert users["rev1"]["role"] == "reviewer" and "password_hash" not in users["rev1"]


def test_operator_signs_performed_and_another_reviewer_reviews(lab):
    sign(lab, "R1", username="tech1", password=PW, meaning="performed", at=T0 + timedelta(hours=1))
    sign(lab, "R1", username="rev1", password=PW, meaning="reviewed", at=T0 + timedelta(hours=2))
    sigs = signatures(lab, "R1")
    assert [(s["username"], s["meaning"]) for s in sigs] == [("tech1", "performed"), ("rev1", "reviewed")]
    assert sigs[1]["at"] == T0 + timedelta(hours=2)
    assert [e["what"] for e in history(lab, "R1")][-2:] == ["signed: performed", "signed: reviewed"]
    assert verify(lab).intact


@pytest.mark.parametrize("username, password, meaning, message", [
    ("rev1", "wrong password", "reviewed", "wrong user name or password"),
    ("ghost", PW, "reviewed", "wrong user name or password"),
    ("tech1", PW, "reviewed", "performed run R1 and cannot review it"),
    ("tech2", PW, "reviewed", "reviews are signed by a reviewer or admin"),
    ("rev1", PW, "performed", "only they can sign it as performed"),
    ("rev1", PW, "approved", "not one of performed, reviewed, corrected"),
    ("rev1", PW, "corrected", "amending the result"),
])
def test_signature_refusals_sign_nothing(lab, username, password, meaning, message):
    with pytest.raises(ValidationError, match=message):
        sign(lab, "R1", username=username, password=password, meaning=meaning, at=T0)
    assert signatures(lab, "R1") == []


def test_admin_who_performed_cannot_review_either(lab):
    lab.create_run("R2", accession="A2", method="macroduct", operator="boss", patient_mrn="M",
                   created_at=T0, order={})
    lab.set_run_state("R2", "aborted", T0)
    with pytest.raises(ValidationError, match="cannot review"):
        sign(lab, "R2", username="boss", password=PW, meaning="reviewed", at=T0)


def test_unfinished_run_cannot_be_reviewed(lab):
    lab.create_run("R3", accession="A3", method="macroduct", operator="tech1", patient_mrn="M",
                   created_at=T0, order={})
    with pytest.raises(ValidationError, match="still created"):
        sign(lab, "R3", username="rev1", password=PW, meaning="reviewed", at=T0)


def test_disabled_user_cannot_sign(lab):
    disable_user(lab, "rev1", by="boss", why="left the lab", at=T0)
    with pytest.raises(ValidationError, match="disabled"):
        sign(lab, "R1", username="rev1", password=PW, meaning="reviewed", at=T0)
    assert [u["disabled"] for u in list_users(lab) if u["username"] == "rev1"] == [True]


def test_amendment_adds_a_corrected_version_with_reason(lab):
    final = {"qns": False, "sites": {"left": {"chloride": 45}}}
    assert lab.record_result("R1", final, who="tech1", at=T0 + timedelta(hours=1)) == 1
    fixed = {"qns": False, "sites": {"left": {"chloride": 54}}}
    version = amend_result(lab, "R1", username="rev1", password=PW, reason="transcription error",
                           result=fixed, at=T0 + timedelta(days=1))
    assert version == 2
    versions = lab.result_versions("R1")
    assert [(v["version"], v["status"], v["reason"]) for v in versions] == [
        (1, "final", None), (2, "corrected", "transcription error")]
    assert versions[0]["result"] == final and versions[1]["result"] == fixed
    run = lab.get_run("R1")
    assert run["result_status"] == "corrected" and run["result_version"] == 2
    assert signatures(lab, "R1")[-1]["meaning"] == "corrected"
    entry = [e for e in history(lab, "R1") if e["what"] == "result corrected"][0]
    assert entry["old"] == final and entry["new"]["sites"]["left"]["chloride"] == 54
    assert entry["why"] == "transcription error"


def test_final_result_is_not_overwritten(lab):
    lab.record_result("R1", {"qns": True}, who="tech1", at=T0)
    with pytest.raises(StoreError, match="only by an amendment"):
        lab.record_result("R1", {"qns": False}, who="tech1", at=T0)
    assert lab.get_run("R1")["qns"] is True


@pytest.mark.parametrize("kw, message", [
    ({"reason": " "}, "needs a reason"),
    ({"username": "tech1"}, "corrected by a reviewer or admin"),
    ({"password": "nope"}, "wrong user name or password"),
    ({"result": {"chloride": 1}}, "qns true or false"),
])
def test_bad_amendments_change_nothing(lab, kw, message):
    lab.record_result("R1", {"qns": False, "c": 45}, who="tech1", at=T0)
    args = dict(username="rev1", password=PW, reason="typo", result={"qns": False, "c": 50}, at=T0)
    with pytest.raises(ValidationError, match=message):
        amend_result(lab, "R1", **(args | kw))
    assert len(lab.result_versions("R1")) == 1 and lab.get_run("R1")["result_version"] == 1


def test_amending_without_final_result_is_refused(lab):
    with pytest.raises(ValidationError, match="no final result"):
        amend_result(lab, "R1", username="rev1", password=PW, reason="x", result={"qns": False}, at=T0)


@pytest.mark.parametrize("kw, message", [
    ({"role": "boss"}, "not one of tech, reviewer, admin"),
    ({"password": "short"}, "at least 8"),
    ({"username": "a b"}, "letters, digits"),
    ({"username": "tech1"}, "already exists"),
])
def test_bad_new_users_are_refused(lab, kw, message):
    args = dict(username="new1", role="tech", password=PW, full_name="N", by="boss", at=T0) | kw
    name = args.pop("username")
    with pytest.raises(ValidationError, match=message):
        add_user(lab, name, **args)
    assert len(list_users(lab)) == 4


def run_cli(store, monkeypatch, argv, stdin=""):
    parser = argparse.ArgumentParser()
    user_cli.register(parser.add_subparsers())
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    url = store.engine.url.render_as_string(hide_password=False)
    args = parser.parse_args(["user", *argv, "--db", url])
    return args.func(args)


def test_cli_first_account_must_be_admin_then_admin_adds_others(store, monkeypatch, capsys):
    with pytest.raises(ValidationError, match="first account must be an admin"):
        run_cli(store, monkeypatch, ["add", "t1", "--role", "tech", "--name", "T", "--password-stdin"], PW)
    run_cli(store, monkeypatch, ["add", "boss", "--role", "admin", "--name", "B", "--password-stdin"], PW)
    with pytest.raises(ValidationError, match="needs an admin"):
        run_cli(store, monkeypatch, ["add", "t1", "--role", "tech", "--name", "T", "--password-stdin"], PW)
    run_cli(store, monkeypatch, ["add", "t1", "--role", "tech", "--name", "Tina Tech", "--as", "boss",
                                 "--password-stdin"], f"{PW}\n{PW}\n")
    with pytest.raises(ValidationError, match="not an admin"):
        run_cli(store, monkeypatch, ["disable", "boss", "--reason", "x", "--as", "t1", "--password-stdin"], PW)
    run_cli(store, monkeypatch, ["disable", "t1", "--reason", "left", "--as", "boss", "--password-stdin"], PW)
    capsys.readouterr()
    run_cli(store, monkeypatch, ["list"])
    out = capsys.readouterr().out
    assert "t1               tech      disabled  Tina Tech" in out
    assert [e["what"] for e in history(store, None)] == ["user added", "user added", "user disabled"]
