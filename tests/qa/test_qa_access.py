"""Every command that shows patient data asks who is asking, like `sign` does: `qa *`, `patient *` and the pack
need ``--as USER`` and the password. The QA desk is the reviewer, qa and admin roles; a patient's history is also
open to the tech at the bench; the pack is signed "approved" by the qa role alone (not the reviewer who releases
results). Every role on every command."""

import io

import pytest

from sweattest.cli.main import main
from sweattest.record.pack_approvals import approvals
from sweattest.record.store.store import open_store
from sweattest.record.users import a_role, add_user

PASSWORD = "role test password"
ROLES = ("tech", "reviewer", "qa", "admin")
DESK = {"reviewer", "qa", "admin"}
#: command -> the roles that may run it
COMMANDS = [
    (["qa", "runs"], DESK),
    (["qa", "qns-rate"], DESK),
    (["qa", "summary", "--month", "2026-11"], DESK),
    (["qa", "qc-chart", "--analyzer", "CC-1", "--level", "normal", "--out", "{tmp}/lj.png"], DESK),
    (["qa", "skin-reactions"], DESK),
    (["qa", "competency", "--year", "2026"], DESK),
    (["qa", "pack", "--from", "2026-11-01", "--to", "2026-11-30", "--out", "{tmp}/pack.pdf"], {"qa"}),
    (["patient", "history", "MRN1", "--dob", "2025-06-01"], {"tech", *DESK}),
    (["patient", "conflicts"], DESK),
]


@pytest.fixture(scope="module")
def users_db(tmp_path_factory):
    db = f"sqlite:///{tmp_path_factory.mktemp('access') / 'runs.db'}"
    store = open_store(db)
    add_user(store, "admin", "Ada Admin", "admin", PASSWORD)
    for role in ROLES[:-1]:
        add_user(store, role, f"{role.title()} User", role, PASSWORD, actor="admin", actor_password=PASSWORD)
    store.close()
    return db


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("argv", "allowed"), COMMANDS, ids=[" ".join(c[:2]) for c, _ in COMMANDS])
def test_every_role_on_every_qa_command(users_db, tmp_path, monkeypatch, capsys, argv, allowed, role):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code = main([*argv, "--as", role, "--password-stdin", "--db", users_db])
    err = capsys.readouterr().err
    if role in allowed:
        assert "only a" not in err, err
        assert code == 0 or "no QC results" in err  # an empty store has no chart to draw
    else:
        assert code != 0 and f"{role} is {a_role(role)}: only a " in err
        assert not (tmp_path / "pack.pdf").exists()


@pytest.mark.parametrize("argv", [c for c, _ in COMMANDS], ids=[" ".join(c[:2]) for c, _ in COMMANDS])
def test_no_user_no_patient_data(users_db, tmp_path, capsys, argv):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--db", users_db])
    assert exit_.value.code == 2 and "the following arguments are required: --as" in capsys.readouterr().err


def test_a_wrong_password_shows_nothing(users_db, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("not it\n"))
    assert main(["patient", "conflicts", "--as", "qa", "--password-stdin", "--db", users_db]) != 0
    captured = capsys.readouterr()
    assert "authentication failed" in captured.err and captured.out == ""


def test_the_pack_is_signed_approved_by_the_qa_user(users_db, tmp_path, monkeypatch, capsys):
    import hashlib

    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    out = tmp_path / "nov.pdf"
    assert main(["qa", "pack", "--from", "2026-11-01", "--to", "2026-11-30", "--out", str(out), "--as", "qa",
                 "--password-stdin", "--db", users_db]) == 0
    assert "approved by Qa User (qa), audit entry" in capsys.readouterr().out
    store = open_store(users_db)
    try:
        last = approvals(store)[-1]
    finally:
        store.close()
    assert (last["who"], last["meaning"], last["from"], last["to"]) == ("qa", "approved", "2026-11-01", "2026-11-30")
    assert last["pdf_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
