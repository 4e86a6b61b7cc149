"""The run record's JSON edge: one serializer, one parser. A document read and written again is the same text,
for the golden runs and for records of every kind; a document of another version is refused, saying why."""

import json
from datetime import UTC, datetime

import pytest

from sweattest.core.units import Q_
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
from tests.golden.regenerate import records
from tests.lims.records import record_of

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
    with pytest.raises(RecordFormatError, match="cannot read it: KeyError 'collection'"):
        parse_record(doc)
    doc = record_document(record_of(BOTH))
    doc["sites"][0]["status"] = "fine"
    with pytest.raises(RecordFormatError, match="'fine' is not a valid SiteStatus"):
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
    with pytest.raises(RecordFormatError, match="sites.left_forearm.sample"):
        parse_record(doc)
    doc = record_document(record)
    doc["method"]["current"] = "__import__('os')"
    with pytest.raises(RecordFormatError, match="method.current"):
        parse_record(doc)
