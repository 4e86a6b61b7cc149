"""Orders in: ORM^O01 and OML^O21 over MLLP (sent by python-hl7's MLLP client) and as files; each answered
AA, AE or AR with ERR; accepted orders land on the worklist once; cancels; malformed orders store nothing."""

import asyncio
import socket

import hl7
import hl7.mllp
import pytest
import sqlalchemy as sa

from sweattest.core.config import LabConfig
from sweattest.lis.ack import read_ack
from sweattest.lis.listener import OrderListener, rejecter
from sweattest.lis.mllp import FrameReader, frame
from sweattest.lis.order_drop import process_folder
from sweattest.lis.worklist import receive
from sweattest.record.audit import verify
from sweattest.record.store import schema
from sweattest.record.store.store import Store
from sweattest.record.worklist import find, open_orders
from tests.lims.hl7_oracle import strict_answer
from tests.lis.messages import oml, orm
from tests.store import backends

store_url, store, clock = backends.store_url, backends.store, backends.clock  # both backends


@pytest.fixture
def listener(store, clock):
    config = LabConfig()
    srv = OrderListener(("127.0.0.1", 0), lambda text: receive(store, clock, text, config),
                        rejecter("SWEATTEST", "SWEATLAB", clock.utcnow)).start()
    yield srv
    srv.stop()


def _send_with_python_hl7(port: int, *messages: str) -> list[str]:
    async def talk():
        reader, writer = await hl7.mllp.open_hl7_connection("127.0.0.1", port)
        answers = []
        try:
            for m in messages:
                writer.writemessage(hl7.parse(m))
                await writer.drain()
                answers.append(str(await asyncio.wait_for(reader.readmessage(), 5)))
        finally:
            writer.close()
        return answers
    return asyncio.run(talk())


def _raw(port: int, data: bytes) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        return FrameReader(sock).read().decode()


def _stored(store) -> tuple[int, int]:
    with store.engine.connect() as conn:
        return (conn.execute(sa.select(sa.func.count()).select_from(schema.lis_orders)).scalar(),
                conn.execute(sa.select(sa.func.count()).select_from(schema.lis_messages)).scalar())


def test_orders_over_mllp_land_on_the_worklist_once(store, listener):
    answers = _send_with_python_hl7(listener.address[1], orm(), oml(), orm())  # the first one repeated
    codes = [read_ack(a) for a in answers]
    assert [(a.code, a.control_id) for a in codes] == [("AA", "MSG0001"), ("AA", "MSG0002"), ("AA", "MSG0001")]
    assert answers[2] == answers[0]  # the same acknowledgement again
    reused = read_ack(_send_with_python_hl7(listener.address[1], orm(placer="ACC-1003"))[0])
    assert reused.code == "AE" and "MSG0001 was already used for another message" in reused.text
    assert [o.accession for o in open_orders(store)] == ["ACC-1001", "ACC-2001"]
    order = find(store, "ACC-1001")
    assert (order.filler, order.mrn, order.order["provider"]) == ("F1001", "MRN555", {
        "id": "1234", "name": "Marcus Welby", "xcn": [[["1234"], ["Welby"], ["Marcus"]]]})
    assert order.order["patient"]["identifiers"] == [[["MRN555"], [""], [""], ["HOSP"], ["MR"]],
                                                     [["998877"], [""], [""], ["NHS"], ["NH"]]]
    assert order.order["visit"] == {"class": "O", "number": "V4455", "number_cx": [[["V4455"]]],
                                    "location": [[["PEDS"], ["12"]]]}
    assert _stored(store) == (2, 2)
    assert verify(store).intact


def test_a_cancel_removes_an_open_order_and_is_refused_once_started(store, clock):
    config = LabConfig()
    receive(store, clock, orm(), config)
    receive(store, clock, orm(control="MSG0003", placer="ACC-1002"), config)
    answer = read_ack(receive(store, clock, orm(control="C1", control_code="CA"), config))
    assert answer.code == "AA" and find(store, "ACC-1001").state == "cancelled"
    with store.writing() as conn:  # the bench starts ACC-1002's test
        from sweattest.record.worklist import mark_started
        mark_started(conn, "ACC-1002", "R-STARTED", clock.utcnow(), "tech1")
    refused = read_ack(receive(store, clock, orm(control="C2", placer="ACC-1002", control_code="CA"), config))
    assert refused.code == "AE" and "cannot be cancelled: its test has started (run R-STARTED)" in refused.text
    assert find(store, "ACC-1002").state == "started"
    unknown = read_ack(receive(store, clock, orm(control="C3", placer="ACC-9999", control_code="CA"), config))
    assert unknown.code == "AE" and "not on the worklist" in unknown.text


