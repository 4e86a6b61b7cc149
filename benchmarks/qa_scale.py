"""QA at scale: a SQLite store of 1,000,000 synthetic runs (2 events and 2 audit entries each); times
`qa qns-rate` and `audit verify` over it.

Goals: QNS rate <= 1 s; audit verify <= 5 s per million entries. The store is built with bulk inserts
(synchronous=OFF: the data are synthetic) into the schema sweattest itself migrates; the timed parts
use the product's own code paths (sweattest.qa.qns.qns_rate, sweattest.audit.verify).

    /work/venv/bin/python benchmarks/qa_scale.py [--runs 1000000] [--db PATH] [--keep]

The last line printed is one JSON object with the figures.
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

from sweattest.audit import verify  # noqa: E402
from sweattest.clock import VirtualClock  # noqa: E402
from sweattest.qa.qns import qns_rate  # noqa: E402
from sweattest.store import open_store  # noqa: E402
from sweattest.store.chain import canonical_json, entry_hash, entry_text  # noqa: E402
from sweattest.store.derived import age_group  # noqa: E402
from sweattest.store.migrations import GENESIS_HASH as GENESIS  # noqa: E402

START = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)
FMT = "%Y-%m-%dT%H:%M:%S.%fZ"
OPERATORS = [f"tech{i:02d}" for i in range(20)]
BATCH = 50_000


def build(path: Path, n_runs: int, seed: int = 1) -> dict[str, int]:
    open_store(str(path), clock=VirtualClock()).close()  # schema by the product's migrations
    rng = random.Random(seed)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    prev, counts = GENESIS, {"runs": 0, "events": 0, "audit": 0}
    step = (2 * 365 * 24 * 3600) / n_runs  # two years of runs
    for first in range(0, n_runs, BATCH):
        runs, events, audit = [], [], []
        for i in range(first, min(first + BATCH, n_runs)):
            created = START + timedelta(seconds=i * step)
            at, done = created.strftime(FMT), (created + timedelta(minutes=50)).strftime(FMT)
            dob = (created - timedelta(days=rng.choice((20, 60, 400, 3000)))).date().isoformat()
            qns = rng.random() < 0.05
            run_id, operator = f"R{i:07d}", OPERATORS[i % len(OPERATORS)]
            order = {"patient": {"dob": dob}}
            runs.append((run_id, f"ACC{i:07d}", "macroduct", operator, f"MRN{i % 700_000:07d}", at, "reported",
                         done, json.dumps(order), age_group(order, created), 2, qns, done, at[:7]))
            events.append((run_id, 1, "verify_patient", None, at, 0.0, f'{{"actor":"{operator}"}}', True))
            events.append((run_id, 2, "report", None, done, 3000.0, f'{{"actor":"{operator}"}}', True))
            for what, when, new in (
                    ("create_run", at, canonical_json({"accession": f"ACC{i:07d}", "method": "macroduct",
                                                       "operator": operator,
                                                       "patient_mrn": f"MRN{i % 700_000:07d}"})),
                    ("report", done, "{}")):
                aid = len(audit) + 1 + counts["audit"]
                digest = entry_hash(prev, entry_text(aid, run_id, operator, what, when, None, "null", new))
                audit.append((aid, run_id, operator, what, when, None, "null", new, prev, digest))
                prev = digest
        db.execute("BEGIN")
        db.executemany("INSERT INTO runs (run_id, accession, method, operator, patient_mrn, created_at, state, "
                       "updated_at, order_json, age_group, sites_measured, qns, reported_at, created_month) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", runs)
        db.executemany("INSERT INTO events (run_id, seq, kind, site, at, t, data, accepted) "
                       "VALUES (?,?,?,?,?,?,?,?)", events)
        db.executemany("INSERT INTO audit (id, run_id, who, what, at, why, old, new, prev_hash, hash) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?)", audit)
        db.execute("UPDATE audit_head SET last_id = ?, last_hash = ? WHERE id = 1", (audit[-1][0], prev))
        db.execute("COMMIT")
        counts["runs"] += len(runs)
        counts["events"] += len(events)
        counts["audit"] += len(audit)
    db.execute("ANALYZE")
    db.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=None, help="where to build the store (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the store afterwards")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "qa_scale.db"
        if path.exists():
            raise SystemExit(f"{path} exists; choose a new path")
        t0 = time.perf_counter()
        counts = build(path, args.runs)
        build_s = time.perf_counter() - t0
        print(f"built {counts} in {build_s:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")
        store = open_store(str(path), clock=VirtualClock())
        try:
            qns_s, frame = _timed(lambda: qns_rate(store))
            print(f"qa qns-rate: {qns_s:.3f} s, {len(frame)} rows, {int(frame['breach'].sum())} breaches")
            verify_s, result = _timed(lambda: verify(store))
            print(f"audit verify: {verify_s:.3f} s, {result.message()}")
        finally:
            store.close()
        if args.keep and args.db is None:
            print("--keep needs --db PATH")
    per_million = verify_s / (result.entries / 1e6) if result.entries else None
    print(json.dumps({
        "runs": counts["runs"], "events": counts["events"], "audit_entries": counts["audit"],
        "build_s": round(build_s, 1), "qns_rate_s": round(qns_s, 3), "qns_rate_goal_s": 1.0,
        "audit_verify_s": round(verify_s, 3),
        "audit_verify_s_per_million": round(per_million, 3) if per_million else None,
        "audit_verify_goal_s_per_million": 5.0, "audit_intact": result.intact,
        "goals_met": qns_s <= 1.0 and (per_million or 0) <= 5.0 and result.intact,
    }))


def _timed(fn):  # noqa: ANN001, ANN202
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


if __name__ == "__main__":
    main()
