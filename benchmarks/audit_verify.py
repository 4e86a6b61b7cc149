"""`audit verify` over a busy lab's year: a SQLite store of N bilateral runs, each with its order, its events,
its stimulation readings (10 Hz for 5 minutes per site, written as the bench writes them), a performed and a
reviewed signature, and the day's QC results, every row chained as the store chains it; then the time of
`audit verify` (the whole chain and every chained row). Goal: 3,000 runs verified in at most 5 s.

The store is built through the chain's own write functions (``append_audit`` with the row items, each write
of readings folded into the head and sealed into one block per site by the next event), several runs per
transaction, with SQLite's fsync off while building (it changes nothing that is stored). ``--write-every``:
seconds of readings per write (0.5 at the bench in real time, the default; about 5 in the demo).
Usage: python benchmarks/audit_verify.py [--runs N] [--write-every S] [--keep PATH]
Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sweattest.core.clock import VirtualClock  # noqa: E402
from sweattest.core.protocol import load_protocol  # noqa: E402
from sweattest.record.audit import verify  # noqa: E402
from sweattest.record.signoff import _insert_signature  # noqa: E402
from sweattest.record.store import schema  # noqa: E402
from sweattest.record.store.chain import append_audit  # noqa: E402
from sweattest.record.store.pending_readings import PENDING_LEVEL, block  # noqa: E402
from sweattest.record.store.pending_readings import write as write_pending  # noqa: E402
from sweattest.record.store.rowhash import keyed_item, range_item  # noqa: E402
from sweattest.record.store.store import open_store  # noqa: E402
from sweattest.record.store.types import UTCDateTime  # noqa: E402
from sweattest.record.users import User, add_user  # noqa: E402

START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
SITES = ("left_forearm", "right_forearm")
POLL_HZ = 10
STIMULATION_S = 300
RUNS_PER_TRANSACTION = 20
_UTC_TEXT = UTCDateTime().process_bind_param


def build(url: str, n_runs: int, write_every: float) -> None:
    clock = VirtualClock(start=START)
    store = open_store(url, clock)
    sa.event.listen(store.engine, "connect", lambda c, _r: c.execute("PRAGMA synchronous=OFF"))
    store.engine.dispose()
    add_user(store, "tech1", "Tina Tech", "tech", "tech password")
    add_user(store, "rev1", "Rita Reviewer", "reviewer", "review password")
    tech, reviewer = User("tech1", "Tina Tech", "tech", True), User("rev1", "Rita Reviewer", "reviewer", True)
    protocol = load_protocol("macroduct")
    days: set[date] = set()
    for first in range(0, n_runs, RUNS_PER_TRANSACTION):
        with store.writing() as conn:
            for n in range(first, min(n_runs, first + RUNS_PER_TRANSACTION)):
                at = START + timedelta(hours=n * 2.9)  # about 3,000 runs in a year
                if at.date() not in days:
                    days.add(at.date())
                    _controls(conn, at)
                _run(conn, f"R{n:06d}", at, protocol, tech, reviewer, write_every)
    store.close()


def _run(conn, run_id: str, at: datetime, protocol, tech: User, reviewer: User, write_every: float) -> None:
    order = {"accession": f"ST-{run_id}", "method": "macroduct", "sites": list(SITES), "operator": "tech1",
             "patient": {"mrn": f"M{run_id}", "dob": "2024-06-01", "family": "Doe", "given": "Jane", "sex": "F"}}
    conn.execute(schema.runs.insert().values(
        run_id=run_id, accession=order["accession"], method="macroduct", operator="tech1",
        patient_mrn=order["patient"]["mrn"], created_at=at, state="reported", updated_at=at, order_json=order,
        month=f"{at:%Y-%m}", age_group=">3m", protocol_text=protocol.text, protocol_sha256=protocol.sha256,
        patient_dob=order["patient"]["dob"]))
    append_audit(conn, run_id=run_id, who="tech1", what="create_run", at=at,
                 new={"accession": order["accession"], "method": "macroduct", "operator": "tech1",
                      "patient_mrn": order["patient"]["mrn"], "protocol_sha256": protocol.sha256},
                 rows=[keyed_item(conn, "runs", run_id), keyed_item(conn, "run_state", run_id)])
    seq = [0]

    def event(kind: str, site: str | None = None, **data) -> None:
        seq[0] += 1
        data["actor"] = "tech1"
        event_id = conn.execute(schema.events.insert().values(
            run_id=run_id, seq=seq[0], kind=kind, site=site, at=at + timedelta(seconds=seq[0] * 60), t=seq[0] * 60.0,
            data=data, accepted=True)).inserted_primary_key[0]
        append_audit(conn, run_id=run_id, who="tech1", what=kind, at=at + timedelta(seconds=seq[0] * 60),
                     new=data | ({"site": site} if site else {}), rows=[range_item(conn, "events", event_id, event_id)])

    event("verify_patient", mrn=order["patient"]["mrn"], accession=order["accession"])
    event("check_ready", lot="PILO-2025-01", instruments={"inducer": {"serial": "IND-1", "model": "sim"}})
    for channel, site in enumerate(SITES, 1):
        event("start_stimulation", site, channel=channel)
        _readings(conn, run_id, site, at, write_every)
        event("finish_stimulation", site, charge={"value": 7.5, "unit": "mA*min"},
              poll_gap_max_ms=101.2, poll_gap_p99_ms=100.4)
        event("start_collection", site)
    for site, chloride in zip(SITES, (45, 48), strict=True):
        event("finish_collection", site)
        event("measure_sample", site, volume={"value": 42, "unit": "uL"})
        event("analyze", site, chloride={"value": chloride, "unit": "mmol/L"}, qc_run="chloridometer-1/day")
    _insert_signature(conn, tech, run_id, "performed", at + timedelta(hours=1), None, 1)
    _insert_signature(conn, reviewer, run_id, "reviewed", at + timedelta(hours=2), None, 1)
    event("review", reviewer="rev1")
    event("report")


def _readings(conn, run_id: str, site: str, at: datetime, write_every: float) -> None:
    """One site's stimulation readings as the bench writes them: one pending row per write, each folded into
    the head (the event that ends the stimulation seals them into one block)."""
    per_write = round(write_every * POLL_HZ)
    samples = _samples()
    writes = []
    for k in range(0, len(samples), per_write):
        committed = _UTC_TEXT(at + timedelta(seconds=(k + per_write) / POLL_HZ), None)
        writes.append(block(run_id, site, "stimulation_sample", [(committed, t, d) for t, d in
                                                                  samples[k:k + per_write]], level=PENDING_LEVEL))
    # the store's own write of pending rows (Store.append_readings), all the site's writes at once: the same
    # fold, in id order, as one call after each write
    write_pending(conn.connection.driver_connection, conn.dialect.name, writes)


@cache
def _samples() -> list[tuple[float, dict]]:
    """A stimulation's readings: the ramp, the hold at 1.5 mA with a little noise, the charge delivered."""
    out = []
    for i in range(1, STIMULATION_S * POLL_HZ + 1):
        t = round(i / POLL_HZ, 1)
        setpoint = round(min(1.5, t / 20 * 1.5, (STIMULATION_S - t) / 20 * 1.5), 3)
        out.append((t, {"t": t, "setpoint_ma": setpoint, "current_ma": round(setpoint + (i % 7 - 3) / 10_000, 4),
                        "voltage_v": round(setpoint * 8.85 + (i % 11) / 1000, 3),
                        "charge_ma_min": round(t * 0.025, 5)}))
    return out


