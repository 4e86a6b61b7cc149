"""In CI the PostgreSQL half of the store suite may not be skipped: an unreachable server fails it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("env, outcome, status", [
    ({"CI": "true"}, "error", 1),
    ({"SWEATTEST_REQUIRE_POSTGRES": "1"}, "error", 1),
    ({}, "skipped", 0),
])
def test_unreachable_postgres_fails_only_where_required(env, outcome, status):
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "SWEATTEST_REQUIRE_POSTGRES")}
    clean |= env | {"SWEATTEST_TEST_PG": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/store/test_store_basics.py::test_events_are_numbered_and_come_back_as_written"],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)
    summary = proc.stdout.strip().splitlines()[-1]
    assert "1 passed" in summary and f"1 {outcome}" in summary, proc.stdout
    assert proc.returncode == status
