"""What the LIS sent comes back as it was sent: an Epic-style order (PID-3 with an ISO assigning authority in
subcomponents, PID-5 with a middle name and an alias, ORC-12/OBR-16 with the NPI and its authority, PV1-3,
PV1-19 with its authority, ORC-4, the OML's SPM-2) read from the worklist into the ORU^R01 (hl7apy STRICT)
and the FHIR bundle (fhir.resources); escapes decoded into text, never into control characters."""

import itertools
import json
import re
from datetime import UTC, datetime

import pytest
from fhir.resources.R4B.bundle import Bundle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sweattest.cli.main import main
from sweattest.core.clock import VirtualClock
from sweattest.core.config import LabConfig
from sweattest.lis import hl7_read as h
from sweattest.lis.ack import read_ack
from sweattest.lis.worklist import bench_order, receive
from sweattest.outputs.lims.fhir import render_fhir
from sweattest.outputs.lims.hl7 import render_oru
from sweattest.outputs.lims.hl7_escape import escape, unescape
from sweattest.record.run_record_model import RunRecord
from sweattest.record.store.store import open_store
from sweattest.record.worklist import find
from tests.conftest import as_performer
from tests.lims.hl7_oracle import field, segments, strict
from tests.lims.records import edited, record_of

NPI = "1234567893^Smith^Adam^J^^^MD^^NPI&2.16.840.1.113883.4.6&ISO^^^^NPI"
EPIC = ("MSH|^~\\&|EPIC|UCSF^2.16.840.1.113883.3.1^ISO|SWEATTEST|SWEATLAB|20261120080000||OML^O21^OML_O21|E1|P|2.5.1\r"
        "PID|1||E12345^^^USSSA&2.16.840.1.113883.4.1&ISO^MR~998877^^^NHS^NH||O'Brien^Mary^Ann^^^^L~Smith^Molly^^^^^A"
        "||20250601|F\r"
        "PV1|1|O|PEDS^12^B^UCSF||||||||||||||||V4455^^^UCSF&2.16.840.1.113883.3.1&ISO^VN\r"
        f"ORC|NW|ACC-7001^EPIC|F7001^LAB|GRP-1^EPIC||||||||{NPI}\r"
        f"OBR|1|ACC-7001^EPIC|F7001^LAB|SWEATCL^Sweat chloride test^L|||20261120075500|||||||||{NPI}\r"
        "NTE|1|L|On a CFTR modulator\\.br\\since 2025-09\r"
        "SPM|1|SP-55&EPIC||SWT^Sweat^HL70487\r")


@pytest.fixture
def store(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}", VirtualClock(start=datetime(2026, 11, 20, 8, tzinfo=UTC)))
    yield store
    store.close()


def _result_of(store, accession: str) -> RunRecord:
    """The record of a run of the worklist's order (the run service keeps the order as ``lis``)."""
    order = find(store, accession)
    record = record_of({"left_forearm": (40, 45), "right_forearm": (35, 48)}, final=True)
    return edited(record, lambda d: d["order"].update(patient=bench_order(order, LabConfig().lis)["patient"],
                                                      lis=order.order))


def test_an_epic_order_comes_back_in_the_oru_with_its_components_and_subcomponents(store):
    answer = receive(store, store.clock, EPIC, LabConfig())
    strict(answer)  # the ORL^O22
    assert read_ack(answer).code == "AA"
    assert field(answer, "MSH", 6) == "UCSF^2.16.840.1.113883.3.1^ISO"  # the sender's HD, as components
    assert field(answer, "PID", 3).startswith("E12345^^^USSSA&2.16.840.1.113883.4.1&ISO^MR")
    message = render_oru(_result_of(store, "ACC-7001"), LabConfig(), sent_at=datetime(2026, 11, 20, 12, tzinfo=UTC),
                         control_id="C" * 20)
    parsed = strict(message)  # hl7apy STRICT: the CX with its HD subcomponents is valid, not escaped text
    assert field(message, "PID", 3) == "E12345^^^USSSA&2.16.840.1.113883.4.1&ISO^MR~998877^^^NHS^NH"
    cx = parsed.oru_r01_patient_result.oru_r01_patient.pid.pid_3[0]  # hl7apy reads its HD subcomponents
    assert (cx.cx_1.to_er7(), cx.cx_4.hd_2.to_er7(), cx.cx_4.hd_3.to_er7()) == ("E12345", "2.16.840.1.113883.4.1",
                                                                             "ISO")
    assert field(message, "PID", 5) == "O'Brien^Mary^Ann^^^^L~Smith^Molly^^^^^A"
    assert field(message, "ORC", 12) == field(message, "OBR", 16) == NPI
    assert field(message, "ORC", 4) == "GRP-1^EPIC"
    assert field(message, "PV1", 3) == "PEDS^12^B^UCSF"
    assert field(message, "PV1", 19) == "V4455^^^UCSF&2.16.840.1.113883.3.1&ISO^VN"
    assert [s[2].split("^")[0] for s in segments(message, "SPM")] == ["SP-55&EPIC"] * 2


