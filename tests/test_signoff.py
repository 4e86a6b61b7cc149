"""E-signatures and amendments: password asked again, meaning recorded, no self-review, final is final."""

import pytest

from sweattest.core.errors import AuthError, ProcedureError, ValidationError
from sweattest.core.protocol import load_protocol
from sweattest.record.audit import history, verify
from sweattest.record.runs import load_run
from sweattest.record.signoff import MEANINGS, amend, sign, signatures, versions
from sweattest.record.users import add_user
from tests.store import backends
from tests.store.backends import make_run, sign_performed

store_url, store, clock, staff = backends.store_url, backends.store, backends.clock, backends.staff  # both backends


def test_review_signature_makes_the_run_final(staff, clock):
    make_run(staff, clock)
    sign_performed(staff, clock)
    sig = sign(staff, clock, "R1", "rev1", "review password", "reviewed")
    assert (sig.username, sig.full_name, sig.meaning, sig.version) == ("rev1", "Rita Reviewer", "reviewed", 1)
    assert sig.at == clock.utcnow()
    run, _ = load_run(staff, "R1")
    assert run.state == "reported" and run.reviewer == "rev1"
    assert staff.get_run("R1")["state"] == "reported"
    assert [s.meaning for s in signatures(staff, "R1")] == ["performed", "reviewed"]
    assert [e.what for e in history(staff, "R1")][-3:] == ["sign reviewed", "review", "report"]
    assert verify(staff).intact


def test_a_tech_cannot_review_their_own_run(staff, clock):
    add_user(staff, "lead", "Lee Lead", "reviewer", "lead password")
    make_run(staff, clock, operator="lead")
    with pytest.raises(ValidationError, match="cannot review their own run"):
        sign(staff, clock, "R1", "lead", "lead password", "reviewed")
    assert signatures(staff, "R1") == [] and load_run(staff, "R1")[0].state == "result_ready"


def test_a_tech_role_cannot_review(staff, clock):
    add_user(staff, "tech2", "Tom Tech", "tech", "tech2 password")
    make_run(staff, clock)
    with pytest.raises(ValidationError, match="only a reviewer or admin"):
        sign(staff, clock, "R1", "tech2", "tech2 password", "reviewed")
    assert signatures(staff, "R1") == []
    refused = history(staff, "R1")[-1]  # the refusal is in the run's audit trail: who, their role, what, where
    assert (refused.who, refused.what) == ("tech2", "wrong_role") and "a tech cannot review a run" in refused.why
    assert "(signing)" in refused.why and verify(staff).intact


def test_a_wrong_password_signs_nothing(staff, clock):
    make_run(staff, clock)
    with pytest.raises(AuthError):
        sign(staff, clock, "R1", "rev1", "not the password", "reviewed")
    assert signatures(staff, "R1") == [] and load_run(staff, "R1")[0].state == "result_ready"


def test_the_operator_signs_performed(staff, clock):
    make_run(staff, clock)
    assert sign(staff, clock, "R1", "tech1", "tech password", "performed").meaning == "performed"
    with pytest.raises(ValidationError, match="only the run's operator"):
        sign(staff, clock, "R1", "rev1", "review password", "performed")
    assert [s.meaning for s in signatures(staff, "R1")] == ["performed"]


def test_a_run_without_results_cannot_be_reviewed(staff, clock):
    staff.create_run("R2", accession="ST-2", method="macroduct", operator="tech1", patient_mrn="M",
                     created_at=clock.utcnow(), order={"method": "macroduct", "sites": ["left_forearm"]},
                     protocol=load_protocol("macroduct"))
    with pytest.raises(ProcedureError, match="it is created"):
        sign(staff, clock, "R2", "rev1", "review password", "reviewed")
    with pytest.raises(ProcedureError, match="cannot sign performed run R2: it is created"):
        sign(staff, clock, "R2", "tech1", "tech password", "performed")
    assert signatures(staff, "R2") == []


def test_bad_meaning_and_unknown_run(staff, clock):
    with pytest.raises(ValidationError, match="use one of performed, reviewed, corrected"):
        sign(staff, clock, "R1", "rev1", "review password", "approved")
    with pytest.raises(ValidationError, match="no run 'nope'"):
        sign(staff, clock, "nope", "rev1", "review password", "reviewed")
    assert MEANINGS == ("performed", "reviewed", "corrected")


def test_a_final_result_changes_only_by_amendment_with_a_reason(staff, clock):
    make_run(staff, clock)
    sign_performed(staff, clock)
    with pytest.raises(ProcedureError, match="it is result_ready"):
        amend(staff, clock, "R1", "rev1", "review password", changes={"comment": "x"}, reason="typo")
    sign(staff, clock, "R1", "rev1", "review password", "reviewed")
    with pytest.raises(ValidationError, match="a reason is required"):
        amend(staff, clock, "R1", "rev1", "review password", changes={"comment": "x"}, reason="  ")
    with pytest.raises(ValidationError, match="non-empty object"):
        amend(staff, clock, "R1", "rev1", "review password", changes={}, reason="typo")
    with pytest.raises(ValidationError, match="only a reviewer or admin"):
        amend(staff, clock, "R1", "tech1", "tech password", changes={"comment": "x"}, reason="typo")
    assert versions(staff, "R1") == []
    clock.sleep(600)
    v2 = amend(staff, clock, "R1", "rev1", "review password", changes={"comment": "haemolysed"},
               reason="comment missing")
    v3 = amend(staff, clock, "R1", "rev1", "review password", changes={"comment": "repeat advised"},
               reason="wording")
    assert (v2, v3) == (2, 3)
    assert [(v.version, v.changes, v.reason, v.by) for v in versions(staff, "R1")] == [
        (2, {"comment": "haemolysed"}, "comment missing", "rev1"),
        (3, {"comment": "repeat advised"}, "wording", "rev1")]
    assert [(s.meaning, s.version, s.reason) for s in signatures(staff, "R1")][2:] == [
        ("corrected", 2, "comment missing"), ("corrected", 3, "wording")]
    last = history(staff, "R1")[-1]
    assert (last.what, last.why, last.old, last.new) == ("amend", "wording", {"comment": "haemolysed"},
                                                         {"comment": "repeat advised", "version": 3})
    assert verify(staff).intact


def test_corrected_is_signed_through_an_amendment(staff, clock):
    make_run(staff, clock)
    with pytest.raises(ValidationError, match="amending"):
        sign(staff, clock, "R1", "rev1", "review password", "corrected")


@pytest.mark.parametrize("new, message", [
    ("nan", "'nan' is not a number"), (float("nan"), "nan is not a finite number"),
    (float("inf"), "inf is not a finite number"), ("9**9**9", "cannot read '9**9**9' as a number"),
    ("1e999999", "the exponent is outside -30 to 30"), ("45,5", "45,5: use a decimal point (45.5)"),
    (True, "expected a number, got True"),
])
def test_an_amended_chloride_that_is_not_a_finite_number_is_refused_before_it_is_stored(staff, clock, new,
                                                                                       message):
    make_run(staff, clock)
    sign_performed(staff, clock)
    sign(staff, clock, "R1", "rev1", "review password", "reviewed")
    entries = len(history(staff, "R1"))
    with pytest.raises(ValidationError, match="amendment left_forearm.chloride") as err:
        amend(staff, clock, "R1", "rev1", "review password", changes={"left_forearm.chloride": new},
              reason="transcription error")
    assert message in str(err.value)
    assert versions(staff, "R1") == [] and len(history(staff, "R1")) == entries
    assert [s.meaning for s in signatures(staff, "R1")] == ["performed", "reviewed"]
