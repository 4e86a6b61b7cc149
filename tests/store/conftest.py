from __future__ import annotations

import pytest

from sweattest.clock import VirtualClock
from sweattest.store import open_store
from tests.store.backends import BACKENDS, backend_url


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def db_url(backend, tmp_path):
    """A URL (or SQLite path) for an empty database on the backend under test."""
    with backend_url(backend, tmp_path) as url:
        yield url


@pytest.fixture
def store(db_url, clock):
    """A freshly created, migrated store at ``db_url``."""
    s = open_store(db_url, clock=clock)
    yield s
    s.close()
