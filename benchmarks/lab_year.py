"""A busy laboratory's year in one run store: its size per run, `audit verify`, the QA QNS rate, one instant run.

Builds a SQLite run store of ``--runs`` bilateral Macroduct runs (default 3,000: a busy lab's year), each made
by the run service (``RunService.start`` and ``perform``) on simulated instruments at instant speed, with all
its readings, spread over one year of procedure dates and over twelve techs; about one site in twenty-five
collects too little sweat (QNS). Every run is then signed by its tech ("performed") and by a reviewer
(``sweattest.outputs.release.sign``, passwords checked), which delivers its HL7 and CSV files to the LIMS drop
folder. ``--workers`` processes build
the runs side by side in the one store. Then, on that store:

* ``store_kb_per_run``: the database file (WAL checkpointed) divided by the number of runs; goal <= 200;
* ``audit_verify_lab_year_s``: the whole record verified by the `audit verify` code; goal <= 5 s;
* ``qns_rate_s``: the QA QNS-rate query (by operator, month and age group) over every run of the store; goal
  <= 1 s (the runs are simulated ones, so the query names every purpose: by default QA counts patient runs);
* ``instant_run_s``: the median time of one instant simulated bilateral run through the run service (start
  and perform, excluding interpreter start and file rendering), measured alone afterwards on a fresh store
  (``--samples`` runs); goal <= 0.5 s. ``instant_run_while_building_s`` is the same median while the store
  was being built (with ``--workers`` processes at work).

The last line printed is one JSON object with the figures.

    python benchmarks/lab_year.py [--runs 3000] [--workers 2] [--samples 7] [--keep PATH]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO  # noqa: E402
from sweattest.bench.order import parse_order  # noqa: E402
from sweattest.bench.service import RunService  # noqa: E402
from sweattest.bench.simulation.scenario import parse_scenario  # noqa: E402
from sweattest.core.clock import VirtualClock  # noqa: E402
from sweattest.core.config import LabConfig  # noqa: E402
from sweattest.core.purpose import PURPOSES  # noqa: E402
from sweattest.outputs.release import sign  # noqa: E402
from sweattest.qa.qns import qns_rate  # noqa: E402
from sweattest.record.analytical_qc import release_findings  # noqa: E402
from sweattest.record.audit import verify  # noqa: E402
from sweattest.record.run_filter import RunFilter  # noqa: E402
from sweattest.record.store.store import open_store  # noqa: E402
from sweattest.record.users import add_user  # noqa: E402

YEAR_START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
TECHS = [f"tech{i}" for i in range(1, 13)]
REVIEWER, REVIEWER_PASSWORD = "rev1", "review password"
TECH_PASSWORD = "bench password"
#: The share of sites that collect too little sweat (QNS), as a busy lab sees in infants.
QNS_SHARE = 0.04


def order_doc(i: int) -> dict:
    """Run ``i``'s order: a patient of its own, born 2 months to 12 years before the test."""
    age_days = 60 + (i * 7919) % (12 * 365)
    dob = (YEAR_START + timedelta(days=365 * i / 3000) - timedelta(days=age_days)).date()
    return DEMO_ORDER | {
        "accession": f"ST-2026-{i:06d}",
        "patient": DEMO_ORDER["patient"] | {"mrn": f"MRN{i:07d}", "given": f"Patient{i}", "dob": dob.isoformat()},
        "operator": TECHS[i % len(TECHS)],
    }


def scenario_doc(i: int) -> dict:
    """Run ``i``'s simulated patient: chloride and sweat rate varying from run to run, some sites QNS."""
    sites = {}
    for n, (site, base) in enumerate(DEMO_SCENARIO["sites"].items()):
        qns = ((i * 31 + n * 17) % 1000) < QNS_SHARE * 1000
        sites[site] = base | {"sweat_rate_g_m2_min": 0.3 if qns else 1.5 + (i * 13 + n) % 20 / 10,
                              "chloride_mmol_l": 10 + (i * 37 + n * 5) % 90}
    return {"sites": sites, "faults": [], "seed": i}


def one_run(store, config: LabConfig, i: int, n_runs: int) -> tuple[str, VirtualClock, float]:
    """Run ``i`` by the run service at instant speed; (run id, its clock, seconds taken by start and perform)."""
    order = parse_order(order_doc(i))
    scenario = parse_scenario(scenario_doc(i), order.sites)
    clock = VirtualClock(start=YEAR_START + timedelta(days=365 * i / max(1, n_runs)))
    t0 = time.perf_counter()
    service = RunService(store, config)
    active = service.start(order, clock=clock, scenario=scenario, run_id=f"R{i:06d}")
    active.perform()
    return active.run_id, clock, time.perf_counter() - t0