def _controls(conn, at: datetime) -> None:
    for level, mean in (("normal", 30.0), ("abnormal", 90.0)):
        qc_id = conn.execute(schema.qc_results.insert().values(
            analyzer="chloridometer-1", level=level, lot=f"QC-{level}", target_mean=mean, target_sd=2.0, value=mean,
            qc_run=f"chloridometer-1/{at:%Y-%m-%d}", at=at, who="tech1")).inserted_primary_key[0]
        append_audit(conn, who="tech1", what="qc_result", at=at, new={"level": level, "value": mean},
                     rows=[range_item(conn, "qc_results", qc_id, qc_id)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--write-every", type=float, default=0.5)
    parser.add_argument("--keep", type=Path, help="keep the store at this path")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that the benchmark runs")
    args = parser.parse_args()
    if args.quick:
        args.runs = 30
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "year.db"
        url = f"sqlite:///{path}"
        started = time.perf_counter()
        build(url, args.runs, args.write_every)
        build_s = time.perf_counter() - started
        size = path.stat().st_size
        print(f"built {args.runs} runs in {build_s:.1f} s: {size / 1e6:.1f} MB, "
              f"{size / args.runs / 1e3:.0f} kB per run", flush=True)
        store = open_store(url, VirtualClock(start=START))
        try:
            started = time.perf_counter()
            result = verify(store)
            verify_s = time.perf_counter() - started
        finally:
            store.close()
        print(f"audit verify: {result.message()} in {verify_s:.2f} s", flush=True)
    print(json.dumps({"runs": args.runs, "write_every_s": args.write_every, "intact": result.intact,
                      "audit_entries": result.entries, "rows": result.rows, "store_bytes_per_run": size // args.runs,
                      "build_s": round(build_s, 1), "audit_verify_s": round(verify_s, 2)}))


if __name__ == "__main__":
    main()
