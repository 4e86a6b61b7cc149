"""Order validation with the right answer: AE for what the LIS can correct (impossible dates, fields longer than
HL7 v2.5.1 allows, unknown codes), AR for another installation's processing ID, each order of a message taken
or refused on its own (ORR^O02 / ORL^O22), cancels only by the order's sender for its patient, a cancelled
accession ordered again, HL7 table 0001 sex codes. Nothing is stored for what is refused."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import hl7
import pytest
import sqlalchemy as sa

from sweattest.core.clock import VirtualClock
from sweattest.core.config import LabConfig
from sweattest.lis.ack import read_ack
from sweattest.lis.worklist import bench_order, receive
from sweattest.outputs.lims.hl7 import render_oru
from sweattest.record.audit import verify
from sweattest.record.store import schema
from sweattest.record.store.store import open_store
from sweattest.record.worklist import find, open_orders
from tests.lims.hl7_oracle import field, strict, strict_answer
from tests.lims.records import record_of
from tests.lis.messages import oml, orm
from tests.store import backends

store_url = backends.store_url  # both backends

NOW = datetime(2026, 11, 20, 8, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}", VirtualClock(start=NOW))
    yield store
    store.close()


def _stored(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(schema.lis_orders)).scalar()


def _answer(store, message: str):
    raw = receive(store, store.clock, message, LabConfig())
    strict_answer(raw)
    return raw, read_ack(raw)


@pytest.mark.parametrize("message, text", [
    (orm().replace("20250601", "20990101"), "PID-7 (date of birth) '20990101': the date of birth is in the future"),
    (orm().replace("20250601", "00010101"), "PID-7 (date of birth) '00010101' is more than 130 years ago"),
    (orm().replace("20250601", NOW.strftime("%Y%m%d")), "under the minimum age of 48 h"),
    (orm().replace("20250601", "20250231"), "PID-7 (date of birth) '20250231': write YYYYMMDD"),
    (orm().replace("20250601", "20250601XYZ"), "PID-7 (date of birth) '20250601XYZ': write YYYYMMDD"),
    (orm().replace("20250601", "202506011"), "PID-7 (date of birth) '202506011': write YYYYMMDD"),
    (orm().replace("20250601", "20230229"), "PID-7 (date of birth) '20230229': write YYYYMMDD"),
    (orm(control="M" * 5000), "MSH-10 has 5000 characters; HL7 v2.5.1 allows 20"),
    (orm().replace("Doe^Jane", "Doe^" + "J" * 10000), "PID-5 has 10004 characters; HL7 v2.5.1 allows 250"),
    (orm().replace("||20250601|F", "||20250601|X"), "PID-8 (sex) 'X': use one of F, M, O, U, A, N"),
    (orm().replace("^^^HOSP^MR", "^^^" + "H" * 21 + "^MR"), "PID-3.4.1 has 21 characters; HL7 v2.5.1 allows 20"),
])
def test_orders_that_cannot_be_tested_are_answered_ae_and_stored_nowhere(store, message, text):
    raw, answer = _answer(store, message)
    assert answer.code == "AE" and text in answer.text, answer.text
    assert raw.split("\r")[0].split("|")[8] == "ORR^O02^ORR_O02"
    assert _stored(store) == 0 and open_orders(store) == []


def test_a_processing_id_that_is_not_this_installations_is_ar(store):
    raw, answer = _answer(store, orm().replace("|P|2.5.1", "|T|2.5.1"))
    assert answer.code == "AR" and "this installation takes P messages only" in answer.text
    assert _stored(store) == 0
    config = LabConfig()
    test_installation = config.__class__(**{**config.__dict__, "hl7": config.hl7.__class__(
        **{**config.hl7.__dict__, "processing_id": "T"})})
    assert read_ack(receive(store, store.clock, orm().replace("|P|2.5.1", "|T|2.5.1"), test_installation)).code == "AA"


@pytest.mark.parametrize("sex", ["A", "N"])
def test_table_0001_codes_a_and_n_are_taken_and_echoed(store, sex):
    _, answer = _answer(store, orm().replace("||20250601|F", f"||20250601|{sex}"))
    assert answer.code == "AA"
    order = find(store, "ACC-1001")
    assert order.order["patient"]["sex"] == sex
    assert bench_order(order, LabConfig().lis)["patient"]["sex"] == {"A": "O", "N": "U"}[sex]  # the bench's codes
    record = record_of({"left_forearm": (40, 45)}, final=True)
    record = replace(record, order=record.order | {"lis": order.order})
    oru = render_oru(record, LabConfig(), sent_at=NOW, control_id="C" * 20)
    strict(oru)
    assert field(oru, "PID", 8) == sex  # the result echoes the LIS's own code


def test_each_order_of_a_message_is_taken_or_refused_on_its_own(store):
    two = (orm() + "ORC|NW|ACC-1002^HIS|F1002^LAB\rOBR|2|ACC-1002^HIS|F1002^LAB|GLUC^Glucose^L\r"
           + "ORC|NW|ACC-1003^HIS|F1003^LAB\rOBR|3|ACC-1003^HIS|F1003^LAB|SWEATCL^Sweat chloride test^L\r"
           + "NTE|1|L|third order's comment\r")
    raw, answer = _answer(store, two)
    assert answer.code == "AE" and "test 'GLUC^Glucose^L' is not performed here" in answer.text
    parsed = hl7.parse(raw)
    assert str(parsed.segment("MSH")[9]) == "ORR^O02^ORR_O02"
    assert [(str(s[1]), str(s[2])) for s in parsed.segments("ORC")] == [("OK", "ACC-1001^HIS"), ("UA", "ACC-1002^HIS"),
                                                                         ("OK", "ACC-1003^HIS")]
    assert str(parsed.segment("ERR")[2]) == "OBR^2^4"  # the second order's OBR-4
    assert [o.accession for o in open_orders(store)] == ["ACC-1001", "ACC-1003"]
    assert find(store, "ACC-1003").order["comments"] == ["third order's comment"]
    assert receive(store, store.clock, two, LabConfig()) == raw  # the same message again: the same answer
    assert verify(store).intact


def test_an_oml_is_answered_orl_o22(store):
    raw, answer = _answer(store, oml())
    assert answer.code == "AA" and raw.split("\r")[0].split("|")[8] == "ORL^O22^ORL_O22"
    assert "\rORC|OK|ACC-2001^HIS|F1001^LAB\r" in raw


def test_a_cancel_is_checked_against_the_sender_and_the_patient(store):
    _answer(store, orm())
    evil = orm(control="C1", control_code="CA").replace("|HIS|HOSPITAL|", "|EVILSYS|HOSPITAL|")
    raw, answer = _answer(store, evil)
    assert answer.code == "AE" and "placed by HIS^HOSPITAL, not by EVILSYS^HOSPITAL" in answer.text
    assert "\rORC|UC|" in raw and find(store, "ACC-1001").state == "open"
    _, other = _answer(store, orm(control="C2", control_code="CA", mrn="MRN999"))
    assert other.code == "AE" and "is for another patient" in other.text
    assert find(store, "ACC-1001").state == "open"
    raw, cancelled = _answer(store, orm(control="C3", control_code="CA"))
    assert cancelled.code == "AA" and "\rORC|CR|ACC-1001^HIS" in raw and find(store, "ACC-1001").state == "cancelled"


def test_a_cancelled_accession_may_be_ordered_again(store):
    _answer(store, orm())
    _answer(store, orm(control="C1", control_code="CA"))
    _, again = _answer(store, orm(control="M2", filler="F2002"))
    assert again.code == "AA"
    order = find(store, "ACC-1001")
    assert (order.state, order.filler) == ("open", "F2002")
    _, twice = _answer(store, orm(control="M3"))
    assert twice.code == "AE" and "already on the worklist (open)" in twice.text
    assert _stored(store) == 2


def test_a_store_upgraded_from_unique_accessions_takes_a_reorder(store_url):
    """Migration 26 on a store whose lis_orders has the placer unique (migration 10 as released, with migration 25's
    column), with an order."""
    store = open_store(store_url, VirtualClock(start=NOW))
    _answer(store, orm())
    with store.engine.begin() as conn:  # the table as migration 10 created it, with this order in it
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("DROP INDEX ix_lis_orders_placer")
            conn.exec_driver_sql("ALTER TABLE lis_orders ADD CONSTRAINT lis_orders_placer_key UNIQUE (placer)")
        else:  # what SQLAlchemy wrote for unique=True
            conn.exec_driver_sql("ALTER TABLE lis_orders RENAME TO t_old")
            conn.exec_driver_sql("DROP INDEX ix_lis_orders_state")
            conn.exec_driver_sql("DROP INDEX ix_lis_orders_placer")
            conn.exec_driver_sql("CREATE TABLE lis_orders (id INTEGER NOT NULL, placer VARCHAR(40) NOT NULL, "
                                 "filler VARCHAR(40), mrn VARCHAR(40) NOT NULL, test_code VARCHAR(40) NOT NULL, "
                                 "state VARCHAR(12) NOT NULL, order_json JSON NOT NULL, control_id VARCHAR(40) NOT "
                                 "NULL, received_at VARCHAR(32) NOT NULL, run_id VARCHAR(40), closed_reason JSON, "
                                 "PRIMARY KEY (id), UNIQUE (placer))")
            conn.exec_driver_sql("CREATE INDEX ix_lis_orders_state ON lis_orders (state)")
            conn.exec_driver_sql("INSERT INTO lis_orders SELECT * FROM t_old")
            conn.exec_driver_sql("DROP TABLE t_old")
        conn.exec_driver_sql("DELETE FROM schema_migrations WHERE version = 26")
    store.close()
    store = open_store(store_url, VirtualClock(start=NOW + timedelta(hours=1)))
    try:
        assert find(store, "ACC-1001").state == "open"  # kept through the migration
        _answer(store, orm(control="C1", control_code="CA"))
        assert _answer(store, orm(control="M2"))[1].code == "AA"
        assert _stored(store) == 2
    finally:
        store.close()


def test_two_messages_in_one_frame_are_refused_not_merged_into_one_patient(store):
    """A LIS that forgets a frame end sends two messages as one: the second patient's order must never be
    filed under the first patient."""
    second = orm(control="M2", placer="ACC-1002", mrn="MRN777").replace("Doe^Jane", "Smith^Bob")
    raw, answer = _answer(store, orm() + second)
    assert answer.code == "AR" and "more than one MSH" in answer.text
    assert _stored(store) == 0


def test_a_second_patient_in_one_order_message_is_refused(store):
    second = ("PID|1||MRN777^^^HOSP^MR||Smith^Bob||20200101|M\r"
              "ORC|NW|ACC-1002^HIS|F1002^LAB\rOBR|1|ACC-1002^HIS|F1002^LAB|SWEATCL^Sweat chloride test^L\r")
    raw, answer = _answer(store, orm() + second)
    assert answer.code == "AE" and "one patient (PID) per message" in answer.text
    assert _stored(store) == 0


def test_every_hl7_escape_is_decoded_into_text_never_shown_as_a_code(store):
    """Highlighting (\\H\\ \\N\\), hexadecimal data of several bytes (\\X0D0A\\, UTF-8 as \\XC3A9\\), charset
    switches (\\Z..\\, \\C..\\, \\M..\\) and formatting commands (\\.sp\\, \\.in+4\\, \\.ce\\): the tech reads
    text, and the result echoes that text escaped again (STRICT)."""
    message = orm().replace("Doe^Jane", "\\H\\Doe\\N\\^Ren\\XC3A9\\e\\X0D0A\\Marie^\\C2842\\Ann\\E\\H\\E\\")
    comment = "\\H\\Sweat\\N\\ first\\.sp\\\\.in+4\\then\\Zabc\\ \\.ce\\end"
    message = message.replace("\rOBR|", f"\rNTE|1|L|{comment}\rOBR|", 1)
    _, answer = _answer(store, message)
    assert answer.code == "AA"
    order = find(store, "ACC-1001")
    patient = order.order["patient"]
    assert (patient["family"], patient["given"], patient["middle"]) == ("Doe", "Renée Marie", "Ann\\H\\")
    assert order.order["comments"] == ["Sweat first\nthen \nend"]
    assert bench_order(order, LabConfig().lis)["comment"] == "Sweat first\nthen \nend"
    record = record_of({"left_forearm": (40, 45)}, final=True)
    record = replace(record, order=record.order | {"lis": order.order})
    oru = render_oru(record, LabConfig(), sent_at=NOW, control_id="C" * 20)
    strict(oru)
    assert field(oru, "PID", 5) == "Doe^Renée Marie^Ann\\E\\H\\E\\"


@pytest.mark.parametrize("dob", ["20240229", "20250601+0100", "202506011230-0500", "20250601123045.1234+0000"])
def test_a_date_of_birth_with_a_time_or_a_timezone_is_taken(store, dob):
    _, answer = _answer(store, orm().replace("20250601", dob))
    assert answer.code == "AA"
    assert find(store, "ACC-1001").order["patient"]["dob"] == f"{dob[:4]}-{dob[4:6]}-{dob[6:8]}"


def test_a_comment_sent_as_repetitions_is_shown_line_by_line(store):
    """NTE-3 repeats (FT): Cerner sends a long comment as repetitions; the tech reads lines, not '~'."""
    message = orm().replace("\rOBR|", "\rNTE|1|L|first line~second line\\R\\with a tilde\rOBR|", 1)
    _, answer = _answer(store, message)
    assert answer.code == "AA"
    assert find(store, "ACC-1001").order["comments"] == ["first line\nsecond line~with a tilde"]