@pytest.mark.parametrize("message, code, text", [
    (orm().replace("MRN555^^^HOSP^MR~998877^^^NHS^NH", ""), "AE", "PID-3 (patient identifier list"),
    (orm(test="GLUC"), "AE", "test 'GLUC^Sweat chloride test^L' is not performed here"),
    (orm()[:orm().index("PID|") + 20], "AE", "the ORC segment is missing"),  # a segment cut in half, rest lost
    (orm().replace("ORM^O01^ORM_O01", "ORU^R01^ORU_R01"), "AR", "only OML^O21 and ORM^O01 are taken"),
    (orm().replace("ORM^O01^ORM_O01", "ADT^A01^ADT_A01"), "AR", "event 'A01' of ADT is not taken"),
    (orm().replace("|P|2.5.1", "|P|3.0"), "AR", "HL7 version '3.0'"),
    (orm().replace("20250601", "2025-06-01"), "AE", "PID-7 (date of birth)"),
])
def test_malformed_orders_are_answered_with_the_reason_and_store_nothing(tmp_path, clock, message, code, text):
    store = Store(f"sqlite:///{tmp_path / 'runs.db'}", clock)  # parsing is the same on both backends
    raw = receive(store, clock, message, LabConfig())
    answer = read_ack(raw)
    assert (answer.code, answer.control_id) == (code, "MSG0001") and text in answer.text
    assert "\rERR|" in raw
    strict_answer(raw)  # the acknowledgement itself is valid HL7 v2.5.1
    assert _stored(store) == (0, 0)
    store.close()


def test_broken_frames_and_a_10_mb_message_are_refused_and_store_nothing(store, listener):
    port = listener.address[1]
    no_start = read_ack(_raw(port, orm().encode() + b"\x1c\r"))
    assert no_start.code == "AR" and "start byte 0x0B" in no_start.text and no_start.control_id == "MSG0001"
    huge = orm() + "NTE|1||" + "x" * (10 * 1024 * 1024) + "\r"
    big = read_ack(_raw(port, frame(huge)))
    assert big.code == "AR" and "larger than" in big.text and big.control_id == "MSG0001"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:  # cut off mid-message, then closed
        sock.sendall(b"\x0b" + orm().encode()[:60])
        sock.shutdown(socket.SHUT_WR)
        cut = read_ack(FrameReader(sock).read().decode())
    assert cut.code == "AR" and "closed in the middle" in cut.text
    assert _stored(store) == (0, 0)
    assert read_ack(_send_with_python_hl7(port, orm())[0]).code == "AA"  # the listener still serves
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:  # a line end between frames is no message
        sock.sendall(frame(orm(control="M7", placer="ACC-1007")) + b"\r\n"
                     + frame(orm(control="M8", placer="ACC-1008")))
        reader = FrameReader(sock)
        assert [read_ack(reader.read().decode()).code for _ in range(2)] == ["AA", "AA"]


def test_orders_dropped_as_files(store, clock, tmp_path):
    (tmp_path / "a.hl7").write_text(orm(), encoding="utf-8")
    (tmp_path / "b.hl7").write_text(orm(control="M2", test="GLUC").replace("\r", "\r\n"), encoding="utf-8")
    (tmp_path / "c.part").write_text("MSH|", encoding="utf-8")  # still being written by the LIS
    done = process_folder(tmp_path, lambda text: receive(store, clock, text, LabConfig()),
                          rejecter("SWEATTEST", "SWEATLAB", clock.utcnow))
    assert done == [("a.hl7", "AA"), ("b.hl7", "AE")]
    assert (tmp_path / "done" / "a.hl7").exists() and (tmp_path / "rejected" / "b.hl7").exists()
    assert read_ack((tmp_path / "ack" / "b.ack").read_text(encoding="utf-8")).text.startswith("test 'GLUC")
    assert (tmp_path / "c.part").exists()
    assert [o.accession for o in open_orders(store)] == ["ACC-1001"]


