"""Results out over MLLP: queued with the sign-off, delivered to a LIS that acknowledges, retried with
growing delays while the LIS is down, silent or answers AE, stopped on AR, never sent twice once accepted."""

import socket
import threading
from datetime import timedelta

from sweattest.lis.sender import Sender
from sweattest.outputs.lims.delivery import lis_release, render_queued
from sweattest.outputs.release import amend, sign
from sweattest.record import outbox, signoff
from sweattest.record.audit import history, verify
from tests.golden.build import RUN_ID
from tests.lims.hl7_oracle import field, strict
from tests.lis.conftest import config_for
from tests.lis.peers import Lis


def _signed(run_store, address: str, **lis):
    store, clock, _ = run_store
    config = config_for(address, **lis)
    sign(store, clock, RUN_ID, "rev1", "correct horse", "reviewed", config=config)
    return store, clock, config


def _sender(store, clock, config, **kw):
    return Sender(store, clock, config.lis.send_to, ack_timeout_s=config.lis.ack_timeout_s,
                  delays=(5, 15, 60), **{"render": lambda: render_queued(store, clock, config)} | kw)


def test_sign_off_queues_the_result_and_the_lis_receives_it_once(run_store, lis):
    store, clock, config = _signed(run_store, lis.address)
    [queued] = outbox.messages(store)
    assert (queued.state, queued.channel, queued.destination, queued.version) == ("pending", "mllp", "lis", 1)
    whats = [e.what for e in history(store, RUN_ID)]
    assert whats[-5:] == ["sign reviewed", "outbox queue", "review", "report", "outbox message"]
    signed = [e for e in history(store, RUN_ID) if e.what in ("sign reviewed", "outbox queue")]
    assert signed[0].at == signed[1].at  # queued in the signature's own transaction
    sender = _sender(store, clock, config)
    assert sender.send_next().outcome == "delivered"
    assert sender.send_next().outcome == "idle"
    assert lis.control_ids() == [queued.control_id]
    strict(lis.received[0].replace("\n", "\r"))
    assert outbox.get(store, queued.id).state == "delivered"
    assert verify(store).intact


def test_a_lis_down_for_a_while_gets_the_result_once_with_its_control_id(run_store):
    peer = Lis()
    address, port = peer.address, peer.port
    peer.stop()  # the LIS is down: connections are refused
    store, clock, config = _signed(run_store, address)
    sender = _sender(store, clock, config)
    first = sender.send_next()
    assert first.outcome == "retry" and first.next_at == clock.utcnow() + timedelta(seconds=5)
    assert sender.send_next().outcome == "waiting"  # not before its time
    clock.advance(5)
    assert sender.send_next().next_at == clock.utcnow() + timedelta(seconds=15)  # growing delays
    clock.advance(15)
    peer = Lis(port=port)  # the LIS is back
    try:
        assert sender.send_next().outcome == "delivered"
        assert sender.send_next().outcome == "idle"
        [message] = outbox.messages(store)
        assert peer.control_ids() == [message.control_id] and message.attempts == 2
    finally:
        peer.stop()


def test_no_acknowledgement_in_time_and_ae_are_retried_with_the_same_message(run_store):
    peer = Lis(answer="silent")
    try:
        store, clock, config = _signed(run_store, peer.address, ack_timeout_s=0.5)  # the deadline is meant to pass
        sender = _sender(store, clock, config)
        attempt = sender.send_next()
        assert attempt.outcome == "retry" and "no acknowledgement within 0.5 s" in attempt.detail
        sender.timeout = 30.0  # a LIS that answers does so at once; a loaded machine may still take over 0.5 s
        peer.answer = "AE"
        clock.advance(5)
        attempt = sender.send_next()
        assert attempt.outcome == "retry" and attempt.detail.startswith("AE from the LIS")
        peer.answer = "AA"
        clock.advance(15)
        assert sender.send_next().outcome == "delivered"
        assert len(set(peer.control_ids())) == 1 and len(peer.received) == 3
        assert len({m for m in peer.received}) == 1  # the very same bytes each time
    finally:
        peer.stop()


def test_ar_stops_the_message_and_resend_queues_it_again(run_store):
    peer = Lis(answer="AR")
    try:
        store, clock, config = _signed(run_store, peer.address)
        sender = _sender(store, clock, config)
        attempt = sender.send_next()
        assert attempt.outcome == "failed"
        [message] = outbox.messages(store, state="failed")
        assert message.last_error.startswith("AR from the LIS")
        clock.advance(3600)
        assert sender.send_next().outcome == "idle"  # never retried on its own
        peer.answer = "AA"
        outbox.resend(store, message.id, clock.utcnow(), "qa1")
        assert sender.send_next().outcome == "delivered"
        assert peer.control_ids() == [message.control_id] * 2
        assert [e.who for e in history(store, RUN_ID) if e.what == "outbox resend"] == ["qa1"]
    finally:
        peer.stop()


