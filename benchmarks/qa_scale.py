"""QA at scale: a SQLite run store of 1,000,000 synthetic runs, with their events and a valid audit chain
(each entry chaining its event's row, the first one of a run also the run's row), then the time of
`qa qns-rate` (SQL aggregation) and `audit verify` (the whole chain and every chained row).

Goals: QNS rate <= 1 s; audit verify <= 5 s per million entries. The store is built directly with bulk
inserts (executemany, one transaction per chunk) after the schema is created by the normal migrations; the
database is removed afterwards. Usage: python benchmarks/qa_scale.py [--runs N] [--keep PATH]
Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sweattest.core.clock import VirtualClock  # noqa: E402
from sweattest.qa.qns import qns_rate  # noqa: E402
from sweattest.record.audit import verify  # noqa: E402
from sweattest.record.store import open_store  # noqa: E402
from sweattest.record.store.chain import canonical_json, entry_hash, entry_text  # noqa: E402
from sweattest.record.store.migrations import GENESIS_HASH  # noqa: E402
from sweattest.record.store.rowhash import row_hash  # noqa: E402

START = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)
OPERATORS = [f"tech{i}" for i in range(1, 13)]
CHUNK = 50_000
FMT = "%Y-%m-%dT%H:%M:%S.%fZ"


def build(path: Path, n_runs: int, seed: int = 1) -> int:
    """Create the schema through the store, then bulk-load; returns the number of audit entries."""
    open_store(str(path), VirtualClock(start=START)).close()
    rng = random.Random(seed)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    prev, audit_id, event_id = GENESIS_HASH, 0, 0
    for first in range(0, n_runs, CHUNK):
        runs, events, audit = [], [], []
        for i in range(first, min(first + CHUNK, n_runs)):
            created = START + timedelta(minutes=i)  # 1M runs over ~2 years
            at = created.strftime(FMT)
            operator = rng.choice(OPERATORS)
            infant = rng.random() < 0.15
            qns = rng.random() < (0.08 if infant else 0.03)
            done = created + timedelta(hours=rng.uniform(1, 30))
            run_id = f"R{i:07d}"
            runs.append((run_id, f"ST-{i:07d}", "macroduct", operator, f"MRN{rng.randrange(400_000):06d}", at,
                         "reported", done.strftime(FMT), '{"sites":["left_forearm","right_forearm"]}',
                         f"{created:%Y-%m}", "<=3m" if infant else ">3m", 2, int(qns), done.strftime(FMT)))
            run = runs[-1]  # its chained columns, as stored (rowhash.COLUMNS["runs"])
            items = [["runs", run_id, row_hash((*run[:6], run[8], run[9], run[10], None, None, "patient"))],
                     ["run_state", run_id, row_hash((run_id, "reported", run[7], 2, int(qns), run[13]))]]
            for seq, (kind, when, data) in enumerate((
                    ("measure_sample", at, {"actor": operator, "volume": {"unit": "µl", "value": 8 if qns else 40}}),
                    ("report", done.strftime(FMT), {"actor": "rev1"})), start=1):
                data_text = canonical_json(data)
                events.append((run_id, seq, kind, None, when, 60.0 * seq, data_text, 1))
                audit_id, event_id = audit_id + 1, event_id + 1
                h = row_hash((event_id, *events[-1]))
                rows_text = canonical_json([*items, ["events", event_id, event_id, h]])
                items = []
                new_text = canonical_json({k: v for k, v in data.items() if k != "actor"})
                digest = entry_hash(prev, entry_text(audit_id, run_id, data["actor"], kind, when, None, "null",
                                                     new_text, rows_text))
                audit.append((audit_id, run_id, data["actor"], kind, when, None, "null", new_text, rows_text, prev,
                              digest))
                prev = digest
        db.execute("BEGIN")
        db.executemany("INSERT INTO runs (run_id, accession, method, operator, patient_mrn, created_at, state, "
                       "updated_at, order_json, month, age_group, sites_measured, qns, reported_at) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", runs)
        db.executemany("INSERT INTO events (run_id, seq, kind, site, at, t, data, accepted) VALUES "
                       "(?,?,?,?,?,?,?,?)", events)
        db.executemany("INSERT INTO audit (id, run_id, who, what, at, why, old, new, rows, prev_hash, hash) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?,?)", audit)
        db.execute("UPDATE audit_head SET last_id = ?, last_hash = ? WHERE id = 1", (audit_id, prev))
        db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()
    return audit_id


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, help="keep the database at this path")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to check that the benchmark runs")
    args = ap.parse_args()
    if args.quick:
        args.runs = 2000
    folder = tempfile.TemporaryDirectory(prefix="sweattest-qa-scale-")
    path = args.keep or Path(folder.name) / "qa_scale.db"
    try:
        entries, build_s = timed(lambda: build(path, args.runs))
        print(f"built {args.runs} runs, {2 * args.runs} events, {entries} audit entries in {build_s:.1f} s "
              f"({path.stat().st_size / 1e6:.0f} MB)", flush=True)
        store = open_store(str(path))
        frame, qns_s = timed(lambda: qns_rate(store))
        breaches = int(frame["breach"].sum())
        print(f"qa qns-rate: {len(frame)} rows (operator x month x age group), {breaches} breaches, "
              f"{qns_s:.3f} s", flush=True)
        result, verify_s = timed(lambda: verify(store))
        print(f"audit verify: {result.message()} in {verify_s:.2f} s", flush=True)
        store.close()
    finally:
        folder.cleanup()
    per_million = verify_s / (entries / 1e6)
    print(json.dumps({"runs": args.runs, "events": 2 * args.runs, "audit_entries": entries,
                      "build_s": round(build_s, 1), "qns_rate_s": round(qns_s, 3),
                      "qns_rate_goal_met": qns_s <= 1.0, "audit_verify_s": round(verify_s, 2),
                      "audit_verify_s_per_million": round(per_million, 2),
                      "audit_verify_goal_met": per_million <= 5.0, "chain_intact": result.intact}))


if __name__ == "__main__":
    main()
