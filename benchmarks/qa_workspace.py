"""The QA workspace at scale: the runs list's queries on a SQLite store of many synthetic runs (built like
benchmarks/qa_scale.py), and the cost of the rows it shows (each replayed from its events, as the report).

Times: the newest runs the page shows (50) without a search (SQL, LIMIT), with a free search (narrowed in
SQL, then matched), the review queue, and the shown rows' result, interpretation and flags (realistic
runs, replayed event by event). Usage: python benchmarks/qa_workspace.py [--runs N]
Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.qa_scale import (
    build,  # noqa: E402
    timed,  # noqa: E402
)
from sweattest.core.clock import VirtualClock  # noqa: E402
from sweattest.qa.workspace import awaiting_signature, find_runs, full_names, run_summary  # noqa: E402
from sweattest.record.run_filter import RunFilter  # noqa: E402
from sweattest.record.store.store import open_store  # noqa: E402
from sweattest.web.qa_views import SHOWN  # noqa: E402
from tests.store.backends import START, make_run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to check that the benchmark runs")
    args = ap.parse_args()
    if args.quick:
        args.runs = 1000
    with tempfile.TemporaryDirectory(prefix="sweattest-qa-workspace-") as folder:
        path = Path(folder) / "many.db"
        _, build_s = timed(lambda: build(path, args.runs))
        print(f"built {args.runs} synthetic runs in {build_s:.1f} s", flush=True)
        store = open_store(str(path))
        names = full_names(store)
        (rows, total), list_s = timed(lambda: find_runs(store, RunFilter(), "", names, SHOWN))
        print(f"newest {len(rows)} of {total} runs: {list_s:.3f} s", flush=True)
        (rows, total), search_s = timed(lambda: find_runs(store, RunFilter(), "MRN000123", names, SHOWN))
        print(f"free search of an MRN: {total} match, {search_s:.3f} s", flush=True)
        (rows, many), operator_s = timed(lambda: find_runs(store, RunFilter(), "tech1", names, SHOWN))
        print(f"free search of an operator: {many} match, {operator_s:.3f} s", flush=True)
        queue, queue_s = timed(lambda: awaiting_signature(store, "rev1", "reviewer"))
        print(f"review queue: {len(queue)} runs, {queue_s:.3f} s", flush=True)
        store.close()

        clock = VirtualClock(start=START)
        real = open_store(str(Path(folder) / "real.db"), clock)
        for i in range(SHOWN):
            make_run(real, clock, f"R{i:03d}", chlorides=(20 + i % 60, 25 + i % 60))
        shown, _ = find_runs(real, RunFilter(), "", full_names(real), SHOWN)
        _, rows_s = timed(lambda: [run_summary(real, r, clock) for r in shown])
        print(f"{len(shown)} shown rows replayed (result, interpretation, flags): {rows_s:.2f} s", flush=True)
        real.close()
    print(json.dumps({"runs": args.runs, "list_newest_s": round(list_s, 3), "free_search_s": round(search_s, 3),
                      "free_search_operator_s": round(operator_s, 3), "operator_matches": many,
                      "review_queue_s": round(queue_s, 3), "shown_rows": len(shown),
                      "shown_rows_replay_s": round(rows_s, 2)}))


if __name__ == "__main__":
    main()
