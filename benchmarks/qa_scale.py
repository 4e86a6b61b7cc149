"""QA at scale: a SQLite run store of 1,000,000 synthetic runs, with their events and a valid audit chain
(each entry chaining its event's row, the first one of a run also the run's row), then the time of
`qa qns-rate` (SQL aggregation) and `audit verify` (the whole chain and every chained row). Before that, the
QA pack of a lab-year: a store of ``--year-runs`` runs (default 3,000: a busy lab's year) over one year, with
both control levels recorded and judged (Westgard, verdict recorded) on each day of testing, and the time of
`qa pack` for that year: its sections built from the store, then the PDF rendered and the tables zipped; and the
process's peak resident memory at the end of the pack (imports included; the large store is built after it).

Goals: QNS rate <= 1 s; audit verify <= 5 s per million entries; the pack of a lab-year <= 60 s. The stores
are built directly with bulk inserts (executemany, one transaction per chunk) after the schema is created by
the normal migrations (the control results through the store); the databases are removed afterwards.
Usage: python benchmarks/qa_scale.py [--runs N] [--year-runs N] [--keep PATH] [--quick]
Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sweattest.core.clock import VirtualClock  # noqa: E402
from sweattest.core.config import LabConfig  # noqa: E402
from sweattest.qa.pack import build_pack, pack_filter, render_pdf, tables_zip  # noqa: E402
from sweattest.qa.qns import qns_rate  # noqa: E402
from sweattest.record.analytical_qc import judge_and_record, qc_run_id  # noqa: E402
from sweattest.record.audit import verify  # noqa: E402
from sweattest.record.store.chain import canonical_json, entry_hash, entry_text  # noqa: E402
from sweattest.record.store.migrations import GENESIS_HASH  # noqa: E402
from sweattest.record.store.rowhash import row_hash  # noqa: E402
from sweattest.record.store.store import open_store  # noqa: E402

START = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)
OPERATORS = [f"tech{i}" for i in range(1, 13)]
CHUNK = 50_000
FMT = "%Y-%m-%dT%H:%M:%S.%fZ"


def build(path: Path, n_runs: int, seed: int = 1, spacing: timedelta = timedelta(minutes=1)) -> int:
    """Create the schema through the store, then bulk-load runs ``spacing`` apart from START; returns the number
    of audit entries."""
    open_store(str(path), VirtualClock(start=START)).close()
    rng = random.Random(seed)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    prev, audit_id, event_id = GENESIS_HASH, 0, 0
    for first in range(0, n_runs, CHUNK):
        runs, events, audit = [], [], []
        for i in range(first, min(first + CHUNK, n_runs)):
            created = START + i * spacing  # by default 1M runs over ~2 years
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


#: The lab-year's analyzer and its two control levels: (level, lot, target mean, target SD) in mmol/L.
ANALYZER = "CL-0001"
CONTROLS = (("normal", "QCN-2024", 30.0, 2.0), ("abnormal", "QCA-2024", 90.0, 4.0))


def build_year(path: Path, n_runs: int) -> tuple[int, int]:
    """A lab-year: ``n_runs`` runs spread over 2024, and both control levels recorded (through the store) and
    judged at 07:30 on each day with runs; returns (audit entries of the runs, control results)."""
    spacing = timedelta(days=365) / n_runs
    entries = build(path, n_runs, seed=2, spacing=spacing)
    rng = random.Random(3)
    days = sorted({(START + i * spacing).date() for i in range(n_runs)})
    store = open_store(str(path), VirtualClock(start=START))
    try:
        for day in days:
            at, qc_run = datetime(day.year, day.month, day.day, 7, 30, tzinfo=UTC), qc_run_id(ANALYZER, day)
            for level, lot, mean, sd in CONTROLS:
                store.add_qc_result(analyzer=ANALYZER, level=level, lot=lot, target_mean=mean, target_sd=sd,
                                    value=round(rng.gauss(mean, sd), 1), qc_run=qc_run, at=at, who="tech1")
            judge_and_record(store, qc_run, who="tech1")
    finally:
        store.close()
    return entries, 2 * len(days)


def year_pack(path: Path) -> dict:
    """`qa pack` of 2024 on the lab-year store: its sections, rows, PDF bytes, and the seconds of each part."""
    config = LabConfig()
    store = open_store(str(path), VirtualClock(start=datetime(2025, 1, 2, 9, 0, tzinfo=UTC)))
    try:
        pack, sections_s = timed(lambda: build_pack(store, pack_filter(date(2024, 1, 1), date(2024, 12, 31)),
                                                    generated_at=store.clock.utcnow(), generated_by="qa1",
                                                    config=config))
        pdf, pdf_s = timed(lambda: render_pdf(pack, config))
        _, zip_s = timed(lambda: tables_zip(pack))
    finally:
        store.close()
    return {"sections": len(pack.sections), "rows": sum(len(s.rows) for s in pack.sections), "pdf_bytes": len(pdf),
            "sections_s": sections_s, "pdf_s": pdf_s, "zip_s": zip_s}


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1_000_000)
    ap.add_argument("--year-runs", type=int, default=3000, help="runs of the lab-year whose QA pack is timed")
    ap.add_argument("--keep", type=Path, help="keep the database at this path")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to check that the benchmark runs")
    args = ap.parse_args()
    if args.quick:
        args.runs, args.year_runs = 2000, 40
    folder = tempfile.TemporaryDirectory(prefix="sweattest-qa-scale-")
    path = args.keep or Path(folder.name) / "qa_scale.db"
    try:
        year = Path(folder.name) / "lab_year.db"
        (_, controls), year_build_s = timed(lambda: build_year(year, args.year_runs))
        print(f"built a lab-year: {args.year_runs} runs, {controls} control results in {year_build_s:.1f} s",
              flush=True)
        pack, pack_s = timed(lambda: year_pack(year))
        pack_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
        print(f"qa pack of the lab-year: {pack['sections']} sections, {pack['rows']} rows, PDF "
              f"{pack['pdf_bytes'] / 1e3:.0f} kB in {pack_s:.2f} s (sections {pack['sections_s']:.2f} s, PDF "
              f"{pack['pdf_s']:.2f} s, tables {pack['zip_s']:.2f} s); peak RSS {pack_rss_mb:.0f} MB", flush=True)
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
    print(json.dumps({"year_runs": args.year_runs, "pack_year_s": round(pack_s, 2),
                      "pack_year_sections_s": round(pack["sections_s"], 2), "pack_year_pdf_s": round(pack["pdf_s"], 2),
                      "pack_year_peak_rss_mb": round(pack_rss_mb), "pack_year_goal_met": pack_s <= 60.0,
                      "runs": args.runs, "events": 2 * args.runs, "audit_entries": entries,
                      "build_s": round(build_s, 1), "qns_rate_s": round(qns_s, 3),
                      "qns_rate_goal_met": qns_s <= 1.0, "audit_verify_s": round(verify_s, 2),
                      "audit_verify_s_per_million": round(per_million, 2),
                      "audit_verify_goal_met": per_million <= 5.0, "chain_intact": result.intact}))


if __name__ == "__main__":
    main()
