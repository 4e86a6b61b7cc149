"""Sign-off by two people, and amendments: who may amend, which fields, values checked as on entry, and
the amended value shown wherever the old one was."""

import pytest

from sweattest.core.clock import VirtualClock
from sweattest.core.errors import ValidationError
from sweattest.outputs.lims.csv_file import render_csv
from sweattest.outputs.report import render_html
from sweattest.record.audit import history
from sweattest.record.runs import load_run
from sweattest.record.signoff import amend, offered, sign, signatures, versions
from sweattest.record.store.store import Store
from sweattest.record.stored_record import stored_record
from sweattest.record.users import add_user
from tests.store.backends import START, make_run


@pytest.fixture
def staff(tmp_path):
    """tech1 (the operator), rev1 and rev2 (reviewers), lead (a reviewer who performs runs), on SQLite."""
    clock = VirtualClock(start=START)
    store = Store(f"sqlite:///{tmp_path / 'runs.db'}", clock)
    for name, full, role in (("tech1", "Tina Tech", "tech"), ("rev1", "Rita Reviewer", "reviewer"),
                             ("rev2", "Rob Reviewer", "reviewer"), ("lead", "Lee Lead", "reviewer")):
        add_user(store, name, full, role, f"{name} password")
    yield store
    store.close()


def _final(store, operator="tech1"):
    make_run(store, store.clock, operator=operator)
    sign(store, store.clock, "R1", operator, f"{operator} password", "performed")
    sign(store, store.clock, "R1", "rev1", "rev1 password", "reviewed")


def test_a_result_is_not_final_without_the_performed_signature(staff):
    make_run(staff, staff.clock)
    assert offered(staff, "R1", "rev1", "reviewer") is None  # nothing to review yet
    assert offered(staff, "R1", "tech1", "tech") == "performed"
    with pytest.raises(ValidationError, match="not signed performed: its operator \\(tech1\\) signs it first"):
        sign(staff, staff.clock, "R1", "rev1", "rev1 password", "reviewed")
    assert signatures(staff, "R1") == [] and load_run(staff, "R1")[0].state == "result_ready"
    sign(staff, staff.clock, "R1", "tech1", "tech1 password", "performed")
    with pytest.raises(ValidationError, match="already signed performed"):
        sign(staff, staff.clock, "R1", "tech1", "tech1 password", "performed")
    assert offered(staff, "R1", "tech1", "tech") is None and offered(staff, "R1", "rev1", "reviewer") == "reviewed"
    sign(staff, staff.clock, "R1", "rev1", "rev1 password", "reviewed")
    assert offered(staff, "R1", "rev2", "reviewer") is None
    record = stored_record(staff, "R1", staff.clock)
    assert record.performed.by == "tech1" and record.performed.name == "Tina Tech"
    assert "Tina Tech (tech1)" in render_html(record)


def test_a_reviewer_who_performed_the_run_is_offered_performed_and_cannot_review_it(staff):
    make_run(staff, staff.clock, operator="lead")
    assert offered(staff, "R1", "lead", "reviewer") == "performed"
    sign(staff, staff.clock, "R1", "lead", "lead password", "performed")
    assert offered(staff, "R1", "lead", "reviewer") is None
    with pytest.raises(ValidationError, match="cannot review their own run"):
        sign(staff, staff.clock, "R1", "lead", "lead password", "reviewed")


def test_the_preliminary_report_says_performed_is_not_yet_signed(staff):
    make_run(staff, staff.clock)
    html = render_html(stored_record(staff, "R1", staff.clock))
    assert "tech1 <span class=\"flag\">not yet signed</span>" in html


def test_the_reviewer_who_performed_the_run_cannot_amend_it_alone(staff):
    _final(staff, operator="lead")
    entries = len(history(staff, "R1"))
    with pytest.raises(ValidationError, match="cannot sign a correction of their own run alone"):
        amend(staff, staff.clock, "R1", "lead", "lead password", changes={"comment": "x"}, reason="typo")
    assert versions(staff, "R1") == [] and len(history(staff, "R1")) == entries
    assert amend(staff, staff.clock, "R1", "rev2", "rev2 password", changes={"comment": "x"}, reason="typo") == 2


