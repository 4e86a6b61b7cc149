"""The stimulation loop while the web server is busy (issue: stimulation safety under single faults).

A real server (uvicorn on 127.0.0.1) and a real-time training run: while the first site stimulates, a local
client asks for about 50 pages a second (live data, run page, QA runs list), another for PDF reports one after
the other, and another connection holds the store's write lock 0.3 s of every second. The loop must keep
polling the current on time (within two poll periods: a generous bound; the figures come from
``benchmarks/fault_latency.py``) and lose no reading. This test waits on real time by design (bounded: about
ten seconds of load and stimulation). The station runs in a process of its own, as `sweattest serve` does: not
in the test process, whose heap after a thousand tests makes its garbage collection pauses unlike a station's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from sweattest.bench.runner.stimulation import POLL_HZ

pytestmark = pytest.mark.realtime  # alone, after the parallel part of the suite (README)

PERIOD_S = 1.0 / POLL_HZ
RATE_HZ = 50.0
LOAD_S = 8.0


ROOT = Path(__file__).resolve().parents[2]
STATION = """
import dataclasses, json, sys
from pathlib import Path
from benchmarks.web_load import loaded_stimulation
result = loaded_stimulation(Path(sys.argv[1]), rate_hz=float(sys.argv[2]), load_s=float(sys.argv[3]))
doc = dataclasses.asdict(result) | {"rate_hz": result.rate_hz,
                                    "statuses": [[page, status, n] for (page, status), n in result.statuses.items()]}
print(json.dumps(doc))
"""


def loaded_station(work_dir: Path) -> SimpleNamespace:
    done = subprocess.run([sys.executable, "-c", STATION, str(work_dir), str(RATE_HZ), str(LOAD_S)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout.strip().splitlines()[-1])
    doc["statuses"] = Counter({(page, status): n for page, status, n in doc["statuses"]})
    return SimpleNamespace(**doc)


def test_a_busy_web_server_does_not_delay_the_stimulation_loop(tmp_path):
    result = loaded_station(tmp_path)
    print(f"\n{result.requests} requests in {result.load_s:.1f} s ({result.rate_hz:.1f}/s) {dict(result.statuses)}; "
          f"{result.samples} polls: interval p99 {result.poll_interval_p99_s * 1000:.0f} ms, "
          f"max {result.poll_interval_max_s * 1000:.0f} ms")
    assert result.rate_hz >= 0.6 * RATE_HZ  # the server was really busy
    assert all(status == 200 for _page, status in result.statuses)
    assert any(page == "report.pdf" for page, _ in result.statuses)
    assert result.stop_code == "emergency_stop"  # the tech's stop ended it, not a fault
    assert result.samples >= LOAD_S * POLL_HZ
    assert result.readings_saved == result.samples  # the slow store lost no reading
    assert result.poll_interval_p99_s <= 2 * PERIOD_S
    assert result.poll_interval_max_s <= 2 * PERIOD_S