def build_part(args: tuple[str, str, list[int], int]) -> tuple[list[float], int]:
    """One worker: its share of the runs, each signed off and delivered; the seconds each run took, and how many
    runs the reviewer could not release because their analytical run's QC was rejected (a Westgard rule: over
    a year of simulated controls, ten in a row on one side of the mean happens) -- held, as a lab holds them."""
    url, drop, indices, n_runs = args
    store = open_store(url)
    config = LabConfig(drop_folder=Path(drop))
    times = []
    held = 0
    try:
        for i in indices:
            run_id, clock, seconds = one_run(store, config, i, n_runs)
            clock.advance(600.0)  # the tech signs what they performed, a reviewer an hour later
            sign(store, clock, run_id, TECHS[i % len(TECHS)], TECH_PASSWORD, "performed", config=config)
            clock.advance(3600.0)
            if release_findings(store, run_id):
                held += 1
            else:
                sign(store, clock, run_id, REVIEWER, REVIEWER_PASSWORD, "reviewed", config=config)
            times.append(seconds)
    finally:
        store.close()
    return times, held


def build(path: Path, drop: Path, n_runs: int, workers: int) -> list[float]:
    store = open_store(str(path))
    add_user(store, REVIEWER, "Rita Reviewer", "reviewer", REVIEWER_PASSWORD)
    for tech in TECHS:
        add_user(store, tech, f"Tech {tech[4:]}", "tech", TECH_PASSWORD)
    store.close()
    parts = [(str(path), str(drop), list(range(w, n_runs, workers)), n_runs) for w in range(workers)]
    done = held = 0
    times: list[float] = []
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for chunk, chunk_held in pool.imap_unordered(build_part, _chunks(parts, 50)):
            times += chunk
            done += len(chunk)
            held += chunk_held
            print(f"{done}/{n_runs} runs", flush=True)
    return times, held


def _chunks(parts: list[tuple], size: int):
    """Each worker's share cut into pieces of ``size`` runs, interleaved, so progress shows as it goes."""
    pieces = [[(url, drop, indices[k:k + size], n) for k in range(0, len(indices), size)]
              for url, drop, indices, n in parts]
    for row in range(max(len(p) for p in pieces)):
        for p in pieces:
            if row < len(p):
                yield p[row]


def instant_run_alone(samples: int) -> float:
    """The median seconds of one instant bilateral run (start and perform), on a fresh store, alone."""
    with tempfile.TemporaryDirectory(prefix="sweattest-instant-") as tmp:
        store = open_store(str(Path(tmp) / "runs.db"))
        try:
            one_run(store, LabConfig(), 0, 1)  # imports and first-use caches, not timed
            times = [one_run(store, LabConfig(), i, samples)[2] for i in range(1, samples + 1)]
        finally:
            store.close()
    return statistics.median(times)


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=max(1, min(2, os.cpu_count() or 1)))
    ap.add_argument("--samples", type=int, default=7, help="instant runs timed alone (median)")
    ap.add_argument("--keep", type=Path, help="keep the store at this path (it must not exist)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to check that the benchmark runs")
    args = ap.parse_args()
    if args.quick:
        args.runs = 30
        args.workers = 1
        args.samples = 1
    folder = tempfile.TemporaryDirectory(prefix="sweattest-lab-year-")
    path = args.keep or Path(folder.name) / "lab_year.db"
    drop = Path(folder.name) / "lims"
    drop.mkdir()
    try:
        (times, held), build_s = timed(lambda: build(path, drop, args.runs, args.workers))
        store = open_store(str(path))
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        kb_per_run = path.stat().st_size / 1024 / args.runs
        frame, qns_s = timed(lambda: qns_rate(store, RunFilter(purposes=PURPOSES)))
        result, verify_s = timed(lambda: verify(store))
        runs = store.list_runs()
        store.close()
        print(f"built {len(runs)} runs in {build_s:.0f} s with {args.workers} workers; "
              f"{path.stat().st_size / 1e6:.1f} MB; {len(list(drop.iterdir()))} files delivered; {held} runs held "
              "by rejected QC", flush=True)
        print(f"qa qns-rate: {len(frame)} rows, {int(frame['qns'].sum())} QNS tests, {qns_s:.3f} s", flush=True)
        print(f"audit verify: {result.message()} in {verify_s:.2f} s", flush=True)
        alone = instant_run_alone(args.samples)
        print(f"one instant bilateral run: median {alone:.3f} s alone, {statistics.median(times):.3f} s while "
              "building", flush=True)
    finally:
        folder.cleanup()
    figures = {"runs": len(runs), "workers": args.workers, "build_s": round(build_s, 1), "held_by_qc": held,
               "store_kb_per_run": round(kb_per_run, 1), "audit_verify_lab_year_s": round(verify_s, 2),
               "chain_intact": result.intact, "qns_rate_s": round(qns_s, 3), "instant_run_s": round(alone, 3),
               "instant_run_while_building_s": round(statistics.median(times), 3),
               "goals_met": {"store_kb_per_run": kb_per_run <= 200, "audit_verify_lab_year_s": verify_s <= 5,
                             "qns_rate_s": qns_s <= 1, "instant_run_s": alone <= 0.5}}
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
