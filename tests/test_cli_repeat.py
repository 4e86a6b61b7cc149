"""`sweattest run` on an accession that has a run already: refused in one line unless the repeat is declared
(--repeat-of RUN_ID --reason ...); the link is in the record file."""


from sweattest.cli.main import main
from sweattest.record.store.store import open_store
from tests.conftest import as_performer
from tests.run_folder import record_in


def _run(write_json, order, scenario, out, db_url, *extra):
    args = ["run", "--order", write_json("order.json", order), "--simulate", write_json("scenario.json", scenario),
            "--out", str(out), "--db", db_url, *extra]
    with as_performer(db_url) as actor:
        return main(args + actor)


def _runs(db_url):
    store = open_store(db_url)
    try:
        return [r["run_id"] for r in store.list_runs()]
    finally:
        store.close()


def test_a_second_run_of_an_accession_must_be_declared_a_repeat(write_json, order_doc, scenario_doc, tmp_path,
                                                                 db_url, capsys):
    assert _run(write_json, order_doc, scenario_doc, tmp_path / "one", db_url) == 0
    [first] = _runs(db_url)
    capsys.readouterr()
    assert _run(write_json, order_doc, scenario_doc, tmp_path / "two", db_url) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"already has run {first}" in err and "--repeat-of" in err
    assert _runs(db_url) == [first] and not (tmp_path / "two").exists()
    for bad, said in ((["--repeat-of", "R-NOPE", "--reason", "qns"], "no such run"),
                      (["--repeat-of", first], "give --reason"),
                      (["--repeat-of", first, "--reason", "bored"], "use one of"),
                      (["--reason", "qns"], "go with --repeat-of")):
        assert _run(write_json, order_doc, scenario_doc, tmp_path / "two", db_url, *bad) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and said in err, (bad, err)
        assert _runs(db_url) == [first]
    assert _run(write_json, order_doc, scenario_doc, tmp_path / "two", db_url, "--repeat-of", first,
                "--reason", "technical_failure") == 0
    assert f"repeat of run {first}" in capsys.readouterr().out
    record = record_in(tmp_path / "two")
    assert record["repeat_of"]["run_id"] == first and record["repeat_of"]["reason"] == "technical_failure"


def test_a_repeat_of_another_patients_run_is_refused(write_json, order_doc, scenario_doc, tmp_path, db_url, capsys):
    assert _run(write_json, order_doc, scenario_doc, tmp_path / "one", db_url) == 0
    [first] = _runs(db_url)
    other = order_doc | {"accession": "ST-2026-000999", "patient": order_doc["patient"] | {"dob": "2025-05-01"}}
    capsys.readouterr()
    assert _run(write_json, other, scenario_doc, tmp_path / "two", db_url, "--repeat-of", first, "--reason",
                "qns") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another patient" in err and _runs(db_url) == [first]


def test_what_the_store_says_of_an_accession_or_a_run_is_told_only_after_the_password(
        write_json, order_doc, scenario_doc, tmp_path, db_url, capsys, monkeypatch):
    """`sweattest run --order FILE` reads the store (the accession's runs, the run a repeat repeats) only after the
    user's password: without it, nobody learns that an accession has a run, its date and state, or whether a run
    is of a given MRN and date of birth; a wrong password is told as such, and nothing is written."""
    import io

    assert _run(write_json, order_doc, scenario_doc, tmp_path / "one", db_url) == 0
    [first] = _runs(db_url)
    capsys.readouterr()
    other = order_doc | {"accession": "ST-2026-000999", "patient": order_doc["patient"] | {"mrn": "MRN-GUESS"}}
    same = order_doc | {"accession": "ST-2026-000999"}
    for order, extra, told in ((order_doc, [], f"already has run {first}"),
                               (other, ["--repeat-of", first, "--reason", "qns"], "another patient"),
                               (same, ["--repeat-of", first, "--reason", "qns"], None)):
        args = ["run", "--order", write_json("order.json", order), "--simulate", write_json("s.json", scenario_doc),
                "--out", str(tmp_path / "two"), "--db", db_url, *extra]
        for password in ("", "not the password"):
            monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
            assert main([*args, "--as", "tech1", "--password-stdin"]) in (1, 2)
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and ("no password given" if not password else "authentication failed") in err
            assert first not in err and "another patient" not in err and "MRN" not in err, err
        assert _runs(db_url) == [first] and not (tmp_path / "two").exists()
        if told is not None:
            assert _run(write_json, order, scenario_doc, tmp_path / "two", db_url, *extra) == 2
            assert told in capsys.readouterr().err and _runs(db_url) == [first]


def test_a_patient_run_repeating_a_simulated_run_is_told_so_not_of_another_patient(write_json, order_doc,
                                                                                   scenario_doc, tmp_path, db_url,
                                                                                   capsys):
    assert _run(write_json, order_doc, scenario_doc, tmp_path / "one", db_url) == 0
    [first] = _runs(db_url)
    capsys.readouterr()
    args = ["run", "--order", write_json("order.json", order_doc), "--out", str(tmp_path / "two"), "--db", db_url,
            "--repeat-of", first, "--reason", "qns"]
    with as_performer(db_url) as actor:
        assert main(args + actor) == 2  # refused after the password, before anything is written
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another patient" not in err
    assert f"run {first} was simulated" in err and _runs(db_url) == [first]
