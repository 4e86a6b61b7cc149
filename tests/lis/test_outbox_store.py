"""The outbox on both backends: queued with an audit entry, delivered to a LIS that drops the connection
first, and shown and re-queued from the command line."""

import json
import socket
import threading
from datetime import timedelta

from sweattest.cli.main import main
from sweattest.lis.sender import Sender
from sweattest.record import outbox
from sweattest.record.audit import history, verify
from tests.lis.peers import Lis
from tests.store import backends
from tests.store.backends import make_run, signed

store_url, store, clock = backends.store_url, backends.store, backends.clock  # both backends


def _queue(store, clock, destination: str) -> int:
    with store.writing() as conn:
        return outbox.queue(conn, run_id="R1", version=1, fmt="hl7", channel=outbox.MLLP, destination=destination,
                            name="ST-R1_R1_v1.hl7", control_id="A" * 20, at=clock.utcnow(), who="rev1",
                            body="MSH|^~\\&|SWEATTEST|SWEATLAB|LIMS|HOSPITAL|20261120090000+0000||ORU^R01^ORU_R01|"
                                 + "A" * 20 + "|P|2.5.1\rPID|1||MRN1^^^SWEATLAB^MR||Doe^J\r")


def test_a_dropped_connection_is_retried_and_the_message_delivered_once(store, clock):
    make_run(store, clock)
    dropper = socket.create_server(("127.0.0.1", 0))
    port = dropper.getsockname()[1]

    def drop_one():
        conn, _ = dropper.accept()
        conn.recv(65536)
        conn.close()  # read the message, closed without acknowledging

    thread = threading.Thread(target=drop_one)
    thread.start()
    message_id = _queue(store, clock, f"127.0.0.1:{port}")
    sender = Sender(store, clock, ("127.0.0.1", port), ack_timeout_s=5, delays=(10,))
    attempt = sender.send_next()
    thread.join(5)
    dropper.close()
    assert attempt.outcome == "retry" and "closed the connection without acknowledging" in attempt.detail
    peer = Lis(port=port)
    try:
        clock.advance(10)
        assert sender.send_next().outcome == "delivered"
        assert sender.send_next().outcome == "idle"
        assert peer.control_ids() == ["A" * 20]
    finally:
        peer.stop()
    whats = [e.what for e in history(store, "R1") if e.what.startswith("outbox")]
    assert whats == ["outbox queue", "outbox retry", "outbox delivered"]
    assert outbox.get(store, message_id).state == "delivered" and verify(store).intact


def test_outbox_and_resend_commands(store, clock, store_url, capsys, monkeypatch):
    make_run(store, clock)
    message_id = _queue(store, clock, "lis.example.org:2576")
    outbox.failed(store, message_id, clock.utcnow(), "AR from the LIS: unknown patient")
    assert main(["lis", "outbox", "--db", store_url]) == 0
    table = capsys.readouterr().out
    assert "A" * 20 in table and "failed" in table and "AR from the LIS: unknown patient" in table
    assert main(["lis", "resend", str(message_id), "--db", store_url, *signed(monkeypatch, store_url)]) == 0
    assert f"message {message_id} (run R1, control ID {'A' * 20}) queued again" in capsys.readouterr().out
    assert main(["lis", "outbox", "--db", store_url, "--format", "json"]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (row["state"], row["attempts"], row["control_id"]) == ("pending", 0, "A" * 20)
    assert main(["lis", "resend", str(message_id), "--db", store_url, *signed(monkeypatch, store_url)]) == 2
    assert "already waiting to be sent" in capsys.readouterr().err
    assert main(["lis", "resend", "999", "--db", store_url, *signed(monkeypatch, store_url)]) == 2
    assert "no message 999 in the outbox" in capsys.readouterr().err


def test_two_stations_sending_from_one_database_do_not_both_send_a_message(store, clock):
    make_run(store, clock)
    message_id = _queue(store, clock, "127.0.0.1:9")
    now = clock.utcnow()
    assert outbox.claim(store, message_id, now, now + timedelta(seconds=35))
    assert not outbox.claim(store, message_id, now, now + timedelta(seconds=35))  # the other station waits
    other = Sender(store, clock, ("127.0.0.1", 9), ack_timeout_s=5)
    assert other.send_next().outcome == "waiting"
    clock.advance(36)  # the first station died mid-attempt: the message is taken up again
    assert outbox.claim(store, message_id, clock.utcnow(), clock.utcnow() + timedelta(seconds=35))
