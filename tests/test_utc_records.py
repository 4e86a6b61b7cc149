"""Records are UTC even when the lab's zone changes to summer time during the run."""

import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from sweattest.cli.main import main
from sweattest.record.runs import procedure_time
from sweattest.record.store.store import open_store


@pytest.fixture
def london():
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/London"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_every_recorded_time_is_utc_across_the_dst_change(london, tmp_path, db_url):
    # Europe/London moves from GMT to BST at 2026-03-29 01:00 UTC; the run starts 10 minutes before.
    with freeze_time("2026-03-29 00:50:00", tz_offset=0):
        assert main(["demo", "--out", str(tmp_path / "out"), "--db", db_url]) == 0
    store = open_store(db_url)
    try:
        [run] = store.list_runs()
        events = store.events(run["run_id"])
    finally:
        store.close()
    start = datetime(2026, 3, 29, 0, 50, tzinfo=UTC)
    # each event carries the (frozen) time it was written, and the simulated procedure's time beside it
    assert all(abs(e.at - start) < timedelta(seconds=1) for e in events)
    assert [e.at for e in events] == sorted(e.at for e in events)
    simulated = [procedure_time(e) for e in events]
    assert simulated[-1] > datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # the procedure crossed the change
    origin = simulated[0] - timedelta(seconds=events[0].t)
    for e, at in zip(events, simulated, strict=True):
        assert e.at.utcoffset() == timedelta(0) and at.utcoffset() == timedelta(0)
        # no jump of an hour at 01:00 UTC: the procedure's time advances exactly with t
        assert abs(at - (origin + timedelta(seconds=e.t))) < timedelta(milliseconds=2)
