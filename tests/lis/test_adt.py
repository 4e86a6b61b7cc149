"""ADT from the hospital: A08 updates the demographics of the patient's open orders, A40 moves the open orders of
a merged patient to the surviving one; a started order keeps what it was run with; both recorded (in the order,
the audit trail) and shown on the worklist."""

import json
from datetime import UTC, datetime

import pytest

from sweattest.cli.main import main
from sweattest.core.clock import VirtualClock
from sweattest.core.config import LabConfig
from sweattest.lis.ack import read_ack
from sweattest.lis.worklist import receive
from sweattest.record.audit import verify
from sweattest.record.store.store import open_store
from sweattest.record.worklist import find, mark_started
from tests.conftest import as_performer
from tests.lims.hl7_oracle import strict
from tests.lis.messages import orm

A08 = ("MSH|^~\\&|ADT|HOSPITAL|SWEATTEST|SWEATLAB|20261120090000||ADT^A08^ADT_A01|{control}|P|2.5.1\r"
       "EVN|A08|20261120090000\r"
       "PID|1||MRN555^^^HOSP^MR||Doe-Smith^Jane^Ann||20250602|F\r"
       "PV1|1|O\r")
A40 = ("MSH|^~\\&|ADT|HOSPITAL|SWEATTEST|SWEATLAB|20261120090000||ADT^A40^ADT_A39|{control}|P|2.5.1\r"
       "EVN|A40|20261120090000\r"
       "PID|1||MRN777^^^HOSP^MR||Doe^Jane||20250601|F\r"
       "MRG|MRN555^^^HOSP^MR\r")


@pytest.fixture
def store(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}", VirtualClock(start=datetime(2026, 11, 20, 8, tzinfo=UTC)))
    receive(store, store.clock, orm(), LabConfig())
    receive(store, store.clock, orm(control="M2", placer="ACC-1002"), LabConfig())
    with store.writing() as conn:  # ACC-1002's test has started: it keeps what it was run with
        mark_started(conn, "ACC-1002", "R-1", store.clock.utcnow(), "tech1")
    yield store
    store.close()


def test_a08_updates_the_open_orders_of_the_patient_and_shows_on_the_worklist(store, capsys):
    raw = receive(store, store.clock, A08.format(control="U1"), LabConfig())
    strict(raw)
    assert read_ack(raw).code == "AA"
    patient = find(store, "ACC-1001").order["patient"]
    assert (patient["family"], patient["middle"], patient["dob"]) == ("Doe-Smith", "Ann", "2025-06-02")
    assert find(store, "ACC-1002").order["patient"]["family"] == "Doe"  # started: unchanged
    [update] = find(store, "ACC-1001").order["updates"]
    assert update["event"] == "A08" and update["changes"]["dob"] == ["2025-06-01", "2025-06-02"]
    with as_performer(str(store.engine.url)) as actor:
        assert main(["worklist", "--db", str(store.engine.url), *actor]) == 0
    out = capsys.readouterr().out
    assert "Doe-Smith, Jane" in out and "A08 updated (family, middle, dob) 2026-11-20 08:00" in out
    with as_performer(str(store.engine.url)) as actor:
        assert main(["worklist", "--db", str(store.engine.url), "--format", "json", *actor]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["updates"][0]["control_id"] == "U1"
    assert verify(store).intact


def test_a40_moves_the_open_orders_of_the_merged_patient(store, capsys):
    assert read_ack(receive(store, store.clock, A40.format(control="G1"), LabConfig())).code == "AA"
    order = find(store, "ACC-1001")
    assert (order.mrn, order.order["patient"]["mrn"]) == ("MRN777", "MRN777")
    assert find(store, "ACC-1002").mrn == "MRN555"
    with as_performer(str(store.engine.url)) as actor:
        assert main(["worklist", "--db", str(store.engine.url), *actor]) == 0
    assert "A40 merged from MRN MRN555" in capsys.readouterr().out
    # a cancel now names the surviving patient
    cancel = read_ack(receive(store, store.clock, orm(control="C1", control_code="CA", mrn="MRN777"), LabConfig()))
    assert cancel.code == "AA"


def test_adt_that_cannot_be_applied_is_answered_and_changes_nothing(store):
    no_mrg = read_ack(receive(store, store.clock, A40.format(control="G2").replace("MRG|MRN555^^^HOSP^MR\r", ""),
                              LabConfig()))
    assert no_mrg.code == "AE" and "MRG-1" in no_mrg.text
    other = read_ack(receive(store, store.clock, A08.format(control="U2").replace("ADT^A08", "ADT^A03"),
                             LabConfig()))
    assert other.code == "AR" and "event 'A03' of ADT is not taken" in other.text
    assert find(store, "ACC-1001").order.get("updates") is None


def test_an_a40_merging_two_patients_moves_the_orders_of_both(store):
    """A40 may carry several patient groups (PID + MRG each): every merge is applied, none dropped."""
    receive(store, store.clock, orm(control="M3", placer="ACC-1003", mrn="MRN600"), LabConfig())
    two = A40.format(control="G3") + "PID|2||MRN777^^^HOSP^MR||Doe^Jane||20250601|F\rMRG|MRN600^^^HOSP^MR\r"
    raw = receive(store, store.clock, two, LabConfig())
    assert read_ack(raw).code == "AA"
    assert (find(store, "ACC-1001").mrn, find(store, "ACC-1003").mrn) == ("MRN777", "MRN777")
    assert find(store, "ACC-1003").order["updates"][0]["merged"] == "MRN600"
    assert verify(store).intact


def test_a_second_patient_in_an_a08_or_a_merge_without_its_mrg_changes_nothing(store):
    two = A08.format(control="U3") + "PID|2||MRN555^^^HOSP^MR||Evil^Eve||20250601|F\r"
    answer = read_ack(receive(store, store.clock, two, LabConfig()))
    assert answer.code == "AE" and "one patient (PID)" in answer.text
    half = A40.format(control="G4") + "PID|2||MRN777^^^HOSP^MR||Doe^Jane||20250601|F\r"
    answer = read_ack(receive(store, store.clock, half, LabConfig()))
    assert answer.code == "AE" and "MRG" in answer.text
    assert find(store, "ACC-1001").order.get("updates") is None
