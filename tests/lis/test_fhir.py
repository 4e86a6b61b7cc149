"""`sweattest export RUN_ID --format fhir`: a FHIR R4 Bundle, validated with fhir.resources (R4B models),
written atomically and audited like the other formats."""

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from fhir.resources.R4B.bundle import Bundle
from freezegun import freeze_time
from pydantic import ValidationError

from sweattest.cli.main import main
from sweattest.core.config import LabConfig
from sweattest.outputs.lims.fhir import render_fhir
from sweattest.outputs.release import sign
from sweattest.record.audit import history
from tests.golden.build import RUN_ID
from tests.lims.records import record_of, stored
from tests.lis.conftest import config_for
from tests.lis.test_result_content import LIS_ORDER
from tests.report.test_delivery import _as_rev1


def _validated(doc: dict) -> Bundle:
    return Bundle.model_validate(doc)  # raises on any structure or datatype error


def test_export_fhir_writes_a_valid_bundle_and_audits_it(run_store, tmp_path, capsys, monkeypatch):
    store, clock, url = run_store
    sign(store, clock, RUN_ID, "rev1", "correct horse", "reviewed", config=config_for("127.0.0.1:9"))
    with freeze_time(clock.utcnow()):  # the users' passwords are as old as the stored run, not expired
        assert main(["export", RUN_ID, "--format", "fhir", "--to", str(tmp_path), "--db", url,
                     *_as_rev1(monkeypatch)]) == 0
    [path] = tmp_path.glob("*.fhir.json")
    assert f"exported {path}" in capsys.readouterr().out
    doc = json.loads(path.read_text(encoding="utf-8"))
    parsed = _validated(doc)
    kinds = [e.resource.__resource_type__ for e in parsed.entry]
    assert kinds[:2] == ["DiagnosticReport", "Patient"] and kinds.count("Specimen") == 2
    assert "ServiceRequest" not in kinds  # the order came from an order file, not from the LIS
    report = doc["entry"][0]["resource"]
    assert report["status"] == "final" and len(report["result"]) == kinds.count("Observation")
    chloride = [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Observation"
                and e["resource"]["code"]["coding"][0]["code"] == "2077-6"]
    assert [(o["valueQuantity"]["value"], o["valueQuantity"]["code"]) for o in chloride] == [(45, "mmol/L"),
                                                                                            (48, "mmol/L")]
    assert all(o["subject"] == report["subject"] for o in chloride)
    [entry] = [e for e in history(store, RUN_ID) if e.what == "export fhir"]
    assert entry.new["file"] == path.name
    with freeze_time(clock.utcnow()):  # the users' passwords are as old as the stored run, not expired
        assert main(["export", RUN_ID, "--format", "fhir", "--to", str(tmp_path), "--db", url,
                     *_as_rev1(monkeypatch)]) == 0
    assert "already delivered" in capsys.readouterr().out


def test_an_lis_order_adds_the_service_request_and_a_qns_site_has_no_value():
    record = record_of({"left_forearm": (40, 45), "right_forearm": (5, None)}, final=True)
    record = replace(record, order=record.order | {"lis": LIS_ORDER})
    doc = json.loads(render_fhir(record, LabConfig()))
    _validated(doc)
    [request] = [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "ServiceRequest"]
    assert [(i["type"]["coding"][0]["code"], i["value"]) for i in request["identifier"]] == [("PLAC", "ACC-1001"),
                                                                                            ("FILL", "F1001")]
    report = doc["entry"][0]["resource"]
    assert report["basedOn"] == [{"reference": doc["entry"][2]["fullUrl"]}]
    qns = [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Observation"
           and e["resource"]["code"]["coding"][0]["code"] == "2077-6"][1]
    assert "valueQuantity" not in qns and qns["dataAbsentReason"]["coding"][0]["code"] == "not-performed"


def _resources(doc: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == kind]


def test_a_patient_on_a_cftr_modulator_gets_a_monitoring_value_without_a_category():
    order = {"cftr_modulator": "ivacaftor", "modulator_start": "2026-01-15"}
    record = record_of({"left_forearm": (22, 45)}, order=order, final=True)
    record = stored(record, modulator={
        "modulator": "ivacaftor", "started": "2026-01-15", "baseline": None, "rows": [],
        "previous": {"run_id": "A1", "accession": "ST-A1", "date": "2026-02-01"},
        "previous_rows": [{"site": "left_forearm", "before": 60, "now": 45, "change": -15}], "note": "no threshold"})
    doc = json.loads(render_fhir(record, config_for("127.0.0.1:9")))
    _validated(doc)
    [report] = _resources(doc, "DiagnosticReport")
    assert "conclusionCode" not in report and report["conclusion"].startswith("Monitoring value")
    chloride = [o for o in _resources(doc, "Observation") if o["code"]["coding"][0]["code"] == "2077-6"]
    assert "interpretation" not in chloride[0] and chloride[0]["valueQuantity"]["value"] == 45
    notes = [n["text"] for n in chloride[0]["note"]]
    assert notes[0] == "CFTR modulator: ivacaftor since 2026-01-15; monitoring value, no diagnostic category"
    assert "left forearm 60 -> 45 mmol/L (-15)" in notes[1]


def test_the_conclusion_code_is_in_the_range_set_words_and_issued_is_per_version():
    record = record_of({"left_forearm": (22, 35)}, ranges="clsi_c34_a3", final=True)
    [report] = _resources(json.loads(render_fhir(record, config_for("127.0.0.1:9"))), "DiagnosticReport")
    assert report["conclusionCode"][0]["coding"][0]["code"] == "normal"
    assert report["conclusionCode"][0]["text"] == "Normal"
    assert "CFF 2017, the current guideline, 35 mmol/L is intermediate" in report["conclusion"]
    corrected = replace(record, report=replace(record.report, status="corrected", version=2,
                                               released_at=datetime(2026, 11, 21, 9, 30, tzinfo=UTC)))
    [v2] = _resources(json.loads(render_fhir(corrected, config_for("127.0.0.1:9"))), "DiagnosticReport")
    assert v2["issued"] == "2026-11-21T09:30:00Z" and report["issued"] != v2["issued"]


def test_a_resource_fhir_would_refuse_is_refused_when_built_and_nothing_is_written():
    record = record_of({"left_forearm": (40, 45)}, final=True)
    # not a FHIR date (a record document holding it is refused when read: made here as a record was built with it)
    record = replace(record, order={**record.order, "patient": {**record.patient, "dob": "01/06/2025"}})
    with pytest.raises(ValidationError, match="birthDate"):
        render_fhir(record, LabConfig())
