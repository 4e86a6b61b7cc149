"""A stimulation at the bench while the web server is busy: the loop's poll intervals under load.

``sweattest serve --simulate`` as it runs: the web server in-process (uvicorn on 127.0.0.1, a free port) and the
bench station in a process of its own that performs the runs, training runs in real time (pace 1: the run's
clock is the station's real clock). A tech starts a run through the web pages; while
the first site is stimulating, local clients request ``rate_hz`` pages a second (the live data, the run page,
the QA runs list), one more client asks for the PDF report of a finished run again as soon as it has one,
and another connection holds the store's write lock for ``slow_write_s`` once a second (a slow store write).
Then the tech presses the emergency stop; the stimulation's abort event carries the loop's own poll timing.
Used by ``benchmarks/fault_latency.py`` and ``tests/web/test_loop_under_load.py``.
"""

from __future__ import annotations

import copy
import multiprocessing
import re
import sqlite3
import threading
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn

from benchmarks.heap_churn import HeapChurn
from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.bench.order import parse_order
from sweattest.bench.service import perform_simulated_run
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.core.clock import RealClock, VirtualClock
from sweattest.record.store.store import open_store
from sweattest.web.accounts import default_accounts
from sweattest.web.app import create_app
from sweattest.web.station_link import begin_station

PASSWORD = "correct horse 42"
TECH = "tech1"
START = {"identify": {"mrn": "MRN0012345", "dob": "2025-06-01"}, "eligibility": {},
         "method": {"method": "macroduct", "site": ["left_forearm", "right_forearm"], "scenario": "normal"},
         "lot": {"lot": "PG1234", "expires": "2099-12-31"},
         "checklist": {"item": ["skin", "gel", "anode", "straps", "leads"]}}
#: Of every ten page requests: six live updates, two run pages, two QA runs lists.
MIX = ("live", "live", "page", "live", "qa", "live", "page", "live", "qa", "live")
#: Bounds on every wait for the server or the run (iterations of at most 0.05 s).
WAIT_STEPS = 400


@dataclass
class LoadResult:
    poll_interval_max_s: float
    poll_interval_p99_s: float
    samples: int
    readings_saved: int
    stop_code: str
    requests: int
    load_s: float
    statuses: Counter = field(default_factory=Counter)

    @property
    def rate_hz(self) -> float:
        return self.requests / self.load_s if self.load_s else 0.0


class _Server:
    """uvicorn serving ``app`` on 127.0.0.1 in a thread, on a free port."""

    def __init__(self, app):
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        for _ in range(WAIT_STEPS):
            if self.server.started:
                port = self.server.servers[0].sockets[0].getsockname()[1]
                return f"http://127.0.0.1:{port}"
            self.thread.join(timeout=0.05)
        raise RuntimeError("the web server did not start")

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


def _csrf(client: httpx.Client, path: str = "/login") -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def _log_in(client: httpx.Client) -> str:
    token = _csrf(client)
    r = client.post("/login", data={"username": TECH, "password": PASSWORD, "csrf": token})
    if r.status_code != 303:
        raise RuntimeError(f"log-in failed: {r.status_code}")
    return _csrf(client, "/bench")


def _start_run(client: httpx.Client, token: str) -> str:
    r = client.post("/bench/new", data={"csrf": token, "accession": DEMO_ORDER["accession"]})
    base = r.headers["location"].rsplit("/", 1)[0]
    for step, data in START.items():
        r = client.post(f"{base}/{step}", data={"csrf": token, **data})
        if r.status_code != 303:
            raise RuntimeError(f"bench step {step}: {r.status_code}")
    return r.headers["location"].rsplit("/", 1)[1]


def _finished_run(store, out_dir: Path) -> str:
    """A whole simulated run (instant), so the load can ask for its PDF report."""
    order = parse_order(copy.deepcopy(DEMO_ORDER) | {"accession": "ST-2026-000777"})
    result = perform_simulated_run(order, parse_scenario(copy.deepcopy(DEMO_SCENARIO), order.sites), store=store,
                                   clock=VirtualClock(), out_dir=out_dir)
    return result.run.run_id


def _client_load(base: str, cookies: dict[str, str], paths: tuple[str, ...], rate_hz: float, load_s: float,
                 statuses: Counter, lock: threading.Lock) -> None:
    """``paths`` in turn at ``rate_hz`` (0: each as soon as the last is answered) for ``load_s``; a slow answer
    is not made up for."""
    clock = RealClock()
    start = clock.monotonic()
    slots = int(rate_hz * load_s) + 1 if rate_hz > 0 else int(load_s * 100)
    with httpx.Client(base_url=base, cookies=cookies, timeout=60.0) as client:
        for i in range(slots):
            if clock.monotonic() - start >= load_s:
                return
            r = client.get(paths[i % len(paths)])
            with lock:
                statuses[(paths[i % len(paths)].rsplit("/", 1)[1], r.status_code)] += 1
            if rate_hz > 0:
                clock.sleep_until(start + (i + 1) / rate_hz)


