"""In CI the PostgreSQL half of the store suite may not be skipped: an unreachable server fails it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: the environment of each case, and what becomes of the PostgreSQL half of a store test there
CASES = {
    "CI": ({"CI": "true"}, "error", 1),
    "required": ({"SWEATTEST_REQUIRE_POSTGRES": "1"}, "error", 1),
    "neither": ({}, "skipped", 0),
}


@pytest.fixture(scope="module")
def store_test_runs(tmp_path_factory):
    """A store test run by pytest against an unreachable server once per case, the three side by side (each a
    process of its own, with its own temporary folder)."""
    procs = {}
    for case, (env, _, _) in CASES.items():
        clean = {k: v for k, v in os.environ.items() if k not in ("CI", "SWEATTEST_REQUIRE_POSTGRES")}
        clean |= env | {"SWEATTEST_TEST_PG": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
        procs[case] = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp",
             str(tmp_path_factory.mktemp("basetemp") / case),
             "tests/store/test_store_basics.py::test_events_are_numbered_and_come_back_as_written"],
            cwd=ROOT, env=clean, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    yield procs
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("case", CASES)
def test_unreachable_postgres_fails_only_where_required(store_test_runs, case):
    _, outcome, status = CASES[case]
    proc = store_test_runs[case]
    out, _ = proc.communicate(timeout=300)  # the other cases go on meanwhile
    summary = out.strip().splitlines()[-1]
    assert "1 passed" in summary and f"1 {outcome}" in summary, out
    assert proc.returncode == status
