"""Shared fixtures: a fresh SQLite store and the demo's order and scenario as files."""

from __future__ import annotations

import copy
import json

import pytest

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'runs.db'}"


@pytest.fixture
def order_doc():
    return copy.deepcopy(DEMO_ORDER)


@pytest.fixture
def scenario_doc():
    return copy.deepcopy(DEMO_SCENARIO)


@pytest.fixture
def write_json(tmp_path):
    def write(name: str, doc) -> str:
        path = tmp_path / name
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
        return str(path)
    return write


@pytest.fixture(autouse=True)
def _no_inducer_latched_from_another_test():
    """The faulty-inducer latch lasts for the process; each test starts with none latched."""
    from drivers import inducer_latch

    inducer_latch.clear()
    yield
    inducer_latch.clear()
