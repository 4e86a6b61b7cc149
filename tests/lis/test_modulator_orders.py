"""A patient on a CFTR modulator, as the LIS order says it: the lab maps its order-entry question (an OBX after
the OBR, as Epic and Cerner send the answers asked at order entry) or a pattern of the order comment (NTE) in
``[lis.modulator]``; the order comes in over MLLP or the order folder, the worklist and the bench show the
modulator, and the run's report, ORU^R01 (hl7apy STRICT), CSV and FHIR give a monitoring value without a diagnostic
category."""

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sweattest.bench.demo import DEMO_SCENARIO
from sweattest.cli.main import main
from sweattest.core.clock import VirtualClock
from sweattest.core.config import LabConfig, parse_config
from sweattest.core.errors import ConfigError, ValidationError
from sweattest.lis.ack import read_ack
from sweattest.lis.listener import OrderListener, rejecter
from sweattest.lis.order_drop import process_folder
from sweattest.lis.worklist import WorklistBook, receive
from sweattest.outputs.lims.fhir import render_fhir
from sweattest.record.record_json import parse_record
from sweattest.record.store.store import open_store
from sweattest.record.worklist import find
from sweattest.web.drafts import open_draft
from tests.conftest import as_performer
from tests.lims.hl7_oracle import segments, strict, strict_answer, text
from tests.lis.test_orders_in import _send_with_python_hl7
from tests.run_folder import record_in
from tests.web.conftest import client, web_app  # noqa: F401  (fixtures)

LAB = {"question": "CFMOD", "start_question": "CFMODDT", "names": {"IVA": "ivacaftor",
                                                                  "ETI": "elexacaftor/tezacaftor/ivacaftor"},
       "comment_pattern": r"CFTR modulator:\s*(?P<modulator>.+?)\s+since\s+(?P<start>\d{4}-\d{2}-\d{2})"}

#: Epic: the order questions answered at order entry follow the OBR as OBX (OBX-11 "O": order detail only)
EPIC_ORM = ("MSH|^~\\&|EPIC|CHILDRENS|SWEATTEST|SWEATLAB|20261120080000||ORM^O01^ORM_O01|EPIC0001|P|2.5.1\r"
            "PID|1||MRN555^^^HOSP^MR||Doe^Jane||20250601|F\r"
            "PV1|1|O|PEDS^12||||||||||||||||V4455\r"
            "ORC|NW|ACC-3001^EPIC||||||||||1234^Welby^Marcus\r"
            "OBR|1|ACC-3001^EPIC||SWEATCL^Sweat chloride test^L|||20261120075500\r"
            "OBX|1|CWE|CFMOD^Is the patient on a CFTR modulator? Which one?^EPIC||{answer}||||||O\r"
            "OBX|2|DT|CFMODDT^Date the CFTR modulator was started^EPIC||{started}||||||O\r")
#: Cerner: the clinician's order comment as NTE after the OBR, the specimen after it
CERNER_OML = ("MSH|^~\\&|CERNER|HOSPITAL|SWEATTEST|SWEATLAB|20261120081500||OML^O21^OML_O21|CER0001|P|2.5.1\r"
              "PID|1||MRN777^^^HOSP^MR||Roe^Rita||20150302|F\r"
              "PV1|1|O|CF CLINIC||||||||||||||||V9911\r"
              "ORC|NW|ACC-3002^CERNER||||||||||5678^House^Greg\r"
              "OBR|1|ACC-3002^CERNER||SWEATCL^Sweat chloride test^L|||20261120081000\r"
              "NTE|1|L|{comment}\r"
              "SPM|1|||SWT^Sweat^HL70487\r")


def epic(answer="IVA^Ivacaftor^EPIC", started="20250915") -> str:
    return EPIC_ORM.format(answer=answer, started=started)


def lab(tmp_path: Path, **changes) -> LabConfig:
    return parse_config({"lis": {"modulator": LAB | changes}}, tmp_path / "sweattest.toml")


