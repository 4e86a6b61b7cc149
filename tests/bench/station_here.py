"""The bench station's server in the test's own process, on a virtual clock, for `sweattest run` and `resume`
called in-process: the commands connect to it as they would to the station's process (the real process and its
signals: tests/bench/test_run_at_station.py)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sweattest.bench.station.channel import StationAddress
from sweattest.bench.station.manager import BenchManager
from sweattest.bench.station.process import Station
from sweattest.core.clock import Clock
from sweattest.core.config import load_config
from sweattest.record.store.store import open_store
from sweattest.web.station_link import StationLink

#: The link's bound on the station's silence here (wall seconds).
HOURS = 3600.0


@contextlib.contextmanager
def station_here(monkeypatch, db: str, config: Path | None, clock: Clock) -> Iterator[Station]:
    """A station for store ``db`` and the instruments of ``config`` on ``clock``; `run` and `resume` reach it."""
    store = open_store(db)
    folder = Path(tempfile.mkdtemp(prefix="st", dir="/tmp"))  # a socket's path is short
    address = StationAddress.of("test", False, folder)
    station = Station(BenchManager(store, clock, simulate=False, config=load_config(str(config) if config else None)),
                      address)
    station.listen()
    links: list[StationLink] = []

    def link(db: str | None, config: str | None) -> StationLink:
        # the station and the link share this process: a busy test machine that starves it starves the station's
        # heartbeat with it, which is not the station falling silent (that is tests/web/test_station_silence.py)
        links.append(StationLink(address, told=lambda message: None, silent_s=HOURS).open(timeout_s=10))
        return links[-1]

    monkeypatch.setattr("sweattest.cli.at_station.station_for", link)
    try:
        yield station
    finally:
        for each in links:
            each.detach()
        station.stop("the test is over")
        station.wait()
        store.close()
        shutil.rmtree(folder)
