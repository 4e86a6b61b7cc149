"""Crash recovery under SIGKILL at random moments: how often does anything get lost?

Starts a real `sweattest run` on a sped-up clock, kills it with SIGKILL after a random number of output
lines, runs `sweattest resume`, and checks that every recorded event and reading survived unchanged and
that the run ended with every site resulted or aborted with a reason. Prints the counts; the last line is
one JSON object.

    python benchmarks/crash_recovery.py [--trials 200] [--speed 1200] [--seed 1]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO  # noqa: E402
from sweattest.cli.main import main as sweattest  # noqa: E402
from sweattest.record.runs import load_run  # noqa: E402
from sweattest.record.store.store import open_store  # noqa: E402
from tests.conftest import as_performer  # noqa: E402
from tests.crashing import leases_run_out, snapshot, start_run, stop_after  # noqa: E402


def trial(tmp: Path, n: int, rng: random.Random, speed: float) -> dict:
    db = tmp / f"runs-{n}.db"
    proc = start_run(tmp, DEMO_ORDER, DEMO_SCENARIO, db, speed, str(n))
    try:
        stop_after(proc, lines=rng.randint(1, 45))
    except AssertionError:  # the run finished before the chosen moment: a kill after the end
        pass
    leases_run_out(db)  # the killed process's lease has run out (its time to live passed)
    store = open_store(str(db))
    before = {r["run_id"]: (r["state"], snapshot(store, r["run_id"])) for r in store.list_runs()}
    store.close()
    with contextlib.redirect_stdout(io.StringIO()), as_performer(str(db)) as who:  # the tech who resumes
        sweattest(["resume", "--db", str(db), "--out", str(tmp / f"resumed-{n}"), *who])
    store = open_store(str(db))
    out = {"killed_in": "before_run_created", "lost": 0, "unfinished": 0, "aborted_sites": 0,
           "reasonless_aborts": 0}
    try:
        for run_id, (state, (events, readings)) in before.items():
            out["killed_in"] = state
            after_events, after_readings = snapshot(store, run_id)
            lost = after_events[: len(events)] != events or after_readings[: len(readings)] != readings
            out["lost"] += int(lost)
            run, _ = load_run(store, run_id)
            out["unfinished"] += int(run.state not in {"result_ready", "aborted"})
            for site in run.sites:
                if site.state == "aborted":
                    out["aborted_sites"] += 1
                    out["reasonless_aborts"] += int(not site.abort_reason)
    finally:
        store.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--speed", type=float, default=1200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that the benchmark runs")
    args = parser.parse_args()
    if args.quick:
        args.trials = 4
    rng = random.Random(args.seed)
    totals: Counter = Counter()
    phases: Counter = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.trials):
            result = trial(Path(tmp), n, rng, args.speed)
            phases[result.pop("killed_in")] += 1
            totals.update(result)
            if (n + 1) % 20 == 0:
                print(f"{n + 1}/{args.trials} trials: lost {totals['lost']}, unfinished {totals['unfinished']}",
                      flush=True)
    print("killed while the run was:", ", ".join(f"{k} {v}" for k, v in sorted(phases.items())))
    figures = {"trials": args.trials, "speed": args.speed, "runs_with_lost_records": totals["lost"],
               "runs_left_unfinished": totals["unfinished"], "aborted_sites": totals["aborted_sites"],
               "aborts_without_reason": totals["reasonless_aborts"],
               "killed_during_stimulation": phases.get("stimulating", 0), "killed_by_phase": dict(phases)}
    print(json.dumps(figures))
    return 0 if totals["lost"] == totals["unfinished"] == totals["reasonless_aborts"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