@pytest.fixture
def store(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    s = open_store(url, VirtualClock(start=datetime(2026, 11, 20, 8, tzinfo=UTC)))
    s.url = url
    yield s
    s.close()


def test_an_epic_order_question_over_mllp_puts_the_modulator_on_the_worklist_and_the_bench(store, tmp_path):
    config = lab(tmp_path)
    srv = OrderListener(("127.0.0.1", 0), lambda t: receive(store, store.clock, t, config),
                        rejecter("SWEATTEST", "SWEATLAB", store.clock.utcnow)).start()
    try:
        [answer] = _send_with_python_hl7(srv.address[1], epic())
    finally:
        srv.stop()
    assert read_ack(answer).code == "AA"
    strict_answer(answer)
    order = find(store, "ACC-3001")
    assert order.order["modulator"] == {"name": "ivacaftor", "start": "2025-09-15", "from": "order question CFMOD"}
    assert order.summary()["notes"] == ("CFTR modulator ivacaftor (since 2025-09-15; order question CFMOD): "
                                        "monitoring value")
    draft = open_draft(WorklistBook(store, config.lis), "ACC-3001", "tech1")
    assert (draft.order["cftr_modulator"], draft.order["modulator_start"]) == ("ivacaftor", "2025-09-15")


def test_a_cerner_order_comment_through_the_order_folder_carries_the_modulator(store, tmp_path):
    folder = tmp_path / "orders"
    folder.mkdir()
    comment = "CF clinic review. CFTR modulator: ETI since 2026-03-02"
    (folder / "cerner.hl7").write_text(CERNER_OML.format(comment=comment).replace("\r", "\r\n"), encoding="utf-8")
    config = lab(tmp_path)
    done = process_folder(folder, lambda t: receive(store, store.clock, t, config),
                          rejecter("SWEATTEST", "SWEATLAB", store.clock.utcnow))
    assert done == [("cerner.hl7", "AA")]
    strict_answer((folder / "ack" / "cerner.ack").read_bytes().decode("utf-8"))
    order = find(store, "ACC-3002")
    assert order.order["modulator"] == {"name": "elexacaftor/tezacaftor/ivacaftor", "start": "2026-03-02",
                                        "from": "order comment"}
    assert order.order["comments"] == [comment]  # the comment itself still goes to the bench and the report


def test_a_none_answer_or_an_unmapped_lab_gives_no_modulator(store, tmp_path):
    config = lab(tmp_path)
    assert read_ack(receive(store, store.clock, epic(answer="N^No^HL70136", started=""), config)).code == "AA"
    assert "modulator" not in find(store, "ACC-3001").order
    other = epic().replace("EPIC0001", "EPIC0002").replace("ACC-3001", "ACC-3003")
    assert read_ack(receive(store, store.clock, other, LabConfig())).code == "AA"  # no [lis.modulator]
    assert "modulator" not in find(store, "ACC-3003").order


def test_an_answer_without_a_start_date_is_asked_at_the_bench_and_the_terminal(store, tmp_path, capsys):
    config = lab(tmp_path)
    message = epic(answer="ETI^Elexacaftor/tezacaftor/ivacaftor^EPIC", started="")
    assert read_ack(receive(store, store.clock, message, config)).code == "AA"
    order = find(store, "ACC-3001")
    assert "start date not sent: ask at the bench" in order.summary()["notes"]
    draft = open_draft(WorklistBook(store, config.lis), "ACC-3001", "tech1")
    assert draft.order["cftr_modulator"] == "elexacaftor/tezacaftor/ivacaftor" and "modulator_start" not in draft.order
    with pytest.raises(ValidationError, match="cftr_modulator and order.modulator_start go together"):
        draft.parsed()  # the eligibility step refuses until the start date is entered
    args = ["run", "--accession", "ACC-3001", "--db", store.url, "--out", str(tmp_path / "o"), "--operator",
            "tech1", "--lot", "PG1", "--lot-expires", "2099-12-31"]
    with as_performer(store.url) as performer:  # the order is read once the tech has signed in
        assert main(args + performer) == 2
    assert "gives no start date; ask the parent and give --modulator-start YYYY-MM-DD" in capsys.readouterr().err
    assert find(store, "ACC-3001").state == "open"  # nothing started


@pytest.mark.parametrize(("started", "why"), [
    ("2025-09-15", "write the date YYYYMMDD"), ("20250231", "write the date YYYYMMDD"),
    ("20240101", "is before the patient's birth (2025-06-01)"), ("20261121", "is after today")])
def test_a_start_date_that_cannot_be_is_refused_to_the_lis_and_nothing_is_stored(store, tmp_path, started, why):
    raw = receive(store, store.clock, epic(started=started), lab(tmp_path))
    strict_answer(raw)
    answer = read_ack(raw)
    assert answer.code == "AE" and "CFMODDT (the day the CFTR modulator was started)" in answer.text
    assert why in answer.text
    assert find(store, "ACC-3001") is None


@pytest.mark.parametrize(("changes", "message"), [
    ({"question": "CF|MOD"}, "OBX-3 identifier of the order question"),
    ({"comment_pattern": "since (\\d+"}, "not a regular expression"),
    ({"comment_pattern": "on (?P<drug>\\w+)"}, "name the modulator's group"),
    ({"names": {"ETI": ""}}, "a table of answer"),
    ({"colour": "red"}, "unknown key 'colour'")])
def test_a_wrong_mapping_is_refused_when_the_configuration_is_read(tmp_path, changes, message):
    with pytest.raises(ConfigError, match=message):
        lab(tmp_path, **changes)
    with pytest.raises(ConfigError, match="give question"):
        parse_config({"lis": {"modulator": {"names": {"ETI": "x"}}}}, tmp_path / "sweattest.toml")


def test_the_run_of_a_mapped_order_reports_a_monitoring_value_in_every_output(store, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sweattest.outputs.run_files.html_to_pdf", lambda html: b"%PDF-1.7")  # not looked at here
    comment = "CFTR modulator: ETI since 2026-03-02"
    config = lab(tmp_path)
    assert read_ack(receive(store, store.clock, CERNER_OML.format(comment=comment), config)).code == "AA"
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(DEMO_SCENARIO), encoding="utf-8")
    out = tmp_path / "o"
    args = ["run", "--accession", "ACC-3002", "--simulate", str(scenario), "--db", store.url, "--out", str(out),
            "--operator", "tech1", "--lot", "PG1234", "--lot-expires", "2099-12-31"]
    with as_performer(store.url) as performer:
        assert main(args + performer) == 0
    assert ("CFTR modulator elexacaftor/tezacaftor/ivacaftor since 2026-03-02: the result is a monitoring value"
            in capsys.readouterr().out)  # told at the terminal when the run starts
    run = store.get_run(find(store, "ACC-3002").run_id)
    assert (run["order"]["cftr_modulator"], run["order"]["modulator_start"]) == (
        "elexacaftor/tezacaftor/ivacaftor", "2026-03-02")
    [hl7_file] = out.glob("*.hl7")
    message = hl7_file.read_bytes().decode("utf-8")
    strict(message)
    notes = [text(n[3]) for n in segments(message, "NTE")]
    assert "CFTR modulator: elexacaftor/tezacaftor/ivacaftor since 2026-03-02; monitoring value, no diagnostic " \
           "category" in notes
    assert not [o for o in segments(message, "OBX") if o[3].startswith("SWINT^")]  # no diagnostic category coded
    [row, *_] = csv.DictReader(io.StringIO(next(out.glob("*.csv")).read_text(encoding="utf-8")))
    assert (row["cftr_modulator"], row["monitoring_value"]) == ("elexacaftor/tezacaftor/ivacaftor", "true")
    report = next(out.glob("*.html")).read_text(encoding="utf-8")
    assert "monitoring value, no diagnostic category" in report
    fhir = [e["resource"] for e in json.loads(render_fhir(parse_record(record_in(out)), LabConfig()))["entry"]]
    [diagnostic] = [r for r in fhir if r["resourceType"] == "DiagnosticReport"]
    assert "conclusionCode" not in diagnostic and diagnostic["conclusion"].startswith("Monitoring value")
    chloride = [r for r in fhir if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == "2077-6"]
    assert chloride and all("interpretation" not in o for o in chloride)
    assert chloride[0]["note"][0]["text"].startswith(
        "CFTR modulator: elexacaftor/tezacaftor/ivacaftor since 2026-03-02")


def test_the_bench_shows_the_lis_modulator_and_asks_its_start_date(client, web_app, tmp_path):  # noqa: F811
    from tests.web.conftest import csrf_of, log_in
    from tests.web.test_bench_flow import step

    ctx = web_app.state.web
    config = lab(tmp_path)
    ctx.order_book = WorklistBook(ctx.store, config.lis, {})
    message = epic(answer="ETI^Elexacaftor/tezacaftor/ivacaftor^EPIC", started="")
    assert read_ack(receive(ctx.store, ctx.clock, message, config)).code == "AA"
    log_in(client, "tech")
    token = csrf_of(client)
    r = client.post("/bench/new", data={"csrf": token, "accession": "ACC-3001"}, follow_redirects=False)
    base = r.headers["location"].rsplit("/", 1)[0]
    r = step(client, token, base, "identify", {"mrn": "MRN555", "dob": "2025-06-01"})
    page = client.get(r.headers["location"]).text
    assert ("<strong>CFTR modulator:</strong> elexacaftor/tezacaftor/ivacaftor: the order gives no start date; "
            "ask the parent") in page
    assert 'name="cftr_modulator" autocomplete="off" value="elexacaftor/tezacaftor/ivacaftor"' in page
    r = step(client, token, base, "eligibility", {"cftr_modulator": "elexacaftor/tezacaftor/ivacaftor"})
    assert "go together" in client.get(r.headers["location"]).text  # refused until the start date is given
    r = step(client, token, base, "eligibility", {"cftr_modulator": "elexacaftor/tezacaftor/ivacaftor",
                                                  "modulator_start": "2026-05-04"})
    assert r.headers["location"].endswith("/method")
    assert "since 2026-05-04" in client.get(r.headers["location"]).text