def test_the_fhir_identifier_system_is_the_oid_of_the_assigning_authority(store):
    receive(store, store.clock, EPIC, LabConfig())
    doc = json.loads(render_fhir(_result_of(store, "ACC-7001"), LabConfig()))
    Bundle.model_validate(doc)
    [patient] = [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert patient["identifier"][0] == {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                                             "code": "MR"}]},
                                        "system": "urn:oid:2.16.840.1.113883.4.1", "value": "E12345"}
    assert patient["identifier"][1]["system"] == "urn:sweattest:id:NHS"
    assert patient["name"][0]["given"] == ["Mary", "Ann"]
    [request] = [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "ServiceRequest"]
    assert request["requester"]["identifier"]["system"] == "urn:oid:2.16.840.1.113883.4.6"
    assert request["requester"]["identifier"]["value"] == "1234567893"


def test_escapes_become_text_never_control_characters(store, capsys, tmp_path):
    hostile = (EPIC.replace("O'Brien^Mary^Ann", "O\\X0D\\Brien\\X0A\\^Mary\\X00\\^Ann\\.br\\")
               .replace("E12345^", "E12\\X0B\\345^")
               .replace("On a CFTR modulator\\.br\\since 2025-09", "line one\\.br\\line two\\X0D\\three\\X07\\"))
    assert read_ack(receive(store, store.clock, hostile, LabConfig())).code == "AA"
    order = find(store, "ACC-7001")
    patient = order.order["patient"]
    assert (patient["family"], patient["given"], patient["middle"], patient["mrn"]) == ("O Brien", "Mary", "Ann",
                                                                                        "E12345")
    assert order.order["comments"] == ["line one\nline two\nthree"]
    stored = json.dumps(order.order)
    assert not any(c in stored for c in ("\\r", "\\u0000", "\\u000b", "\\u0007"))
    with as_performer(str(store.engine.url)) as actor:
        assert main(["worklist", "--db", str(store.engine.url), *actor]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 2 and "O Brien, Mary" in rows[1]  # one line per order
    assert "comment: line one line two three" in rows[1]
    message = render_oru(_result_of(store, "ACC-7001"), LabConfig(), sent_at=datetime(2026, 11, 20, 12, tzinfo=UTC),
                         control_id="C" * 20)
    strict(message)
    assert field(message, "PID", 5).startswith("O Brien^Mary^Ann")


_ALPHABET = st.sampled_from(list("|^~\\&") + ["a", "E", "F", "S", "T", "X", ".", "b", "r", "0", "D", " ", "\r", "\n",
                                             "\x00", "\x0b", "é", "ß"])
_NAME = st.text(alphabet=_ALPHABET, min_size=1, max_size=30)
_NAMESPACE = st.text(alphabet=_ALPHABET, min_size=1, max_size=4)  # HD-1 (IS) holds 20 characters, escaped


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory):
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'runs.db'}",
                       VirtualClock(start=datetime(2026, 11, 20, 8, tzinfo=UTC)))
    yield store, itertools.count(1)
    store.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(family=_NAME, given_name=_NAME, sub=_NAMESPACE)
def test_any_text_survives_order_to_result_as_text(fuzz_store, family, given_name, sub):
    """Every delimiter, escape-like text and control character, escaped by a LIS: read into text (line breaks a
    space, other control characters dropped), echoed in the result so that hl7apy STRICT reads the same text."""
    store, numbers = fuzz_store
    n = next(numbers)
    message = (EPIC.replace("O'Brien^Mary", f"{escape(family)}^{escape(given_name)}")
               .replace("USSSA&", f"{escape(sub)}&").replace("ACC-7001", f"ACC-F{n}").replace("|E1|", f"|F{n}|"))
    raw = receive(store, store.clock, message, LabConfig())
    expected = [re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", re.sub(r"[\r\n]+", " ", v)).strip()
                for v in (family, given_name, sub)]
    if not expected[0]:
        assert read_ack(raw).code == "AE"  # no family name left: PID-5 is empty
        return
    assert read_ack(raw).code == "AA"
    echoed = h.first(h.read(raw), "PID")  # the answer (built with hl7apy) echoes the same text, escaped once
    assert [h.component(h.composite(echoed, 5)[0], i) for i in (1, 2)] == expected[:2]
    assert h.component(h.composite(echoed, 3)[0], 4, 1) == expected[2]
    patient = find(store, f"ACC-F{n}").order["patient"]
    assert (patient["family"], patient["given"], patient["identifiers"][0][3][0]) == tuple(expected)
    oru = render_oru(_result_of(store, f"ACC-F{n}"), LabConfig(), sent_at=datetime(2026, 11, 20, 12, tzinfo=UTC),
                     control_id="C" * 20)
    pid = strict(oru).oru_r01_patient_result.oru_r01_patient.pid
    assert unescape(pid.pid_5[0].xpn_1.to_er7()) == expected[0]
    assert unescape(pid.pid_3[0].cx_4.hd_1.to_er7()) == expected[2]


