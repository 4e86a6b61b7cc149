"""`sweattest export RUN_ID --format fhir`: a FHIR R4 Bundle, validated with fhir.resources (R4B models),
written atomically and audited like the other formats."""

import json

from fhir.resources.R4B.bundle import Bundle
from freezegun import freeze_time

from sweattest.cli.main import main
from sweattest.outputs.lims.fhir import bundle
from sweattest.outputs.release import sign
from sweattest.record.audit import history
from tests.golden.build import RUN_ID
from tests.lims.records import record_of
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
    record["order"]["lis"] = LIS_ORDER
    from sweattest.core.config import LabConfig

    doc = bundle(record, LabConfig())
    _validated(doc)
    [request] = [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "ServiceRequest"]
    assert [(i["type"]["coding"][0]["code"], i["value"]) for i in request["identifier"]] == [("PLAC", "ACC-1001"),
                                                                                            ("FILL", "F1001")]
    report = doc["entry"][0]["resource"]
    assert report["basedOn"] == [{"reference": doc["entry"][2]["fullUrl"]}]
    qns = [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Observation"
           and e["resource"]["code"]["coding"][0]["code"] == "2077-6"][1]
    assert "valueQuantity" not in qns and qns["dataAbsentReason"]["coding"][0]["code"] == "not-performed"
