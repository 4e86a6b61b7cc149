"""The LIS is told when the laboratory will not perform its order (IHE LTW order status, filler to placer):
an eligibility block at the start of the run, a QNS that is not repeated, a cancel by the laboratory. Each
closes the order and queues an OML^O21 (ORC-1 OC, ORC-5 CA, ORC-16 the reason) in one transaction; the sender
delivers it to python-hl7's MLLP server, and hl7apy STRICT accepts it."""

import io
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from sweattest.bench.order import parse_order
from sweattest.bench.service import RunService
from sweattest.cli.main import main
from sweattest.core.clock import RealClock
from sweattest.core.config import LabConfig
from sweattest.core.errors import ValidationError
from sweattest.core.rules.eligibility import Limits
from sweattest.core.units import Q_
from sweattest.lis.ack import read_ack
from sweattest.lis.sender import Sender
from sweattest.lis.worklist import bench_order, receive
from sweattest.outputs.lims.order_status import refuse_order
from sweattest.outputs.release import sign
from sweattest.record import outbox
from sweattest.record.store import schema
from sweattest.record.worklist import find
from tests.lims.hl7_oracle import field, segments, strict
from tests.lis.conftest import config_for
from tests.lis.messages import orm
from tests.lis.peers import Lis
from tests.lis.test_outbox_policy import lis_run
from tests.store import backends

store_url, store, clock, staff = backends.store_url, backends.store, backends.clock, backends.staff  # both backends

#: an interface that takes orders for newborns (no minimum age at intake, which refuses under 48 h by
#: default): the bench's own limit then closes the order and tells the LIS
INTAKE = LabConfig(eligibility=Limits(min_age=Q_(1, "min")))


def _deliver(store, clock, peer: Lis) -> list[str]:
    config = config_for(peer.address)
    sender = Sender.configured(store, clock, replace(config, lis=replace(config.lis, ack_timeout_s=5)))
    while sender.send_next().outcome == "delivered":
        pass
    return peer.received