@pytest.mark.parametrize("old, new, text", [
    ("^MR~998877", "^MR^^^^^^^EXTRA~998877", "PID-3 has 12 components; a CX has 10"),
    ("O'Brien^Mary^Ann^^^^L", "O'Brien^Mary^Ann^^^^L^^^^^^^^^^^^^^^Z", "PID-5 has 22 components; an XPN has 14"),
    ("PEDS^12^B^UCSF", "PEDS^12^B^UCSF^^^^^^^^^^^^^X", "PV1-3 has 17 components; a PL has 11"),
    ("GRP-1^EPIC", "GRP-1^EPIC^1.2^ISO^X", "ORC-4 has 5 components; an EI has 4"),
    ("E12345^^^", "E12&345^^^", "PID-3.1 has 2 subcomponents; it has 1"),
    ("O'Brien^Mary", "O'Brien^Ma&ry", "PID-5.2 has 2 subcomponents; it has 1"),
    ("1234567893^Smith", "12345&67893^Smith", "ORC-12.1 has 2 subcomponents; it has 1"),
    ("USSSA&2.16.840.1.113883.4.1&ISO", "USSSA&2.16.840.1.113883.4.1&ISO&X", "PID-3.4 has 4 subcomponents; it has 3"),
    ("O'Brien^Mary", "O'Brien^" + "M" * 200, "PID-5.2 has 200 characters; HL7 v2.5.1 allows 199"),
    ("V4455^^^", "V" * 200 + "^^^", "PV1-19.1 has 200 characters; HL7 v2.5.1 allows 199"),
    ("Ann^^^^L", "Ann^^^" + "D" * 21 + "^L", "PID-5.6 has 21 characters; HL7 v2.5.1 allows 20"),
    ("PEDS^12^B^UCSF", "PEDS^12^B^UCSF^^^" + "B" * 21, "PV1-3.7 has 21 characters; HL7 v2.5.1 allows 20"),
    ("^MR~998877", "^MR^" + "H" * 21 + "~998877", "PID-3.6.1 has 21 characters; HL7 v2.5.1 allows 20"),
    ("1234567893^Smith^Adam^J^^^MD", "1234567893^Smith^Adam^J^^^" + "M" * 21, "ORC-12.7 has 21 characters"),
    ("SWEATCL^Sweat chloride test^L", "X" * 220, "OBR-4.1 has 220 characters; HL7 v2.5.1 allows 199"),
    ("SWEATCL^Sweat chloride test^L", "SWEATCL^Sweat chloride test^L^^^^EXTRA", "OBR-4 has 7 components; a CE has 6"),
])
def test_composites_with_parts_their_type_does_not_have_are_answered_ae(store, old, new, text):
    """What is echoed must be the type HL7 v2.5.1 says, or the result the LIS gets back fails its parser: a
    component or subcomponent more than the type has (an & in a simple value the LIS forgot to escape as \\T\\)
    is answered AE."""
    raw = receive(store, store.clock, EPIC.replace(old, new), LabConfig())
    strict(raw)
    answer = read_ack(raw)
    assert answer.code == "AE" and text in answer.text, answer.text
    assert find(store, "ACC-7001") is None


def test_a_provider_sent_by_name_only_makes_a_valid_fhir_requester(store):
    """ORC-12 with no ID (a name the LIS typed in): the requester is named, with no empty identifier."""
    receive(store, store.clock, EPIC.replace("1234567893^Smith", "^Smith"), LabConfig())
    doc = json.loads(render_fhir(_result_of(store, "ACC-7001"), LabConfig()))
    Bundle.model_validate(doc)
    [request] = [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "ServiceRequest"]
    assert "identifier" not in request["requester"] and request["requester"]["display"]


def test_unicode_line_breaks_c1_controls_and_bidi_overrides_never_reach_the_record(store, capsys):
    """Raw or escaped (\\XE280A8\\): U+2028/U+2029 and NEL break a line like CR does; C1 controls (U+009B is a
    terminal's CSI) and bidirectional overrides (U+202E shows "Doe" as "eoD" and hides what follows) are no
    text a person should be shown."""
    hostile = (EPIC.replace("O'Brien^Mary^Ann", "O\u2028Brien\x85X^Ma\u202ery\\XE280A9\\^A\x9b31mnn\u2066")
               .replace("On a CFTR modulator\\.br\\since 2025-09", "one\u2028two\\XC285\\three\u202e"))
    assert read_ack(receive(store, store.clock, hostile, LabConfig())).code == "AA"
    order = find(store, "ACC-7001")
    patient = order.order["patient"]
    assert (patient["family"], patient["given"], patient["middle"]) == ("O Brien X", "Mary", "A31mnn")
    assert order.order["comments"] == ["one\ntwo\nthree"]
    with as_performer(str(store.engine.url)) as actor:
        assert main(["worklist", "--db", str(store.engine.url), *actor]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2  # one line per order, for str.splitlines too