def test_a_correction_follows_the_original_in_order(run_store, lis):
    store, clock, config = _signed(run_store, lis.address)
    amend(store, clock, RUN_ID, "rev1", "correct horse", changes={"left_forearm.chloride": 62},
          reason="transcription error", config=config)
    sender = _sender(store, clock, config)
    while sender.send_next().outcome == "delivered":
        pass
    first, second = lis.received
    assert field(first.replace("\n", "\r"), "OBR", 25) == "F" and field(second.replace("\n", "\r"), "OBR", 25) == "C"
    assert [m.version for m in outbox.messages(store, state="delivered")] == [1, 2]


def test_a_crash_right_after_the_signature_loses_nothing(run_store, lis):
    store, clock, _ = run_store
    config = config_for(lis.address)
    # the signature commits with the message queued; the process dies before writing the message's text
    signoff.sign(store, clock, RUN_ID, "rev1", "correct horse", "reviewed",
                 releasing=lis_release(config, clock, "rev1"))
    [queued] = outbox.messages(store)
    assert queued.body is None and queued.state == "pending"
    bare = _sender(store, clock, config, render=None)
    assert bare.send_next().outcome == "idle" and lis.received == []  # never an empty message
    sender = _sender(store, clock, config, render=lambda: render_queued(store, clock, config))
    assert sender.send_next().outcome == "delivered"
    [message] = outbox.messages(store)
    assert lis.control_ids() == [message.control_id] and field(lis.received[0], "OBR", 25) == "F"


def test_a_version_amended_before_its_message_was_written_is_not_sent(run_store, lis):
    store, clock, _ = run_store
    config = config_for(lis.address)
    signoff.sign(store, clock, RUN_ID, "rev1", "correct horse", "reviewed",
                 releasing=lis_release(config, clock, "rev1"))
    amend(store, clock, RUN_ID, "rev1", "correct horse", changes={"left_forearm.chloride": 62},
          reason="transcription error", config=config)
    first, second = outbox.messages(store)
    assert first.state == "superseded" and "amended" in first.last_error and second.version == 2
    sender = _sender(store, clock, config)
    assert sender.send_next().outcome == "delivered" and sender.send_next().outcome == "idle"
    assert field(lis.received[0], "OBR", 25) == "C"


def test_a_message_is_never_written_before_its_run_is_reported(run_store, lis):
    store, clock, _ = run_store
    config = config_for(lis.address)
    with store.writing() as conn:  # the signature has committed; the review and report events have not yet
        lis_release(config, clock, "rev1")(conn, RUN_ID, 1)
    sender = _sender(store, clock, config, render=lambda: render_queued(store, clock, config))
    assert sender.send_next().outcome == "idle" and lis.received == []
    assert outbox.messages(store)[0].body is None


def test_a_next_attempt_moved_far_ahead_behind_the_programs_back_does_not_hold_the_queue(run_store, lis):
    """``next_attempt_at`` is outside the chain (a sender claims a message by moving it). Moved years ahead in
    the database, it held the oldest message, and every later one to that LIS, for ever, while audit verify
    said intact: a time further ahead than any delay a sender sets is not waited for."""
    store, clock, config = _signed(run_store, lis.address)
    [queued] = outbox.messages(store)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE outbox SET next_attempt_at = '9999-12-31T00:00:00.000000Z'")
    assert verify(store).intact  # operational: not chained
    sender = _sender(store, clock, config)
    sender.timeout = 30.0  # a LIS that answers does so at once; a loaded machine may still take over 0.5 s
    assert sender.send_next().outcome == "delivered"
    assert lis.control_ids() == [queued.control_id]
    assert verify(store).intact


def test_a_message_waiting_for_its_retry_is_still_not_sent_early(run_store):
    peer = Lis()
    address = peer.address
    peer.stop()
    store, clock, config = _signed(run_store, address)
    sender = _sender(store, clock, config)
    assert sender.send_next().outcome == "retry"
    clock.advance(4)
    assert sender.send_next().outcome == "waiting"


def test_an_acknowledgement_dribbled_out_past_the_timeout_is_no_acknowledgement(run_store):
    """A LIS that answers one byte at a time, each in less than ``ack_timeout_s`` but the whole long after it:
    the attempt ends at the timeout (the message is tried again later, with its control ID), never by taking
    the answer a minute later, when another station may already have taken the message for its own attempt."""
    import hl7

    server, stop = socket.create_server(("127.0.0.1", 0)), threading.Event()

    def dribble():
        conn, _ = server.accept()
        with conn:
            data = b""
            while b"\x1c\r" not in data:
                data += conn.recv(65536)
            received = hl7.parse(data[1:data.index(b"\x1c\r")].decode())
            for byte in b"\x0b" + str(received.create_ack(ack_code="AA")).encode() + b"\x1c\r":
                if stop.wait(0.1):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=dribble, daemon=True)
    thread.start()
    try:
        store, clock, config = _signed(run_store, f"127.0.0.1:{server.getsockname()[1]}", ack_timeout_s=0.5)
        attempt = _sender(store, clock, config).send_next()  # ack_timeout_s 0.5; the whole answer takes ~10 s
    finally:
        stop.set()
        thread.join(5)
        server.close()
    assert attempt.outcome == "retry" and "no acknowledgement within 0.5 s" in attempt.detail
    [message] = outbox.messages(store)
    assert (message.state, message.attempts) == ("pending", 1)