def _as(monkeypatch, user: str, password: str) -> list[str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return ["--as", user, "--password-stdin"]


def test_a_cancel_by_the_laboratory_tells_the_lis(staff, clock, store_url, monkeypatch, capsys, lis):
    assert read_ack(receive(staff, clock, orm(), LabConfig())).code == "AA"  # ACC-1001, open
    refuse = ["lis", "refuse", "ACC-1001", "--reason", "lab", "--note", "Pilocarpine gel recalled | no stock",
              "--db", store_url]
    assert main(refuse + _as(monkeypatch, "rev1", "wrong password")) == 1
    assert find(staff, "ACC-1001").state == "open" and outbox.messages(staff) == []  # nothing changed
    assert main(refuse + _as(monkeypatch, "rev1", "review password")) == 0
    assert "order ACC-1001 closed (lab) by rev1; the LIS is told by order status message 1" in capsys.readouterr().out
    order = find(staff, "ACC-1001")
    assert order.state == "cancelled" and order.closed_reason["code"] == "LABCA"
    assert main(refuse + _as(monkeypatch, "rev1", "review password")) == 2
    assert "order ACC-1001 is cancelled; it can be closed only when open or started" in capsys.readouterr().err
    clock.advance((RealClock().utcnow() - clock.utcnow()).total_seconds() + 1)  # the command ran on real time
    [message] = _deliver(staff, clock, lis)
    strict(message)
    assert field(message, "MSH", 9) == "OML^O21^OML_O21"
    assert [field(message, "ORC", n) for n in (1, 2, 3, 5)] == ["OC", "ACC-1001^HIS", "F1001^LAB", "CA"]
    assert field(message, "ORC", 16) == "LABCA^Cancelled by the laboratory^L"
    assert field(message, "PID", 3) == "MRN555^^^HOSP^MR~998877^^^NHS^NH"  # the identifiers as the LIS sent them
    assert field(message, "ORC", 12).startswith("1234^")  # the ordering provider's id as the LIS sent it
    assert field(message, "NTE", 3) == "Cancelled by the laboratory: Pilocarpine gel recalled \\F\\ no stock"
    [sent] = outbox.messages(staff)
    assert (sent.state, sent.format, sent.accession, sent.run_id) == ("delivered", "oml", "ACC-1001", None)
    with staff.engine.connect() as conn:  # the audit trail of an order without a run
        whats = conn.execute(sa.select(schema.audit.c.what).where(schema.audit.c.run_id.is_(None))
                             .order_by(schema.audit.c.id)).scalars().all()
    assert whats[-4:] == ["lis order closed by the laboratory", "outbox queue", "outbox message", "outbox delivered"]


def test_an_eligibility_block_at_the_start_closes_the_order_and_tells_the_lis(staff, clock, lis):
    newborn = orm(placer="ACC-NEW").replace("|20250601|", f"|{clock.utcnow() - timedelta(days=1):%Y%m%d}|")
    assert read_ack(receive(staff, clock, newborn, INTAKE)).code == "AA"
    doc = bench_order(find(staff, "ACC-NEW"), LabConfig().lis) | {
        "operator": "tech1", "pilocarpine_lot": {"lot": "PG1", "expires": "2099-12-31"}}
    with pytest.raises(ValidationError) as refused:
        RunService(staff, LabConfig()).start(parse_order(doc), clock=clock)
    assert "do not stimulate: patient is under the minimum age" in str(refused.value)
    assert "The LIS order ACC-NEW is closed and the LIS is told why (order status message 1)" in str(refused.value)
    assert staff.list_runs() == []  # no run was created
    assert find(staff, "ACC-NEW").state == "cancelled"
    [message] = _deliver(staff, clock, lis)
    strict(message)
    assert field(message, "ORC", 16) == "ELIG^Patient not eligible for sweat testing now^L"
    assert "under the minimum age" in field(message, "NTE", 3)


def test_a_qns_not_repeated_is_told_after_its_result(staff, clock, lis):
    assert read_ack(receive(staff, clock, orm(control="MQ", placer="ACC-Q", mrn="MRN1"), LabConfig())).code == "AA"
    with pytest.raises(ValidationError, match="order ACC-Q is open; it can be closed only when started"):
        refuse_order(staff, clock, "ACC-Q", "qns", "sample 10 uL", "rev1")
    assert outbox.messages(staff) == []
    staff_run = lis_run(staff, clock, "R1", "ACC-Q2", volumes=(10, 8))  # both sites QNS
    sign(staff, clock, staff_run, "rev1", "review password", "reviewed", config=LabConfig())
    with pytest.raises(ValidationError, match="a note is required"):
        refuse_order(staff, clock, "ACC-Q2", "qns", "  ", "rev1")
    refuse_order(staff, clock, "ACC-Q2", "qns", "both sites under the minimum sample; the family declined a repeat",
                 "rev1")
    result, status = _deliver(staff, clock, lis)
    assert field(result, "MSH", 9) == "ORU^R01^ORU_R01" and field(status, "MSH", 9) == "OML^O21^OML_O21"
    strict(status)
    assert field(status, "ORC", 16) == "QNS^Quantity not sufficient; the test is not repeated^L"
    assert [m.run_id for m in outbox.messages(staff)] == ["R1", "R1"]
    assert len(segments(status, "OBR")) == 1


def test_the_simulated_lis_says_what_order_status_it_received(staff, clock, capsys):
    from sweattest.lis.simulator import SimulatedLis

    assert read_ack(receive(staff, clock, orm(), LabConfig())).code == "AA"
    refuse_order(staff, clock, "ACC-1001", "lab", "no pilocarpine in stock", "rev1")
    simulated = SimulatedLis(0, "AA", say=print).start()
    try:
        config = config_for(f"127.0.0.1:{simulated.address[1]}")
        assert Sender.configured(staff, clock, config).send_next().outcome == "delivered"
    finally:
        simulated.stop()
    assert "for order ACC-1001^HIS (order control OC, status CA, reason LABCA^Cancelled by the laboratory^L): " \
           "answered AA" in capsys.readouterr().out


def test_run_of_an_ineligible_lis_order_from_the_terminal_tells_the_lis(tmp_path, capsys):
    """`sweattest run --accession` of a newborn's order: refused after the performer's password, no run, the
    order closed and the LIS told."""
    import json
    from datetime import UTC, datetime, timedelta

    from sweattest.bench.demo import DEMO_SCENARIO
    from sweattest.core.clock import VirtualClock
    from sweattest.record.store.store import open_store
    from tests.conftest import as_performer

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    today = datetime.now(UTC)
    store = open_store(url, VirtualClock(start=today))
    try:
        newborn = orm(placer="ACC-BABY").replace("|20250601|", f"|{today - timedelta(days=1):%Y%m%d}|")
        assert read_ack(receive(store, store.clock, newborn, INTAKE)).code == "AA"
        scenario = tmp_path / "scenario.json"
        scenario.write_text(json.dumps(DEMO_SCENARIO), encoding="utf-8")
        args = ["run", "--accession", "ACC-BABY", "--simulate", str(scenario), "--db", url, "--out",
                str(tmp_path / "o"), "--operator", "tech1", "--lot", "PG1234", "--lot-expires", "2099-12-31"]
        with as_performer(url) as performer:
            assert main(args + performer) == 2
        err = capsys.readouterr().err
        assert "do not stimulate" in err and "The LIS order ACC-BABY is closed and the LIS is told why" in err
        assert store.list_runs() == [] and find(store, "ACC-BABY").state == "cancelled"
        [message] = outbox.messages(store)
        assert (message.format, message.accession, message.state) == ("oml", "ACC-BABY", "pending")
    finally:
        store.close()


def test_a_message_that_cannot_be_written_fails_alone_and_is_written_again_on_resend(staff, clock, lis,
                                                                                     monkeypatch):
    from sweattest.outputs.lims import delivery

    for n, accession in enumerate(("ACC-A", "ACC-B")):
        assert read_ack(receive(staff, clock, orm(control=f"M{n}", placer=accession), LabConfig())).code == "AA"
        refuse_order(staff, clock, accession, "lab", "no pilocarpine in stock", "rev1")
    written = delivery.render_order_status  # as the sender writes the message

    def broken_for_a(order, *args, **kwargs):
        if order.placer == "ACC-A":
            raise ValueError("PID-8: code not in table 0001")
        return written(order, *args, **kwargs)

    monkeypatch.setattr(delivery, "render_order_status", broken_for_a)
    assert len(_deliver(staff, clock, lis)) == 1  # ACC-B went
    a, b = outbox.messages(staff)
    assert (a.state, b.state) == ("failed", "delivered")
    assert a.last_error.startswith("the message could not be written: PID-8: code not in table 0001")
    monkeypatch.setattr(delivery, "render_order_status", written)  # the cause fixed
    outbox.resend(staff, a.id, clock.utcnow(), "rev1")
    assert len(_deliver(staff, clock, lis)) == 2
    assert outbox.get(staff, a.id).state == "delivered"


def test_an_accession_ordered_again_before_the_message_is_written_is_not_the_one_told(staff, clock, lis):
    """The laboratory refuses ACC-1001 (eligibility); before the sender writes the order status message the LIS
    orders the accession again (filler F2002). The message tells of the order that was refused: its reason,
    note and filler number, never the new open order (which the LIS would take as cancelled)."""
    assert read_ack(receive(staff, clock, orm(), LabConfig())).code == "AA"
    refuse_order(staff, clock, "ACC-1001", "eligibility", "fever 39.5 C today", "tech1")
    clock.advance(60)
    again = orm(control="MSG0009", filler="F2002")
    assert read_ack(receive(staff, clock, again, LabConfig())).code == "AA"
    assert find(staff, "ACC-1001").state == "open"
    [message] = _deliver(staff, clock, lis)
    strict(message)
    assert field(message, "ORC", 16) == "ELIG^Patient not eligible for sweat testing now^L"
    assert field(message, "ORC", 3) == "F1001^LAB"
    assert field(message, "NTE", 3) == "Patient not eligible for sweat testing now: fever 39.5 C today"
    assert find(staff, "ACC-1001").state == "open"  # the new order stays on the worklist


def test_a_result_released_after_the_lab_cancelled_its_started_order_is_held_never_sent(staff, clock, lis):
    """HL7 order control OC: once the LIS is told the order is cancelled, no result may follow it. The lab closes
    a started order (the patient left mid-run), then the run's result is released anyway: the LIS receives the
    order status only; the result is held, needs attention, and cannot be resent."""
    run = lis_run(staff, clock, "R1", "ACC-S")
    refuse_order(staff, clock, "ACC-S", "lab", "the patient left during collection", "rev1")
    sign(staff, clock, run, "rev1", "review password", "reviewed", config=LabConfig())
    [received] = _deliver(staff, clock, lis)
    assert field(received, "MSH", 9) == "OML^O21^OML_O21" and field(received, "ORC", 1) == "OC"
    status, result = outbox.messages(staff)
    assert (status.format, status.state) == ("oml", "delivered")
    assert (result.format, result.run_id, result.shown_state) == ("hl7", "R1", outbox.NEEDS_ATTENTION)
    assert result.last_error.startswith(f"held, not sent: the laboratory closed order ACC-S and told the LIS it is "
                                        f"cancelled (order status message {status.id})")
    assert [m.id for m in outbox.needing_attention(staff)] == [result.id]
    with pytest.raises(ValidationError, match="released after the laboratory closed its order"):
        outbox.resend(staff, result.id, clock.utcnow(), "rev1")
    assert _deliver(staff, clock, lis) == [received]  # nothing more reached the LIS
