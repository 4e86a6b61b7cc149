"""A released-ready demo run (built once, copied per test) and a LIS peer."""

import shutil
from dataclasses import replace
from datetime import timedelta

import pytest

from sweattest.core.clock import VirtualClock
from sweattest.core.config import LabConfig
from sweattest.core.lis_config import LisConfig
from sweattest.record.signoff import sign
from sweattest.record.store.store import open_store
from sweattest.record.users import add_user
from tests.golden.build import RUN_ID, START, simulated
from tests.lis.peers import Lis


@pytest.fixture(scope="session")
def ready_db(tmp_path_factory):
    """A SQLite store holding the demo run at result_ready, signed performed by its operator tech1, and a
    reviewer rev1."""
    folder = tmp_path_factory.mktemp("ready")
    _, url = simulated(folder)
    clock = VirtualClock(start=START + timedelta(hours=1))
    store = open_store(url, clock)
    add_user(store, "rev1", "Rita Reviewer", "reviewer", "correct horse")
    add_user(store, "tech1", "Tina Tech", "tech", "tech horse")
    sign(store, clock, RUN_ID, "tech1", "tech horse", "performed")
    store.close()
    return folder / "runs.db"


@pytest.fixture
def run_store(ready_db, tmp_path):
    path = tmp_path / "runs.db"
    shutil.copy(ready_db, path)
    clock = VirtualClock(start=START + timedelta(hours=2))
    store = open_store(f"sqlite:///{path}", clock)
    yield store, clock, f"sqlite:///{path}"
    store.close()


@pytest.fixture
def lis():
    peer = Lis()
    yield peer
    peer.stop()


#: Seconds a LIS that answers is given to acknowledge: the product's default. Its answer comes over a real socket
#: from a real server thread, so a deadline of a fraction of a second is missed on a loaded machine (three test
#: workers on two cores) and a delivery turns into a retry. Only a test of a LIS that never answers sets a short
#: one (``config_for(..., ack_timeout_s=0.5)``): there the deadline is meant to pass.
ANSWERING_LIS_TIMEOUT_S = 30.0


def config_for(address: str, **lis) -> LabConfig:
    host, port = address.rsplit(":", 1)
    return replace(LabConfig(), lis=LisConfig(send_to=(host, int(port)),
                                              **({"ack_timeout_s": ANSWERING_LIS_TIMEOUT_S} | lis)))
