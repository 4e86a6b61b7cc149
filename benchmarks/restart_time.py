"""Time from a SIGTERM of the web server to the resumed bench screen after its restart.

A real ``sweattest serve --simulate`` (its own process) with a training run in the middle of a collection
(the left forearm collects, its skin check waits for the tech). The server gets SIGTERM; as soon as it has
exited, the same command starts it again on the same store and port, as a service manager would. The
figure ends when the tech's screen, asked with the tech's own session as the browser does, shows the run
resumed (the notice of what happened, the prompt asked again). Used by ``benchmarks/fault_latency.py``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sweattest.core.clock import RealClock  # noqa: E402
from tests.serving import Serve, add_users, confirm, free_port, live, logged_in, start_training_run  # noqa: E402

#: Bound on each wait (asked every 50 ms).
ROUNDS = 2400


def _until(serve: Serve, done) -> None:
    for _ in range(ROUNDS):
        if done():
            return
        serve.pause()
    raise RuntimeError("the server did not get there")


def restart_to_screen_s(speed: float = 60.0) -> float:
    """Seconds from SIGTERM to the run's screen resumed, on the wall clock."""
    clock = RealClock()
    with tempfile.TemporaryDirectory() as work:
        db = str(Path(work) / "runs.db")
        add_users(db)
        port = free_port()
        servers = [Serve(db, port, speed=speed)]
        try:
            client, token = logged_in(servers[0].base)
            run_id = start_training_run(client, token)
            _until(servers[0], lambda: live(client, run_id)["screen"] == "apply_collector")
            html = client.get(f"/runs/{run_id}").text
            prompt = int(html.split('name="prompt" value="', 1)[1].split('"', 1)[0])
            confirm(client, token, run_id, prompt)  # the collector goes on: the left forearm collects
            _until(servers[0], lambda: live(client, run_id)["screen"] == "check_skin")
            began = clock.monotonic()
            servers[0].proc.send_signal(signal.SIGTERM)
            servers[0].proc.wait(timeout=60)
            servers.append(Serve(db, port, speed=speed))
            _until(servers[1], lambda: 'id="resumed"' in client.get(f"/runs/{run_id}").text)
            took = clock.monotonic() - began
            client.close()
            return took
        finally:
            for serve in servers:
                serve.kill()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the same single measure (it takes seconds)")
    parser.parse_args()
    took = restart_to_screen_s()
    print(f"SIGTERM to resumed bench screen: {took:.2f} s")
    print(json.dumps({"sigterm_to_resumed_screen_s": round(took, 2), "goal_s": 5.0}))
