"""The outbox survives a killed sweattest process and a LIS that is down for a while: after both come back,
the result is delivered once, with the control ID it was queued with."""

import os
import signal
import subprocess
import sys
import time

from sweattest.outputs.release import sign
from sweattest.record import outbox
from tests.golden.build import RUN_ID
from tests.lis.conftest import config_for
from tests.lis.peers import Lis


def _lis_serve(config_file, url) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sweattest", "lis", "serve", "--config", str(config_file),
                             "--db", url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _until(condition, what: str, limit_s: float = 20.0):
    """Wait for another process to reach a state (bounded; this is not a sleep standing in for time)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_killed_sender_and_lis_down_still_deliver_once(run_store, tmp_path):
    store, clock, url = run_store
    peer = Lis()
    port = peer.port
    peer.stop()  # the LIS is down
    config_file = tmp_path / "lab.toml"
    config_file.write_text(f'[lis]\nsend_to = "127.0.0.1:{port}"\nack_timeout_s = 2\nretry_delays_s = [0.2]\n',
                           encoding="utf-8")
    sign(store, clock, RUN_ID, "rev1", "correct horse", "reviewed", config=config_for(f"127.0.0.1:{port}"))
    [queued] = outbox.messages(store)
    process = _lis_serve(config_file, url)
    try:
        _until(lambda: outbox.get(store, queued.id).attempts >= 1, "a first failed attempt")
    finally:
        os.kill(process.pid, signal.SIGKILL)  # killed: no clean shutdown
        process.wait(10)
    assert outbox.get(store, queued.id).state == "pending"
    peer = Lis(port=port)  # the LIS is back
    process = _lis_serve(config_file, url)
    try:
        _until(lambda: outbox.get(store, queued.id).state == "delivered", "delivery after the restart")
        assert peer.control_ids() == [queued.control_id]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(10)
        peer.stop()
