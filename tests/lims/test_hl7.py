"""HL7 v2.5.1 ORU^R01: every message validates with hl7apy at STRICT; fields checked by position."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sweattest.outputs.lims.hl7 import render_oru
from sweattest.outputs.lims.hl7_escape import escape, unescape
from sweattest.record.run_record import correction_of
from sweattest.record.run_record_model import Changed, CorrectedBy, CorrectionSummary
from tests.lims.hl7_oracle import field, segments, strict, text
from tests.lims.records import record_of

SENT = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def _with_report(record, status, corrections=()):
    return replace(record, report=replace(record.report, status=status, corrections=tuple(corrections)))


def test_demo_message_header_patient_order(demo):
    msg = render_oru(demo, sent_at=SENT)
    strict(msg)
    assert msg.startswith("MSH|^~\\&|SWEATTEST|SWEATLAB|LIMS|HOSPITAL|20260308070000+0000||ORU^R01^ORU_R01|")
    assert field(msg, "MSH", 11) == "T" and field(msg, "MSH", 12) == "2.5.1"
    assert field(msg, "MSH", 18) == "UNICODE UTF-8"
    assert len(field(msg, "MSH", 10)) == 20
    assert field(msg, "PID", 3) == "MRN0012345^^^SWEATLAB^MR" and field(msg, "PID", 5) == "Doe^Jane"
    assert field(msg, "PID", 7) == "20250601" and field(msg, "PID", 8) == "F"
    assert field(msg, "ORC", 1) == "RE" and field(msg, "ORC", 2) == "ST-2026-000123"
    assert field(msg, "OBR", 2) == "ST-2026-000123" and field(msg, "OBR", 25) == "P"
    assert field(msg, "OBR", 7) == "20260308060500+0000"
    assert field(msg, "OBR", 16) == "^A. Smith MD"


def test_chloride_per_site_with_loinc_ucum_flags_and_status(demo):
    msg = render_oru(_with_report(demo, "final"), sent_at=SENT)
    strict(msg)
    obx = segments(msg, "OBX")
    assert all(o[2] in {"NM", "SN", "CWE"} for o in obx)  # OBX-2 always typed
    chloride = [o for o in obx if o[3].startswith("2077-6^")]
    assert [(o[4], o[5], o[6], o[7], o[8], o[11]) for o in chloride] == [
        ("1", "45", "mmol/L^mmol/L^UCUM", "0-29", "A", "F"), ("2", "48", "mmol/L^mmol/L^UCUM", "0-29", "A", "F")]
    assert chloride[0][3] == "2077-6^Chloride [Moles/volume] in Sweat^LN"
    volumes = [(o[4], o[5], o[6]) for o in obx if o[3].startswith("SWVOL^")]
    assert volumes == [("1", "40", "uL^uL^UCUM"), ("2", "35", "uL^uL^UCUM")]
    charge = [o for o in obx if o[3].startswith("SWCHG^")]
    assert charge[0][6] == "mA.min^mA.min^UCUM"
    assert [o[1] for o in obx] == [str(i) for i in range(1, len(obx) + 1)]
    assert field(msg, "OBR", 25) == "F" and field(msg, "ORC", 5) == "CM"


def test_control_ids_are_unique_and_fit_msh_10(demo):
    ids = {field(render_oru(demo, sent_at=SENT), "MSH", 10) for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 20 for i in ids)  # HL7 v2.5.1: MSH-10 is at most 20 characters


def test_qns_below_range_and_abnormal_flags():
    record = record_of({"left_forearm": (22, 8), "right_forearm": (9, None)})
    msg = render_oru(record, sent_at=SENT)
    strict(msg)
    chloride = [o for o in segments(msg, "OBX") if o[3].startswith("2077-6^")]
    assert (chloride[0][2], chloride[0][5], chloride[0][8]) == ("SN", "<^10", "N")
    assert (chloride[1][2], chloride[1][5], chloride[1][11]) == ("NM", "", "X")
    assert any(o[3].startswith("SWADQ^") and o[5].startswith("QNS^") for o in segments(msg, "OBX"))
    likely = record_of({"left_forearm": (22, 61)})
    assert [o[8] for o in segments(render_oru(likely, sent_at=SENT), "OBX") if o[3].startswith("2077-6")] == ["H"]


# (range set, dob, chloride, OBX-7, OBX-8, interpretation starts, source)
RANGE_CASES = [
    ("cff_2017", "2025-06-01", 35, "0-29", "A", "Sweat chloride 30-59", "CFF 2017: 30-59 intermediate"),
    ("clsi_c34_a3", "2025-06-20", 35, "0-39", "N", "Sweat chloride <= 39 mmol/L (age > 6 months)",
     "CLSI C34-A3: 17 months old, 35 is normal: text, OBX-7 and OBX-8 agree"),
    ("clsi_c34_a3", "2026-08-01", 35, "0-29", "A", "Sweat chloride 30-59 mmol/L (age <= 6 months)",
     "CLSI C34-A3: under 6 months 30-59 intermediate"),
    ("uk_2014", "2025-06-01", 60, "0-39", "A", "Sweat chloride 40-60", "ACB 2014: 60 is intermediate"),
    ("uk_2014", "2026-08-01", 30, "0-29", "A", "Sweat chloride 30-60", "ACB 2014: under 6 months 30-60"),
    ("uk_2014", "2025-06-01", 61, "0-39", "H", "Sweat chloride > 60", "ACB 2014: > 60 supports the diagnosis"),
]


@pytest.mark.parametrize(("ranges", "dob", "chloride", "obx7", "obx8", "wording", "source"), RANGE_CASES)
def test_the_chosen_range_set_reaches_obx7_obx8_and_the_interpretation(ranges, dob, chloride, obx7, obx8, wording,
                                                                       source):
    msg = render_oru(record_of({"left_forearm": (22, chloride)}, dob=dob, ranges=ranges), sent_at=SENT)
    [obx] = [o for o in segments(msg, "OBX") if o[3].startswith("2077-6^")]
    assert (obx[7], obx[8]) == (obx7, obx8), source
    notes = [n[3] for n in segments(msg, "NTE")]
    assert notes[0].startswith(f"Interpretation: {wording}"), source
    assert notes[1].startswith(f"Interpretive ranges: {ranges}"), source


def test_withheld_interpretation_sends_no_flag():
    msg = render_oru(record_of({"left_forearm": (22, 65)}, withheld="patient under 48 hours of age"), sent_at=SENT)
    [obx] = [o for o in segments(msg, "OBX") if o[3].startswith("2077-6^")]
    assert obx[8] == ""
    assert segments(msg, "NTE")[0][3].startswith("Interpretation: Interpretation withheld: patient under 48 hours")


def test_hostile_patient_and_comment_are_escaped(hostile):
    msg = render_oru(hostile, sent_at=SENT)
    strict(msg)
    pid5 = field(msg, "PID", 5)
    assert pid5 == "O'Brien\\F\\Smith\\S\\<script>alert(1)</script>\\T\\\\R\\\\E\\^Ann \\T\\ <b>Marie</b>"
    family, given_name = pid5.split("^")
    assert text(family) == "O'Brien|Smith^<script>alert(1)</script>&~\\"
    assert text(given_name) == "Ann & <b>Marie</b>"
    notes = [n[3] for n in segments(msg, "NTE")]
    comment = [n for n in notes if text(n).startswith("Comment:")]
    assert comment == ["Comment: =cmd\\F\\' /C calc'!A0 patient anxious\\.br\\second line: see \\R\\ \\T\\ "
                       "\\E\\ \\F\\ \\S\\"]
    assert msg.count("\r") == len(msg.split("\r")) - 1 and "\n" not in msg


def test_correction_is_a_new_message_with_status_c(demo):
    correction = correction_of({"version": 2, "at": "2026-03-09T10:00:00+00:00", "by": "rev1",
                                "reason": "transcription\nerror",
                                "changes": [{"field": "left_forearm.chloride", "old": "45", "new": 46}]})
    first = render_oru(_with_report(demo, "final"), sent_at=SENT)
    corrected = render_oru(_with_report(demo, "corrected", [correction]), sent_at=SENT)
    strict(corrected)
    assert field(first, "MSH", 10) != field(corrected, "MSH", 10)
    # without what this version changed (a record made outside the store): nothing is marked changed
    assert {o[11] for o in segments(corrected, "OBX")} == {"F"} and field(corrected, "OBR", 25) == "C"
    note = [n[3] for n in segments(corrected, "NTE") if "Corrected" in n[3]]
    assert note == ["Corrected (version 2, released 2026-03-09T10:00:00+00:00) by rev1: left_forearm.chloride: 45 -> "
                    "46 mmol/L. Reason: transcription\\.br\\error"]
    changed = _with_report(demo, "corrected", [correction])
    summary = CorrectionSummary(None, CorrectedBy("rev1", None), Changed({"left_forearm": ("chloride",)}, False), None)
    changed = replace(changed, report=replace(changed.report, summary=summary))
    message = render_oru(changed, sent_at=SENT)
    chloride = [o for o in segments(message, "OBX") if o[3].startswith("2077-6^")]
    assert [o[11] for o in chloride] == ["C", "F"]
    assert {o[11] for o in segments(message, "OBX") if o not in chloride} == {"F"}


DELIMITERS = "|^~\\&\r\n"


@given(st.text(alphabet=st.sampled_from(list(DELIMITERS) + ["a", "E", "F", "S", "R", "T", "X", ".", "b", "r", "0",
                                                             "é", "\x0b"])))
def test_escape_round_trips_every_delimiter_and_line_break(value):
    escaped = escape(value)
    assert not any(ch in escaped for ch in "|^~&\r\n\x0b")
    expected = value.replace("\r\n", "\n").replace("\r", "\n")
    assert unescape(escaped) == expected


@given(st.text(min_size=1, max_size=40))
def test_any_comment_keeps_the_message_structure(demo, value):
    record = replace(demo, order={**demo.order, "comment": value,
                                  "patient": {**demo.order["patient"], "family": value}})
    msg = render_oru(record, sent_at=SENT)
    assert len(segments(msg, "PID")[0]) == 9 and field(msg, "PID", 5).count("^") == 1
    assert text(field(msg, "PID", 5).split("^")[0]) == value.replace("\r\n", "\n").replace("\r", "\n")


def test_the_coded_interpretation_says_what_the_report_says():
    # the C34-A3 toddler: the report says "normal", so the interpretation OBX codes and names "normal", and the
    # NTE states what CFF 2017 would call 35 mmol/L
    msg = render_oru(record_of({"left_forearm": (22, 35)}, dob="2025-06-01", ranges="clsi_c34_a3"), sent_at=SENT)
    [interp] = [o for o in segments(msg, "OBX") if o[2] == "CWE" and o[5].split("^")[0] in
                ("normal", "cf_unlikely", "intermediate", "cf_likely")]
    assert interp[5] == "normal^Normal^L"
    note = text(segments(msg, "NTE")[0][3])
    assert note.startswith("Interpretation: Sweat chloride <= 39 mmol/L (age > 6 months): normal.")
    assert "Under CFF 2017, the current guideline, 35 mmol/L is intermediate (30-59 mmol/L, all ages)" in note


def test_unset_lab_identity_is_left_out_of_obx_23_to_25(demo):
    from dataclasses import replace

    from sweattest.core.config import Lab, LabConfig

    for obx in segments(render_oru(demo, sent_at=SENT), "OBX"):
        assert obx[23:26] == [] or set(obx[23:26]) <= {""}, obx  # nothing invented: no name, CLIA, address
    lab = LabConfig(lab=replace(Lab(), name="Leeds Sweat Lab", clia="22D0123456", address="Great George St"))
    obx = segments(render_oru(demo, lab, sent_at=SENT), "OBX")[0]
    assert obx[23].startswith("Leeds Sweat Lab^L^") and obx[23].endswith("^22D0123456")
    assert obx[24] == "Great George St" and len(obx) == 25  # OBX-25 (director) not set: left out
    no_clia = LabConfig(lab=replace(Lab(), name="Leeds Sweat Lab"))
    assert segments(render_oru(demo, no_clia, sent_at=SENT), "OBX")[0][23] == "Leeds Sweat Lab"


def test_a_patient_on_a_cftr_modulator_is_sent_as_a_monitoring_value():
    order = {"cftr_modulator": "elexacaftor/tezacaftor/ivacaftor", "modulator_start": "2026-01-15"}
    msg = render_oru(record_of({"left_forearm": (22, 45), "right_forearm": (22, 48)}, order=order), sent_at=SENT)
    chloride = [o for o in segments(msg, "OBX") if o[3].startswith("2077-6^")]
    assert [(o[5], o[8]) for o in chloride] == [("45", ""), ("48", "")]  # values, no diagnostic flag
    assert not [o for o in segments(msg, "OBX") if o[5].split("^")[0] in ("cf_unlikely", "intermediate", "cf_likely")]
    notes = [text(n[3]) for n in segments(msg, "NTE")]
    assert notes[0].startswith("Interpretation: Monitoring value: the patient is on a CFTR modulator "
                               "(elexacaftor/tezacaftor/ivacaftor)")
    assert not any("CFTR genetic" in n or "intermediate" in n.lower() for n in notes)
