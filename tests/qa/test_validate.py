"""`sweattest validate`: a signed validation report whose SHA-256 is in the audit trail; PASS exits 0, a rule
that no longer follows its guideline makes the report FAIL with the case named and exit 1; a wrong password or a
tech writes nothing and records nothing."""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
from pathlib import Path
from unittest import mock

import pytest
import sqlalchemy as sa

from sweattest.cli.main import main
from sweattest.core.clock import VirtualClock
from sweattest.qa.validation import RULE_CASES, run_case
from sweattest.qa.validation_cases import RULE_TESTS
from sweattest.record.audit import verify
from sweattest.record.store import schema
from sweattest.record.store.store import Store
from sweattest.record.validations import validations
from tests.store.backends import START

PASSWORD = "review password"


def _new_lab(folder: Path) -> str:
    from sweattest.record.users import add_user

    url = f"sqlite:///{folder / 'runs.db'}"
    store = Store(url, VirtualClock(start=START))
    add_user(store, "rev1", "Rita Reviewer", "reviewer", PASSWORD)
    add_user(store, "tech1", "Tina Tech", "tech", "tech password")
    store.close()
    return url


@pytest.fixture
def lab(tmp_path):
    return _new_lab(tmp_path)


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    """A lab validated once for the module (PASS): its folder (the store and validation.pdf) and the command's
    exit status, output and error output. Each test reads a copy (``validated_lab``)."""
    folder = tmp_path_factory.mktemp("validated")
    url = _new_lab(folder)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = _validate(url, folder / "validation.pdf")
    return folder, status, out.getvalue(), err.getvalue()


@pytest.fixture
def validated_lab(validated, tmp_path):
    """A copy of the validated lab in ``tmp_path`` (its store's URL; the report is tmp_path / validation.pdf)."""
    folder = validated[0]
    for name in ("runs.db", "validation.pdf"):
        shutil.copyfile(folder / name, tmp_path / name)
    return f"sqlite:///{tmp_path / 'runs.db'}"


def _validate(lab, out: Path, user="rev1", password=PASSWORD) -> int:
    with mock.patch("sys.stdin", io.StringIO(password + "\n")):
        return main(["validate", "--as", user, "--password-stdin", "--db", lab, "--out", str(out)])


def _recorded(lab):
    store = Store(lab, VirtualClock(start=START))
    try:
        return validations(store), verify(store)
    finally:
        store.close()


def test_every_rule_case_passes_against_the_live_rules():
    failed = [(r.case.id, r.observed) for r in map(run_case, RULE_CASES) if not r.passed]
    assert failed == []
    assert all(c.source and c.rule and c.module.startswith("sweattest/core/rules/") for c in RULE_CASES)
    root = Path(__file__).resolve().parents[2]
    assert all((root / c.module).is_file() and (root / RULE_TESTS[c.module]).is_file() for c in RULE_CASES)


def test_validation_passes_and_its_report_hash_is_in_the_audit_trail(validated, validated_lab, tmp_path, capsys):
    from pypdf import PdfReader

    lab, (_, status, printed, errors) = validated_lab, validated
    out = tmp_path / "validation.pdf"
    assert status == 0
    assert printed.startswith("validation PASS: sweattest ") and "FAILED" not in printed
    assert "validate: operational: 37 clinical rule cases" in errors
    [entry], chain = _recorded(lab)
    assert entry["outcome"] == "PASS" and entry["who"] == "rev1" and entry["failed"] == []
    assert entry["report_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert chain.intact
    text = "\n".join(page.extract_text() for page in PdfReader(out).pages)
    assert "PASS" in text and "Signed electronically by Rita Reviewer (rev1" in text
    assert "SIMULATED (no instruments are configured)" in text
    assert "CFF 2017 (Farrell et al." in text and "ADQ-2" in text  # each rule with its guideline and case
    assert main(["validate", "--list", "--db", lab]) == 0
    listed = capsys.readouterr().out
    assert f"rev1  sweattest {entry['version']}  PASS  validation.pdf  sha256 {entry['report_sha256']}" in listed


def test_a_rule_that_breaks_its_guideline_fails_the_validation(lab, tmp_path, capsys, monkeypatch):
    from sweattest.core.rules import adequacy

    real = adequacy.assess_volume

    def never_qns(protocol, volume, collection_time):  # a faulty rule: every sample adequate
        result = real(protocol, volume, collection_time)
        return type(result)(True, result.sample, result.sweat_rate, result.findings)

    monkeypatch.setattr(adequacy, "assess_volume", never_qns)
    out = tmp_path / "validation.pdf"
    assert _validate(lab, out) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("validation FAIL")
    assert any(line.startswith("  FAILED rule case ADQ-2 (Minimum sample for analysis): expected 'QNS'")
               for line in lines)
    [entry], _ = _recorded(lab)
    assert entry["outcome"] == "FAIL" and any("ADQ-2" in f for f in entry["failed"])
    assert entry["report_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()


@pytest.mark.parametrize("user, password, message", [
    ("rev1", "wrong password", "error"),
    ("tech1", "tech password", "only a reviewer or qa or admin can sign a validation report"),
])
def test_wrong_signer_writes_nothing(lab, tmp_path, capsys, user, password, message):
    out = tmp_path / "validation.pdf"
    assert _validate(lab, out, user, password) != 0
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists() and _recorded(lab)[0] == []


def test_report_out_must_be_a_pdf_in_a_folder_that_exists(lab, tmp_path, capsys):
    assert main(["validate", "--db", lab]) == 2
    assert "give --as USER" in capsys.readouterr().err
    assert _validate(lab, tmp_path / "missing" / "v.pdf") == 2
    assert "--out" in capsys.readouterr().err
    assert _validate(lab, tmp_path / "v.txt") == 2
    assert "ending in .pdf" in capsys.readouterr().err
    assert _recorded(lab)[0] == []


def test_a_changed_validation_entry_is_named_by_audit_verify(validated_lab):
    lab = validated_lab
    [entry], _ = _recorded(lab)
    engine = sa.create_engine(lab)
    with engine.begin() as conn:  # behind the program's back: the guards must go first
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_no_update")
        conn.execute(schema.audit.update().where(schema.audit.c.id == entry["entry"])
                     .values(why="validation PASS (edited)"))
    engine.dispose()
    _, chain = _recorded(lab)
    assert not chain.intact and chain.broken_id == entry["entry"]
    assert f"entry {entry['entry']}" in chain.message()


def test_a_package_file_changed_after_installation_fails_the_installation_check(tmp_path, monkeypatch):
    import base64
    import importlib.metadata

    from sweattest.qa.validation import check_files

    site = tmp_path / "site-packages"
    (site / "sweattest").mkdir(parents=True)
    info = site / "sweattest-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sweattest\nVersion: 0.1.0\n", encoding="utf-8")
    rows = []
    for name, text in (("rules.py", "LIMIT = 15\n"), ("ranges.py", "CF_LIKELY = 60\n")):
        (site / "sweattest" / name).write_text(text, encoding="utf-8")
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        rows.append(f"sweattest/{name},sha256={digest},{len(text)}")
    (info / "RECORD").write_text("\n".join([*rows, "sweattest-0.1.0.dist-info/RECORD,,"]) + "\n", encoding="utf-8")
    dist = importlib.metadata.PathDistribution(info)
    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: dist)
    assert check_files().passed and "2 files of the install record match" in check_files().detail
    (site / "sweattest" / "rules.py").write_text("LIMIT = 10\n", encoding="utf-8")
    check = check_files()
    assert not check.passed
    assert check.detail == "1 of 2 files differ from the install record: sweattest/rules.py changed"
