"""The run record's JSON edge: one serializer, one parser. A document read and written again is the same text,
for the golden runs and for records of every kind; a document of another version is refused, saying why."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle

from sweattest.core.clock import VirtualClock
from sweattest.core.config import LabConfig
from sweattest.core.units import Q_
from sweattest.outputs.lims.csv_file import render_csv
from sweattest.outputs.lims.fhir import render_fhir
from sweattest.outputs.lims.hl7 import render_oru
from sweattest.outputs.release import amend, sign
from sweattest.outputs.report import render_html
from sweattest.record.correction import corrected
from sweattest.record.record_json import (
    RECORD_VERSION,
    RecordFormatError,
    load_record,
    parse_record,
    record_document,
    record_json,
)
from sweattest.record.run_record_model import RunRecord
from sweattest.record.store.store import open_store
from sweattest.record.stored_record import stored_record
from sweattest.record.users import add_user
from tests.golden.build import RUN_ID, START, demo_order, simulated
from tests.golden.regenerate import records
from tests.lims.hl7_oracle import strict
from tests.lims.records import record_of
from tests.store import backends

store_url = backends.store_url  # both backends

BOTH = {"left_forearm": (40, 45), "right_forearm": (35, 48)}
CORRECTION = {"version": 2, "at": "2026-11-21T09:30:00+00:00", "by": "rev2", "reason": "re-read the printout",
              "changes": [{"field": "left_forearm.chloride", "old": "45", "new": 62},
                          {"field": "patient.sex", "old": None, "new": "X", "not_applied": "sex: use F, M, O or U"}]}
SIGNED = [{"username": "rev2", "full_name": "Rita Reviewer", "meaning": "corrected", "version": 2,
           "at": datetime(2026, 11, 21, 9, 30, tzinfo=UTC)}]


def _corrected() -> RunRecord:
    before = record_of(BOTH, final=True)
    after = record_of({"left_forearm": (40, 62), "right_forearm": (35, 48)}, final=True, corrections=(CORRECTION,))
    return corrected(before, after, SIGNED)


KINDS = {
    "aborted site": lambda: record_of({"left_forearm": (40, 45), "right_forearm": ("abort", "inducer 'OUTP1?'")}),
    "QNS": lambda: record_of({"left_forearm": (5, None), "right_forearm": (35, 48)}),
    "withheld": lambda: record_of(BOTH, withheld="age_under_minimum: repeat the test when older"),
    "simulated": lambda: record_of(BOTH, order={"simulation": {"scenario": "demo"}}),
    "proficiency test": lambda: record_of(BOTH, order={"proficiency": {"provider": "CAP", "scheme": "SW",
                                                                       "event": "2026-A", "sample": "SW-01"}}),
    "gravimetric, final": lambda: record_of({"left_forearm": (74.99, 45)}, "gibson_cooke", final=True),
    "age-grouped range set": lambda: record_of(BOTH, ranges="clsi_c34_a3", dob="2026-10-01"),
    "corrected": _corrected,
}


def _round_trip(record: RunRecord) -> None:
    text = record_json(record)
    again = load_record(text)
    assert record_json(again) == text
    assert record_document(parse_record(json.loads(text))) == json.loads(text)


@pytest.fixture(scope="module")
def golden():
    return records()


@pytest.mark.parametrize("name", ["demo", "hostile"])
def test_the_golden_runs_read_and_write_back_the_same_document(golden, name):
    record = golden[name]
    _round_trip(record)
    doc = record_document(record)
    assert doc["record_version"] == RECORD_VERSION == 3
    assert list(doc)[-5:] == ["skin", "audit_head", "repeat_of", "earlier_tests", "modulator"]  # from the store
    again = load_record(record_json(record))
    assert again.generated_at == record.generated_at and again.generated_at.tzinfo is not None
    assert again.sites[0].collection.started_at == record.sites[0].collection.started_at


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_records_of_every_kind_read_and_write_back_the_same_document(kind):
    _round_trip(KINDS[kind]())


def test_the_typed_values_are_those_of_the_document():
    record = load_record(record_json(_corrected()))
    left = record.sites[0]
    assert (left.status, left.category, left.flag) == ("reported", "cf_likely", "H")
    assert left.was is not None and left.was.chloride == "45"
    assert record.report.status == "corrected" and record.report.released_at == datetime(2026, 11, 21, 9, 30,
                                                                                         tzinfo=UTC)
    assert record.report.corrected_by.name == "Rita Reviewer" and record.report.site_changed("left_forearm") == (
        "chloride",)
    assert record.interpretation.ranges.name == "cff_2017" and record.interpretation.ranges.normal.high == 29
    doc = record_document(record)
    assert doc["report"]["corrections"][0]["changes"][1]["not_applied"] == "sex: use F, M, O or U"
    assert doc["report"]["corrections"][0]["by_name"] == "Rita Reviewer"
    proficiency = record_document(KINDS["proficiency test"]())
    assert list(proficiency).index("proficiency") == list(proficiency).index("order") + 1
    assert "proficiency" not in record_document(KINDS["QNS"]())


@pytest.mark.parametrize("version", [2, 4, "3", None])
def test_a_document_of_another_version_is_refused_saying_which_versions_are_read(version):
    doc = record_document(record_of(BOTH))
    doc["record_version"] = version
    with pytest.raises(RecordFormatError, match=rf"record_version {version!r} is not one this version reads "
                                                r"\(it reads record_version 3\)"):
        parse_record(doc, "ST-1_R-TEST.json")


def test_a_document_missing_a_field_or_not_a_record_is_refused_naming_it():
    doc = record_document(record_of(BOTH))
    del doc["sites"][0]["collection"]
    with pytest.raises(RecordFormatError, match=r"run record \(record_version 3\): sites\[0\]\.collection is missing"):
        parse_record(doc)
    doc = record_document(record_of(BOTH))
    doc["sites"][0]["status"] = "fine"
    with pytest.raises(RecordFormatError, match=r"sites\[0\]\.status is 'fine', not one of reported, "):
        parse_record(doc)
    with pytest.raises(RecordFormatError, match="a run record is a JSON object, not list"):
        parse_record([])
    with pytest.raises(RecordFormatError, match="run.json: not JSON"):
        load_record("{", "run.json")


def test_a_version_3_document_from_before_the_later_additions_is_read():
    doc = record_document(record_of(BOTH))
    for key in ("instruments", "resumed"):
        del doc[key]
    del doc["performed"]["signed"]
    for key in ("lower_limit", "upper_limit", "weight_readability"):
        del doc["method"][key]
    record = parse_record(doc)
    assert record.instruments is None and record.resumed == () and record.performed.signed is False
    assert record.method.lower_limit is None and record.report.status == "preliminary"


def _set(path: str, value):
    """A change of the document: the field at ``path`` (dots; a number is a list index) set to ``value``."""
    def change(doc):
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        for p in parents:
            doc = doc[p]
        doc[last] = value
    return change


HOSTILE = [  # (field, value, what the refusal says about it)
    ("simulated", 1, r"simulated is the number 1, not true or false"),
    ("performed.signed", "yes", r"performed.signed is the text 'yes', not true or false"),
    ("sites.0.chloride.value_mmol_l", "45", r"sites\[0\].chloride.value_mmol_l is the text '45', not a whole number"),
    ("sites.0.chloride.value_mmol_l", True,
     r"sites\[0\].chloride.value_mmol_l is true \(true/false\), not a whole number"),
    ("sites.0.chloride.value_mmol_l", 45.0, r"sites\[0\].chloride.value_mmol_l is the number 45.0, not a whole number"),
    ("sites.0.amounts.sample", "40", r"sites\[0\].amounts.sample is the text '40', not a finite number"),
    ("sites.0.amounts.sample", float("nan"), r"sites\[0\].amounts.sample is the number nan, not a finite number"),
    ("sites.0.amounts.sample", False, r"sites\[0\].amounts.sample is false \(true/false\), not a finite number"),
    ("sites.0.chloride.text", 45, r"sites\[0\].chloride.text is the number 45, not a text"),
    ("generated_at", "2026-11-20T11:00:00", r"generated_at is '2026-11-20T11:00:00', a time without its UTC offset"),
    ("sites.1.collection.ended_at", "yesterday", r"sites\[1\].collection.ended_at is 'yesterday', not an ISO 8601"),
    ("sites.0.steps.2.at", 1700000000, r"sites\[0\].steps\[2\].at is the number 1700000000, not a text"),
    ("report.status", "draft", r"report.status is 'draft', not one of preliminary, final, corrected"),
    ("report.version", "1", r"report.version is the text '1', not a whole number"),
    ("interpretation.ranges.bands.0.low", None, r"interpretation.ranges.bands\[0\].low is null"),
    ("order", "ST-1", r"order is the text 'ST-1', not an object"),
    ("order.accession", 123, r"order.accession is the number 123, not a text"),
    ("sites.0", [], r"sites\[0\] is a list, not an object"),
    ("sites", {}, r"sites is an object, not a list"),
    ("eligibility", None, r"eligibility is null"),
    ("generated_at", datetime(2026, 11, 20, 11, 0), r"generated_at is datetime, not a text"),  # noqa: DTZ001
    ("order.patient.dob", "2025-13-01", r"order.patient.dob is '2025-13-01', not a date \(YYYY-MM-DD\)"),
    ("order.patient.mrn", None, r"order.patient.mrn is null"),
    ("qc.status", 1, r"qc.status is the number 1, not a text"),
]


@pytest.mark.parametrize(("path", "value", "said"), HOSTILE, ids=[f"{p}={v!r}" for p, v, _ in HOSTILE])
def test_a_field_of_the_wrong_type_is_refused_naming_it_never_converted(path, value, said):
    doc = record_document(record_of(BOTH, final=True))
    _set(path, value)(doc)
    with pytest.raises(RecordFormatError, match=rf"^ST-1_R-TEST.json \(record_version 3\): {said}"):
        parse_record(doc, "ST-1_R-TEST.json")


@pytest.mark.parametrize("version", [3.0, True, "3", [3]])
def test_a_version_that_only_equals_3_is_refused(version):
    doc = record_document(record_of(BOTH))
    doc["record_version"] = version
    said = f"record_version {re.escape(repr(version))} is not one this version reads"
    with pytest.raises(RecordFormatError, match=said):
        parse_record(doc)


def test_a_file_cut_short_not_a_number_or_nested_too_deep_is_refused_saying_so():
    text = record_json(record_of(BOTH))
    with pytest.raises(RecordFormatError, match="^run.json: not JSON"):
        load_record(text[: len(text) // 2], "run.json")
    for bad, said in (("NaN", "NaN is not a number a record holds"),
                      ("-Infinity", "-Infinity is not a number a record holds"),
                      ("1e400", "1e400 is too large a number for a record")):
        with pytest.raises(RecordFormatError, match=f"^run.json: not JSON \\({said}\\)"):
            load_record(text.replace('"sample_unit": "uL"', f'"sample_unit": "uL", "x": {bad}', 1), "run.json")
    with pytest.raises(RecordFormatError, match="^run.json: not a run record \\(nested too deeply to read\\)"):
        load_record('{"record_version": 3, "order": ' + "[" * 100_000 + "]" * 100_000 + "}", "run.json")


def test_a_huge_whole_number_is_read_as_the_document_has_it():
    doc = record_document(record_of(BOTH, final=True))
    doc["sites"][0]["chloride"]["value_mmol_l"] = 10**30
    record = parse_record(doc)
    assert record.sites[0].chloride.value_mmol_l == 10**30
    assert record_document(record)["sites"][0]["chloride"]["value_mmol_l"] == 10**30


@pytest.mark.parametrize(("path", "said"), [
    ("written_by", "written_by"), ("sites.0.chloride.note", r"sites\[0\].chloride.note"),
    ("report.corrections.0.changes.0.unit", r"report.corrections\[0\].changes\[0\].unit"),
    ("skin", "skin")])
def test_a_field_version_3_does_not_have_is_refused_never_dropped(path, said):
    doc = record_document(_corrected())
    _set(path, "x")(doc)
    with pytest.raises(RecordFormatError, match=rf"\(record_version 3\): {said} is not a field of record_version 3"):
        parse_record(doc)


def test_the_order_and_qc_status_are_kept_whole_with_fields_of_their_own():
    doc = record_document(record_of(BOTH, order={"comment": "anxious", "indication": "newborn screen"}))
    doc["order"]["patient"]["weight"] = "12 kg"
    doc["qc"]["lots"] = ["QC-1"]
    record = parse_record(doc)
    assert record.order["comment"] == "anxious" and record.patient["weight"] == "12 kg"
    assert record_document(record) == doc


def test_a_record_read_back_from_the_store_writes_the_same_document(store_url, tmp_path):
    """A modulator patient's run, released and corrected twice, read back from SQLite and PostgreSQL."""
    order = demo_order()
    order["patient"]["dob"] = "2015-01-01"
    order |= {"cftr_modulator": "elexacaftor/tezacaftor/ivacaftor", "modulator_start": "2025-01-01"}
    _, url = simulated(tmp_path, order, db_url=store_url)
    store = open_store(url)
    clock = VirtualClock(start=START + timedelta(hours=2))
    config = LabConfig()
    try:
        add_user(store, "rev1", "Rita Reviewer", "reviewer", "correct horse")
        add_user(store, "tech1", "Tina Tech", "tech", "tech horse")
        sign(store, clock, RUN_ID, "tech1", "tech horse", "performed", config=config)
        sign(store, clock, RUN_ID, "rev1", "correct horse", "reviewed", config=config)
        for changes in ({"left_forearm.chloride": 62}, {"right_forearm.chloride": 20}):
            clock.sleep(1800)
            amend(store, clock, RUN_ID, "rev1", "correct horse", changes=changes, reason="re-read", config=config)
        record = stored_record(store, RUN_ID, clock)
    finally:
        store.close()
    assert record.report.version == 3 and record.modulator is not None and record.audit_head.entry
    assert parse_record(record_document(record)) == record
    _round_trip(record)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_record_read_back_makes_the_same_lims_files_each_valid(kind):
    """HL7 at hl7apy's strict level, FHIR by its R4B models, CSV and report: the same from the record read back."""
    record = KINDS[kind]()
    again = load_record(record_json(record))
    at = record.generated_at
    hl7 = render_oru(again, LabConfig(), sent_at=at, control_id="0" * 20)
    assert hl7 == render_oru(record, LabConfig(), sent_at=at, control_id="0" * 20)
    strict(hl7)
    fhir = render_fhir(again, LabConfig())
    Bundle.model_validate(json.loads(fhir))
    assert render_csv(again) == render_csv(record) and render_html(again) == render_html(record)


def test_a_quantity_is_a_quantity_read_by_the_one_grammar_and_printed_as_the_record_shows_it(golden):
    """The record's quantities are quantities (the rules' units), their texts at the instrument's precision;
    a text the grammar does not read is refused with its field named."""
    record = golden["demo"]
    method, site = record.method, record.sites[0]
    assert method.current.quantity == Q_(1.5, "mA") and str(method.current) == "1.5 mA"
    assert method.lower_limit.quantity == Q_(10, "mmol/L")
    assert site.sample.quantity.to("uL").magnitude == pytest.approx(40.0) and str(site.sample) == "40.0 µL"
    doc = record_document(record)
    doc["sites"][0]["sample"] = "40.0 mmol/L"  # not a volume
    with pytest.raises(RecordFormatError, match=r"sites\[0\]\.sample"):
        parse_record(doc)
    doc = record_document(record)
    doc["method"]["current"] = "__import__('os')"
    with pytest.raises(RecordFormatError, match="method.current"):
        parse_record(doc)