BAD_AMENDMENTS = [
    ({"right_forarm.chloride": 50}, "amendment right_forarm.chloride: not a field that can change; use one of"),
    ({"interpretation": "normal"}, "amendment interpretation: not a field that can change"),
    ({"left_forearm.chloride": "45 mmol/L"}, "cannot read '45 mmol/L' as a number"),
    ({"left_forearm.chloride": "nan"}, "'nan' is not a number"),
    ({"left_forearm.chloride": True}, "expected a number, got True"),
    ({"left_forearm.chloride": -3}, "is negative"),
    ({"left_forearm.chloride": 45}, "changes nothing"),
    ({"left_forearm.chloride": 45.2}, "changes nothing"),  # reported as 45 either way
    ({"left_forearm.volume": 400}, "above the 85 µL"),
    ({"left_forearm.volume": "40 uL"}, "cannot read '40 uL' as a number"),
    ({"left_forearm.volume": 0}, "enter the sample above 0"),
    ({"left_forearm.post_weight": 80}, "not a field that can change"),  # a volumetric method
    ({"comment": 5}, "expected text"),
    ({"patient.dob": "01/06/2025"}, "is not a date; write it as YYYY-MM-DD"),
    ({"patient.sex": "X"}, "use one of F, M, O, U"),
    ({"patient.family": "  "}, "empty"),
    ({"patient.family": "Doe"}, "changes nothing"),
    ({"comment": "ok", "left_forearm.chloride": "x"}, "cannot read 'x'"),  # one bad field: nothing stored
]


def test_a_bad_amendment_is_refused_and_nothing_is_stored(staff):
    _final(staff)
    before = stored_record(staff, "R1", staff.clock)
    entries = len(history(staff, "R1"))
    for changes, message in BAD_AMENDMENTS:
        with pytest.raises(ValidationError) as err:
            amend(staff, staff.clock, "R1", "rev2", "rev2 password", changes=changes, reason="transcription")
        assert message in str(err.value) and "\n" not in str(err.value), changes
    assert versions(staff, "R1") == [] and len(history(staff, "R1")) == entries
    after = stored_record(staff, "R1", staff.clock)
    assert after.sites == before.sites and after.report == before.report


def test_an_amendment_shows_wherever_the_old_value_did(staff):
    _final(staff)
    amend(staff, staff.clock, "R1", "rev2", "rev2 password", reason="re-read the printout and the chart",
          changes={"left_forearm.chloride": "62", "patient.family": "Doe-Smith", "patient.dob": "2025-05-01",
                   "comment": "sample haemolysed", "patient.mrn": "MRN2"})
    record = stored_record(staff, "R1", staff.clock)
    assert record.sites[0].chloride.text == "62" and record.patient["family"] == "Doe-Smith"
    assert record.patient["dob"] == "2025-05-01" and record.order["comment"] == "sample haemolysed"
    assert record.report.status == "corrected"
    [change] = [c for c in record.report.corrections[0].changes if c.field == "left_forearm.chloride"]
    assert (change.old, change.new) == ("45", 62)
    html = render_html(record)
    assert "Doe-Smith" in html and "sample haemolysed" in html and "Left forearm sweat chloride: 45 → 62 mmol/L" in html
    assert staff.get_run("R1")["patient_mrn"] == "MRN2"  # the QA run list
    csv_text = render_csv(record)
    assert "Doe-Smith" in csv_text and ",62," in csv_text
    last = history(staff, "R1")[-1]
    assert last.what == "amend" and last.old["left_forearm.chloride"] == "45" and last.old["patient.family"] == "Doe"
    # a second amendment is checked against the corrected version
    with pytest.raises(ValidationError, match="changes nothing"):
        amend(staff, staff.clock, "R1", "rev2", "rev2 password", changes={"left_forearm.chloride": 62}, reason="x")


def test_a_smaller_volume_makes_the_site_qns_and_a_qns_site_cannot_become_adequate(staff):
    make_run(staff, staff.clock, volumes=(40, 10))
    sign(staff, staff.clock, "R1", "tech1", "tech1 password", "performed")
    sign(staff, staff.clock, "R1", "rev1", "rev1 password", "reviewed")
    with pytest.raises(ValidationError, match="QNS site cannot become adequate"):
        amend(staff, staff.clock, "R1", "rev2", "rev2 password", changes={"right_forearm.volume": 40}, reason="x")
    amend(staff, staff.clock, "R1", "rev2", "rev2 password", changes={"left_forearm.volume": 12}, reason="misread")
    record = stored_record(staff, "R1", staff.clock)
    assert record.sites[0].adequate is False and record.sites[0].chloride is None
    assert record.interpretation.category is None
