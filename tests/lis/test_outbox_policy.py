"""What a hospital's interface team checks before go-live, against python-hl7's MLLP server as the LIS: a
result of an LIS order is queued by whoever releases it and sent with the sender's configuration; one
accession answered AE over and over ends "failed: needs attention" while the other orders' results keep
flowing; a version superseded by an accepted later one is never sent, and its resend is refused."""

import io
from dataclasses import replace

import pytest
import sqlalchemy as sa

from sweattest.cli.main import main
from sweattest.core.config import LabConfig
from sweattest.lis.ack import read_ack
from sweattest.lis.sender import Sender
from sweattest.lis.service import LisService
from sweattest.lis.worklist import receive
from sweattest.outputs.release import amend, sign
from sweattest.qa.workspace import desk_alerts
from sweattest.record import outbox
from sweattest.record.audit import history, verify
from sweattest.record.signoff import signatures
from sweattest.record.store import schema
from sweattest.record.worklist import find, mark_started
from tests.lims.hl7_oracle import field, strict
from tests.lis.conftest import config_for
from tests.lis.messages import orm
from tests.lis.peers import Lis
from tests.store import backends
from tests.store.backends import make_run, sign_performed

store_url, store, clock, staff = backends.store_url, backends.store, backends.clock, backends.staff  # both backends


def lis_run(store, clock, run_id: str, accession: str, **kw) -> str:
    """A run of an order the LIS sent (``accession``), at result_ready and signed performed by tech1."""
    answer = read_ack(receive(store, clock, orm(control=f"M-{accession}", placer=accession, mrn="MRN1"),
                              LabConfig()))
    assert answer.code == "AA"
    make_run(store, clock, run_id, accession=accession, order_extra={"lis": find(store, accession).order}, **kw)
    with store.writing() as conn:
        mark_started(conn, accession, run_id, clock.utcnow(), "tech1")
    sign_performed(store, clock, run_id)
    return run_id


def release(store, clock, run_id: str) -> None:
    """The reviewer releases the result in a process with no lab configuration at all."""
    sign(store, clock, run_id, "rev1", "review password", "reviewed", config=LabConfig())


def _sender(store, clock, address: str, **lis) -> Sender:
    config = config_for(address, retry_delays_s=(5, 15, 60), **lis)
    return Sender.configured(store, clock, replace(config, lis=replace(config.lis, ack_timeout_s=5)))


def test_a_result_of_an_lis_order_is_queued_by_a_signer_without_configuration(staff, clock):
    lis_run(staff, clock, "R1", "ACC-1")
    make_run(staff, clock, "R2", accession="PAPER-2")  # from an order file: this lab has no LIS to tell
    sign_performed(staff, clock, "R2")
    release(staff, clock, "R1")
    release(staff, clock, "R2")
    [queued] = outbox.messages(staff)
    assert (queued.run_id, queued.accession, queued.version, queued.destination, queued.state) == \
        ("R1", "ACC-1", 1, "lis", "pending")
    assert queued.body is None  # written by the sender, with the sender's configuration
    entries = [e for e in history(staff, "R1") if e.what in ("sign reviewed", "outbox queue")]
    assert [e.what for e in entries] == ["sign reviewed", "outbox queue"] and entries[0].at == entries[1].at
    assert entries[1].id == entries[0].id + 1
    assert verify(staff).intact


def test_a_release_whose_outbox_row_cannot_be_written_is_not_released(staff, clock, monkeypatch):
    lis_run(staff, clock, "R1", "ACC-1")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(outbox, "queue", broken)
    with pytest.raises(RuntimeError):
        release(staff, clock, "R1")
    assert [s.meaning for s in signatures(staff, "R1")] == ["performed"]  # the signature went with the row
    assert staff.get_run("R1")["state"] == "result_ready" and outbox.messages(staff) == []