def _slow_writes(db: str, slow_write_s: float, load_s: float) -> None:
    """Once a second, another connection holds the store's write lock for ``slow_write_s``."""
    clock = RealClock()
    start = clock.monotonic()
    for _ in range(int(load_s) + 1):
        if clock.monotonic() - start >= load_s:
            return
        conn = sqlite3.connect(db, isolation_level=None, timeout=10)
        try:
            conn.execute("BEGIN IMMEDIATE")
            clock.sleep(slow_write_s)
            conn.execute("COMMIT")
        finally:
            conn.close()
        clock.sleep(max(0.0, 1.0 - slow_write_s))


def drive_load(base: str, cookies: dict[str, str], loads: list[tuple[tuple[str, ...], float]], load_s: float,
               db: str, slow_write_s: float) -> tuple[Counter, float]:
    """The load, in a process of its own as browsers and other stations are: (answers by page and status,
    seconds it took)."""
    clock = RealClock()
    statuses: Counter = Counter()
    lock = threading.Lock()
    threads = [threading.Thread(target=_client_load, args=(base, cookies, paths, rate, load_s, statuses, lock))
               for paths, rate in loads]
    if slow_write_s > 0:
        threads.append(threading.Thread(target=_slow_writes, args=(db, slow_write_s, load_s)))
    began = clock.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=load_s + 60)
    return statuses, clock.monotonic() - began


def _pause(seconds: float = 0.05) -> None:
    threading.Event().wait(seconds)  # a benchmark waits on the wall clock: the run is in real time


def loaded_stimulation(work_dir: Path, *, rate_hz: float = 50.0, load_s: float = 8.0, clients: int = 8,
                       slow_write_s: float = 0.3, pdf: bool = True, heap_mb: float = 0.0) -> LoadResult:
    """Stimulate while the server is loaded for ``load_s`` (``rate_hz`` 0: no load), then stop; the figures.
    ``heap_mb``: a heap of that size churns in the server's process meanwhile (``benchmarks/heap_churn.py``)."""
    if heap_mb > 0:
        with HeapChurn(heap_mb):
            return loaded_stimulation(work_dir, rate_hz=rate_hz, load_s=load_s, clients=clients,
                                      slow_write_s=slow_write_s, pdf=pdf)
    clock = RealClock()
    db = work_dir / "runs.db"
    store = open_store(str(db), clock)
    try:
        accounts = default_accounts()
        accounts.users.add_user(store, TECH, "Tess Tech", "tech", PASSWORD, actor="setup")
        finished = _finished_run(store, work_dir / "out")
        # the station's own process performs the run, as `sweattest serve` starts it: the load and the heap are
        # the web server's (this process's)
        bench = begin_station(str(db), None, True, 1.0, told=lambda message: None).open()
        app = create_app(store, clock, accounts, simulate=True, pace=1.0, bench=bench)
        with _Server(app) as base, httpx.Client(base_url=base, timeout=30.0) as tech:
            token = _log_in(tech)
            if pdf and rate_hz > 0:  # the first report starts the renderer's process: not part of the load
                tech.get(f"/runs/{finished}/report.pdf", timeout=120.0)
            run_id = _start_run(tech, token)
            session = app.state.web.bench.session(run_id)
            for _ in range(WAIT_STEPS):
                if session.view.stimulating or not session.active:
                    break
                _pause()
            where = {"live": f"/runs/{run_id}/live", "page": f"/runs/{run_id}", "qa": "/qa/runs"}
            pages = tuple(where[m] for m in MIX)
            loads = [(pages[i:] + pages[:i], rate_hz / clients) for i in range(clients)] if rate_hz > 0 else []
            if pdf and rate_hz > 0:
                loads.append(((f"/runs/{finished}/report.pdf",), 0.0))
            if loads:
                with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                    statuses, loaded_s = pool.submit(drive_load, base, dict(tech.cookies), loads, load_s, str(db),
                                                     slow_write_s).result(timeout=load_s + 120)
            else:  # unloaded: the same stimulation time, nobody asking
                statuses, loaded_s = Counter(), load_s
                clock.sleep(load_s)
            r = tech.post(f"/runs/{run_id}/stop", data={"csrf": token})  # answered once the loop has stopped
            if r.status_code != 303:
                raise RuntimeError(f"emergency stop: {r.status_code}")
        aborts = [e for e in store.events(run_id) if e.kind == "abort" and e.site == "left_forearm"]
        if not aborts:
            raise RuntimeError("the stimulation did not stop")
        data = aborts[0].data
        saved = len(store.readings(run_id, site="left_forearm", kind="stimulation_sample"))
        return LoadResult(poll_interval_max_s=data["poll_interval_max_s"],
                          poll_interval_p99_s=data["poll_interval_p99_s"], samples=data["samples"],
                          readings_saved=saved, stop_code=data["code"], requests=sum(statuses.values()),
                          load_s=loaded_s, statuses=statuses)
    finally:
        store.close()