def test_long_sender_identifiers_and_mrns_are_answered_the_same_on_both_backends(store, clock):
    """MSH-3/MSH-4 may be 227 characters each (HD with an OID): taken, and a repeat recognised; an MRN longer than
    the worklist keeps (40) is answered AE, not a database error."""
    oid = "2.16.840.1.113883.3.1234.5.6.7.8.9.10.11.12.13"
    long_sender = orm().replace("|HIS|HOSPITAL|", f"|EPIC^{oid}^ISO|HOSPITAL^{oid}^ISO|")
    first = receive(store, clock, long_sender, LabConfig())
    assert read_ack(first).code == "AA"
    assert receive(store, clock, long_sender, LabConfig()) == first  # the same message again: the same answer
    strict_answer(first)
    mrn = read_ack(receive(store, clock, orm(control="M2", placer="ACC-1002", mrn="M" * 41), LabConfig()))
    assert mrn.code == "AE" and "PID-3 MRN has 41 characters" in mrn.text
    assert [o.accession for o in open_orders(store)] == ["ACC-1001"]


def test_noise_before_a_frame_is_dropped_and_the_frame_after_it_answered(store, listener):
    """Bytes between frames (a LIS's keep-alive text, line noise) never swallow the message that follows: each
    framed message gets its own answer, in order."""
    with socket.create_connection(("127.0.0.1", listener.address[1]), timeout=5) as sock:
        sock.sendall(b"garbage\r\n" + frame(orm(control="M7", placer="ACC-1007")) + b"xx\x00"
                     + frame(orm(control="M8", placer="ACC-1008")))
        reader = FrameReader(sock)
        answers = [read_ack(reader.read().decode()) for _ in range(2)]
    assert [(a.code, a.control_id) for a in answers] == [("AA", "M7"), ("AA", "M8")]
    assert [o.accession for o in open_orders(store)] == ["ACC-1007", "ACC-1008"]


def test_every_answer_ends_with_one_segment_terminator_and_an_unreadable_one_names_its_structure(store, clock):
    """No empty segment after the last one (a strict LIS parser refuses one); the AR to a message with no
    header still has MSH-9 as HL7 v2.5.1 requires it (message code, trigger, structure)."""
    for message in (orm(), orm(control="M2", test="GLUC"), orm(control="M3").replace("|P|2.5.1", "|T|2.5.1"),
                    "garbage"):
        raw = receive(store, clock, message, LabConfig())
        assert raw.endswith("\r") and not raw.endswith("\r\r") and "\r\r" not in raw
    assert raw.split("\r")[0].split("|")[8] == "ACK^^ACK"


def test_a_long_sending_application_is_echoed_within_what_hl7_allows(store, clock):
    """MSH-3 may be 227 characters, but the namespace of the HD echoed in the answer's MSH-5 holds 20 (IS)."""
    raw = receive(store, clock, orm().replace("|HIS|HOSPITAL|", "|" + "H" * 227 + "|HOSPITAL|"), LabConfig())
    strict_answer(raw)
    assert raw.split("\r")[0].split("|")[4] == "H" * 20


def test_a_bare_header_is_answered_without_naming_a_made_up_sender(store, clock):
    """``MSH|^~\\&`` and nothing more (python-hl7 reads its MSH-3 as "MSH" and MSH-4 as the delimiters): the AR
    is addressed to no one rather than to an application "MSH" at a facility "\\"."""
    raw = receive(store, clock, "MSH|^~\\&\r", LabConfig())
    head = raw.split("\r")[0].split("|")
    assert (head[4], head[5]) == ("", "")
    assert read_ack(raw).code == "AR"



@pytest.mark.parametrize("control, echoed", [
    ("M\\H\\1\\N\\", "M\\H\\1\\N\\"),  # highlighting escapes kept, not dropped
    ("A\\T\\B\\E\\C", "A\\T\\B\\E\\C"),
    ("\\X7C7C7C7C7C7C7C\\", "\\F\\\\F\\\\F\\\\F\\\\F\\\\F\\"),  # seven | are 21 characters escaped
])
def test_a_control_id_with_escapes_is_echoed_as_the_lis_sent_it_within_20_characters(store, clock, control, echoed):
    """MSA-2 is MSH-10 character for character (the LIS matches the two as text) when hl7apy writes it so; an
    escape it rewrites (\\X..\\) is decoded and escaped again, cut to the 20 characters MSA-2 holds."""
    raw = receive(store, clock, orm(control=control), LabConfig())
    strict_answer(raw)
    assert raw.split("\r")[1].split("|")[2] == echoed
