"""Ten screens open on ten simulated runs at once: how fast a reading reaches the screen, what an open screen
costs the server, and how big an update is.

``sweattest serve --simulate`` in-process (uvicorn on 127.0.0.1, a free port) with ten training runs in real
time (pace 1: each stimulation loop reads the simulated inducer ten times a second). In a second process
(so its work is not counted as the server's), ten clients log in and hold each run's update stream
(``/runs/RUN_ID/events``, server-sent events), as ten bench screens would. For each reading the server
notes when the runner handed it to the read model; the client notes when its update arrived (both on the
machine's monotonic clock). The server's CPU time is measured over the same window with no screen open and
then with the ten screens open; the difference, per screen, is the cost of a screen.

    python benchmarks/ui_live.py [--screens 10] [--window 10]
    python benchmarks/ui_live.py --quick      # 2 screens for 1 s: that it runs, not its figures

Each run has an accession and a patient of its own (the repeat rule refuses a second run of an accession that
is not declared a repeat).

The last line is one JSON object: screens, p95_reading_to_screen_ms, cpu_pct_per_screen, bytes_per_update
(mean size of a reading's update on the wire) and bytes_per_update_max.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from sweattest.bench.demo import DEMO_ORDER
from sweattest.bench.live_view import RunView
from sweattest.bench.order import parse_order
from sweattest.core.clock import RealClock
from sweattest.record.store.store import open_store
from sweattest.web.accounts import default_accounts
from sweattest.web.app import create_app
from sweattest.web.training import scenario_for

PASSWORD = "correct horse 42"
TECH = "tech1"


def _serve(app) -> tuple[uvicorn.Server, threading.Thread, str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    while not server.started:
        thread.join(timeout=0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


def _screen(base: str, run_id: str, connected: threading.Barrier, go: threading.Event, span: dict, out) -> None:
    """One bench screen: log in, hold the run's update stream, note when each reading's update arrives."""
    with httpx.Client(base_url=base, timeout=30) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
        client.post("/login", data={"username": TECH, "password": PASSWORD, "csrf": token})
        got = []
        with client.stream("GET", f"/runs/{run_id}/events") as r:
            rest, waiting = "", True
            for chunk in r.iter_text():
                now = time.monotonic()
                if waiting:  # every screen connected before the window opens
                    connected.wait(timeout=120)
                    go.wait(timeout=120)
                    waiting = False
                *lines, rest = (rest + chunk).split("\n")
                for line in lines:
                    if line.startswith("data: ") and '"type":"stim"' in line:
                        d = json.loads(line[6:])
                        got.append((run_id, round(d["t"], 3), now, len(line) + 2))  # "data: ...\n\n"
                if now >= span["until"]:
                    break
        out.put(got)


def _screens(base: str, run_ids: list[str], window: float, started, out) -> None:
    """The screens, in a process of their own. The window opens once every screen holds its stream (a busy
    machine may take seconds to start this process); its start is sent back on ``started``."""
    import queue

    inner: queue.Queue = queue.Queue()
    connected, go, span = threading.Barrier(len(run_ids) + 1), threading.Event(), {}
    threads = [threading.Thread(target=_screen, args=(base, r, connected, go, span, inner)) for r in run_ids]
    for t in threads:
        t.start()
    connected.wait(timeout=120)
    span["start"] = time.monotonic()
    span["until"] = span["start"] + window
    go.set()
    started.put(span["start"])
    for t in threads:
        t.join()
    got = []
    while not inner.empty():
        got += inner.get()
    out.put(got)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--screens", type=int, default=10)
    parser.add_argument("--window", type=float, default=10.0, help="seconds measured, with and without screens")
    parser.add_argument("--quick", action="store_true", help="2 screens for 1 s: that it runs (no figures to trust)")
    args = parser.parse_args()
    if args.quick:
        args.screens, args.window = 2, 1.0

    taken: dict[tuple[str, float], float] = {}
    original = RunView.reading

    def noted(self, site, values, now):  # when the runner handed the reading to the read model
        taken[(self.run_id, round(values["t"], 3))] = time.monotonic()
        original(self, site, values, now)

    RunView.reading = noted
    with tempfile.TemporaryDirectory() as folder:
        clock = RealClock()
        store = open_store(str(Path(folder) / "runs.db"), clock)
        accounts = default_accounts()
        accounts.users.add_user(store, TECH, "Tess Tech", "tech", PASSWORD, actor="setup")
        app = create_app(store, clock, accounts, simulate=True, pace=1.0)
        server, thread, base = _serve(app)
        bench = app.state.web.bench
        orders = [parse_order(_order_of(n)) for n in range(args.screens)]
        run_ids = [bench.start(order, scenario_for("normal", order.sites), TECH) for order in orders]
        while not all(bench.session(r).view.stimulating for r in run_ids):
            bench.session(run_ids[0]).thread.join(timeout=0.05)  # until every run stimulates

        cpu0, wall0 = time.process_time(), time.monotonic()  # the runs alone
        bench.session(run_ids[0]).thread.join(timeout=args.window)
        idle_cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0)

        spawn = multiprocessing.get_context("spawn")
        out, started = spawn.Queue(), spawn.Queue()
        screens = spawn.Process(target=_screens, args=(base, run_ids, args.window, started, out))
        screens.start()
        start = started.get(timeout=180)  # the screens' process started, logged in and holds every stream
        until = start + args.window
        cpu1, wall1 = time.process_time(), time.monotonic()
        while time.monotonic() < until:
            screens.join(timeout=0.05)
        busy_cpu = (time.process_time() - cpu1) / (time.monotonic() - wall1)
        got = out.get(timeout=30)
        screens.join(timeout=10)
        server.should_exit = True
        thread.join(timeout=15)
        store.close()

    _report(args, got, taken, start, idle_cpu, busy_cpu)


def _order_of(n: int) -> dict:
    """The demo's order as the ``n``-th run's: an accession and a patient of its own."""
    patient = DEMO_ORDER["patient"] | {"mrn": f"{DEMO_ORDER['patient']['mrn']}-{n}"}
    return DEMO_ORDER | {"operator": TECH, "accession": f"{DEMO_ORDER['accession']}-{n}", "patient": patient}


def _ms(value: float) -> float | None:
    return None if value != value else round(value, 1)  # NaN (nothing measured): null in the JSON line


def _report(args, got, taken, start, idle_cpu, busy_cpu) -> None:
    latencies = sorted((at - taken[(run, t)]) * 1000 for run, t, at, _ in got
                       if (run, t) in taken and at >= start)
    sizes = [size for *_, size in got] or [0]
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    p50 = latencies[len(latencies) // 2] if latencies else float("nan")
    per_screen = (busy_cpu - idle_cpu) / args.screens * 100
    print(f"{args.screens} screens on {args.screens} runs in real time, {args.window:.0f} s: {len(latencies)} "
          f"readings on screen; reading to screen p50 {p50:.1f} ms, p95 {p95:.1f} ms "
          f"(goal < 250 ms)")
    print(f"server CPU: runs alone {idle_cpu * 100:.1f} % of a core, with the screens {busy_cpu * 100:.1f} %: "
          f"{per_screen:.2f} % per screen (goal < 0.5 %)")
    print(f"bytes per reading's update: mean {sum(sizes) / len(sizes):.0f}, min {min(sizes)}, max {max(sizes)}")
    print(json.dumps({"screens": args.screens, "p95_reading_to_screen_ms": _ms(p95),
                      "p50_reading_to_screen_ms": _ms(p50),
                      "cpu_pct_per_screen": round(per_screen, 3), "bytes_per_update": round(sum(sizes) / len(sizes)),
                      "bytes_per_update_min": min(sizes), "bytes_per_update_max": max(sizes),
                      "readings_on_screen": len(latencies), "window_s": args.window, "quick": args.quick}))


if __name__ == "__main__":
    main()