def test_sign_without_a_configuration_then_lis_serve_delivers(tmp_path, monkeypatch, capsys):
    """`sweattest sign` with no SWEATTEST_CONFIG; `sweattest lis serve` (another process, its own configuration)
    delivers the result to the LIS, which answers AA."""
    import subprocess
    import sys
    import time

    from sweattest.core.clock import VirtualClock
    from sweattest.record.store.store import open_store
    from tests.store.backends import START, add_staff

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    store = open_store(url, VirtualClock(start=START))
    add_staff(store)
    lis_run(store, store.clock, "R1", "ACC-1")
    monkeypatch.delenv("SWEATTEST_CONFIG", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("review password\n"))
    assert main(["sign", "R1", "--as", "rev1", "--meaning", "reviewed", "--password-stdin", "--db", url]) == 0
    assert "R1: version 1 queued for the LIS as message 1" in capsys.readouterr().out
    peer = Lis()
    config = tmp_path / "lab.toml"
    config.write_text(f'[hl7]\nsending_facility = "CFLAB"\n[lis]\nsend_to = "{peer.address}"\n', encoding="utf-8")
    serve = subprocess.Popen([sys.executable, "-m", "sweattest", "lis", "serve", "--config", str(config),
                              "--db", url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert peer.arrived.wait(60), "lis serve sent nothing"
        deadline = time.monotonic() + 30  # the sender records the AA right after reading it
        while outbox.get(store, 1).state != "delivered" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        serve.terminate()
        out = serve.communicate(timeout=30)[0]
        peer.stop()
    message = outbox.get(store, 1)
    assert message.state == "delivered", out
    assert "results to " + peer.address in out
    [received] = peer.received
    assert peer.control_ids() == [message.control_id]
    strict(received)
    assert field(received, "MSH", 4) == "CFLAB"  # the sending process's configuration
    assert field(received, "ORC", 2).startswith("ACC-1")
    store.close()


def test_ae_forever_on_one_accession_needs_attention_while_other_results_flow(staff, clock, store_url, capsys):
    lis_run(staff, clock, "R1", "ACC-STUCK")
    lis_run(staff, clock, "R2", "ACC-OK")
    release(staff, clock, "R1")
    release(staff, clock, "R2")
    peer = Lis(answer=lambda text: "AE" if "ACC-STUCK" in text else "AA")
    try:
        sender = _sender(staff, clock, peer.address)  # [lis] ae_limit: the default, 3
        assert sender.send_next().outcome == "retry"  # ACC-STUCK, the oldest: AE
        assert sender.send_next().outcome == "delivered"  # ACC-OK does not wait behind it
        amend(staff, clock, "R1", "rev1", "review password", changes={"left_forearm.chloride": 62},
              reason="transcription error", config=LabConfig())
        sender.send_next()  # the correction is written, and waits behind its original
        assert sender.send_next().outcome == "waiting"
        clock.advance(5)
        assert sender.send_next().outcome == "retry"
        clock.advance(15)
        attempt = sender.send_next()
        assert attempt.outcome == "failed" and "answered AE 3 times" in attempt.detail
        first, second, correction = outbox.messages(staff)
        assert (first.state, first.ae_count, first.shown_state) == ("failed", 3, "failed: needs attention")
        assert (second.accession, second.state) == ("ACC-OK", "delivered")
        peer.answer = "AA"  # the interface team fixed the mapping
        assert sender.send_next().outcome == "delivered"  # the correction of ACC-STUCK is not held forever
        assert outbox.get(staff, correction.id).state == "delivered"
    finally:
        peer.stop()
    assert [field(m, "ORC", 2).split("^")[0] for m in peer.received] == ["ACC-STUCK", "ACC-OK", "ACC-STUCK",
                                                                           "ACC-STUCK", "ACC-STUCK"]
    assert main(["lis", "outbox", "--db", store_url, "--state", "failed"]) == 0
    table = capsys.readouterr().out
    assert "ACC-STUCK" in table and "failed: needs attention" in table and "answered AE 3 times" in table
    [alert] = desk_alerts(staff)
    assert (alert["kind"], alert["accession"], alert["message"]) == ("lis", "ACC-STUCK", first.id)
    [status] = LisService(staff, clock, LabConfig()).status()
    assert status.startswith(f"1 message(s) to the LIS failed: needs attention: {first.id} (ACC-STUCK)")


def test_a_superseded_version_is_never_sent_and_its_resend_is_refused(staff, clock, store_url, capsys,
                                                                       monkeypatch):
    lis_run(staff, clock, "R1", "ACC-1", chlorides=(45, 48))
    release(staff, clock, "R1")
    peer = Lis(answer="AR")
    try:
        sender = _sender(staff, clock, peer.address)
        assert sender.send_next().outcome == "failed"  # v1: AR
        amend(staff, clock, "R1", "rev1", "review password", changes={"left_forearm.chloride": 65},
              reason="transcription error: 65, not 45", config=LabConfig())
        peer.answer = "AA"
        assert sender.send_next().outcome == "delivered"  # v2, the correction
        v1, v2 = outbox.messages(staff)
        monkeypatch.setattr("sys.stdin", io.StringIO("review password\n"))
        assert main(["lis", "resend", str(v1.id), "--as", "rev1", "--password-stdin", "--db", store_url]) == 2
        err = capsys.readouterr().err
        assert f"message {v1.id} is version 1 of run R1's result, superseded by version 2 (message {v2.id}, " \
               f"delivered)" in err and f"resend message {v2.id} instead" in err
        assert outbox.get(staff, v1.id).state == "failed"  # nothing re-queued
        # however it came to be pending again (an older installation, another station), it is never sent
        with staff.writing() as conn:
            conn.execute(sa.update(schema.outbox).where(schema.outbox.c.id == v1.id).values(state="pending"))
        attempt = sender.send_next()
        assert attempt.outcome == "superseded" and f"version 2 of this result (message {v2.id})" in attempt.detail
        assert sender.send_next().outcome == "idle"
    finally:
        peer.stop()
    assert [field(m, "OBR", 25) for m in peer.received] == ["F", "C"]  # the LIS files 65 last
    assert outbox.get(staff, v1.id).state == "superseded"


def test_an_outbox_of_before_migration_24_keeps_its_messages(store_url, clock, monkeypatch):
    """A store as migration 17 left it, with a message queued for an address: migrated, the message keeps
    everything and gains its run's accession; a message may then have no run."""
    from sweattest.record.store import migrations
    from sweattest.record.store.store import Store

    with monkeypatch.context() as m:
        # (with the station column of migration 28, which the program writes when it creates a run)
        m.setattr(migrations, "MIGRATIONS", [x for x in migrations.MIGRATIONS if x[0] < 24 or x[0] == 28])
        old = Store(store_url, clock)
        make_run(old, clock, "R1", accession="ACC-OLD")
        with old.engine.begin() as conn:
            conn.execute(migrations._v9.tables["outbox"].insert().values(  # the table as migration 9 made it
                run_id="R1", version=1, format="hl7", channel="mllp", destination="127.0.0.1:9", name="R1_v1.hl7",
                control_id="OLD0000000000000000A", body="MSH|^~\\&|X", state="failed", attempts=1,
                created_at=clock.utcnow()))
        old.close()
    store = Store(store_url, clock)
    try:
        [message] = outbox.messages(store)
        assert (message.run_id, message.accession, message.control_id, message.state, message.attempts,
                message.ae_count, message.destination) == ("R1", "ACC-OLD", "OLD0000000000000000A", "failed", 1, 0,
                                                           "127.0.0.1:9")
        with store.writing() as conn:  # an order refused before any run: a message without a run
            outbox.queue(conn, run_id=None, accession="ACC-NEW", version=0, fmt=outbox.ORDER_STATUS,
                         channel=outbox.MLLP, destination=outbox.LIS, name="ACC-NEW_status.hl7",
                         control_id="NEW0000000000000000B", body="MSH|^~\\&|X", at=clock.utcnow(), who="rev1")
        assert [m.accession for m in outbox.messages(store)] == ["ACC-OLD", "ACC-NEW"]
    finally:
        store.close()


def test_sign_takes_the_lab_configuration(tmp_path, monkeypatch, capsys):
    """`sweattest sign --config FILE`: a bad file stops the signature before the password, with the file named;
    a good one naming an LIS writes the message at once, with that configuration."""
    from sweattest.core.clock import VirtualClock
    from sweattest.record.store.store import open_store
    from tests.store.backends import START, add_staff

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    store = open_store(url, VirtualClock(start=START))
    try:
        add_staff(store)
        lis_run(store, store.clock, "R1", "ACC-1")
        bad = tmp_path / "bad.toml"
        bad.write_text("[lis]\nae_limit = 0\n", encoding="utf-8")
        sign_reviewed = ["sign", "R1", "--as", "rev1", "--meaning", "reviewed", "--password-stdin", "--db", url]
        monkeypatch.setattr("sys.stdin", io.StringIO("review password\n"))
        assert main(sign_reviewed + ["--config", str(bad)]) == 2
        assert f"{bad}: [lis] ae_limit = 0: a whole number of AE answers from 1 to 100" in capsys.readouterr().err
        assert [s.meaning for s in signatures(store, "R1")] == ["performed"] and outbox.messages(store) == []
        good = tmp_path / "lab.toml"
        good.write_text('[hl7]\nsending_facility = "CFLAB"\n[lis]\nsend_to = "127.0.0.1:9"\n', encoding="utf-8")
        monkeypatch.setattr("sys.stdin", io.StringIO("review password\n"))
        assert main(sign_reviewed + ["--config", str(good)]) == 0
        assert "R1: version 1 queued for the LIS as message 1" in capsys.readouterr().out
        [message] = outbox.messages(store)
        assert message.body is not None and field(message.body, "MSH", 4) == "CFLAB"
    finally:
        store.close()


def test_a_review_interrupted_after_its_signature_is_completed_without_a_second_message(staff, clock, monkeypatch):
    """The process dies after the reviewer's signature committed (with the result queued for the LIS) and before
    the run was reported; the run is still offered for review, and a reviewer signs again: the review is
    completed under the first signature, and the LIS is sent the result once (one message, one control ID)."""
    from sweattest.record import runs, signoff

    lis_run(staff, clock, "R1", "ACC-1")
    real = runs.record_event

    def dies_at_review(store, clock, run_id, kind, **kw):
        if kind == "review":
            raise SystemExit("killed")
        return real(store, clock, run_id, kind, **kw)

    with monkeypatch.context() as m:
        m.setattr(signoff, "record_event", dies_at_review)  # the sign-off's own name for it
        with pytest.raises(SystemExit):
            release(staff, clock, "R1")
    assert staff.get_run("R1")["state"] == "result_ready"
    clock.advance(60)
    release(staff, clock, "R1")  # signed again once the station is back
    assert staff.get_run("R1")["state"] == "reported"
    assert [s.meaning for s in signatures(staff, "R1")] == ["performed", "reviewed"]
    [message] = outbox.messages(staff)
    peer = Lis()
    try:
        sender = _sender(staff, clock, peer.address)
        assert sender.send_next().outcome == "delivered" and sender.send_next().outcome == "idle"
    finally:
        peer.stop()
    assert peer.control_ids() == [outbox.get(staff, message.id).control_id]
    assert verify(staff).intact


def test_an_answer_whose_text_holds_control_characters_still_fails_the_message(staff, clock, store_url, capsys):
    """An AR whose error text carries a NUL, a terminal escape and a bell (raw or as HL7 escapes): the message
    is failed (needs attention) on either database, and its reason is shown as text, without them."""
    import hl7

    lis_run(staff, clock, "R1", "ACC-1")
    release(staff, clock, "R1")

    def refuse(text: str) -> str:
        ack = str(hl7.parse(text).create_ack(ack_code="AR"))
        return ack + "\rERR||||E||||Unknown\x00 patient\x1b[2J\x07 \\X00\\\\X1B\\here"

    peer = Lis(answer=refuse)
    try:
        attempt = _sender(staff, clock, peer.address).send_next()
    finally:
        peer.stop()
    assert attempt.outcome == "failed"
    [message] = outbox.messages(staff)
    assert message.state == "failed" and message.last_error == "AR from the LIS: Unknown patient[2J here"
    assert main(["lis", "outbox", "--db", store_url]) == 0
    assert "\x1b" not in capsys.readouterr().out


def test_a_message_another_process_wrote_and_delivered_is_never_marked_superseded_after(staff, clock, monkeypatch):
    """Two processes write queued messages (``serve`` on its signature, ``lis serve`` before sending). One
    listed version 1 as not written yet; the other wrote it and the LIS accepted it, then the result was
    amended. The first, going on with its list, finds version 1 outdated: the LIS has it, and the outbox goes
    on saying delivered (never "superseded", never sent)."""
    from sweattest.outputs.lims.delivery import render_queued

    lis_run(staff, clock, "R1", "ACC-1")
    release(staff, clock, "R1")
    stale = outbox.unrendered(staff)  # the other process's list, read now
    peer = Lis()
    try:
        assert _sender(staff, clock, peer.address).send_next().outcome == "delivered"  # written and accepted
    finally:
        peer.stop()
    amend(staff, clock, "R1", "rev1", "review password", changes={"left_forearm.chloride": 62},
          reason="transcription error", config=LabConfig())
    listed = stale + outbox.unrendered(staff)
    monkeypatch.setattr(outbox, "unrendered", lambda store: listed)
    render_queued(staff, clock, config_for(peer.address))
    v1, v2 = outbox.messages(staff)
    assert (v1.state, v1.last_error) == ("delivered", None) and v2.body is not None
    assert [e.what for e in history(staff, "R1") if e.what == "outbox superseded"] == []
