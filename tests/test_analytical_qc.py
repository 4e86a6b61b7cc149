"""Patient results cannot be final while their analytical run's QC is missing or rejected (CLSI C34; CLIA:
two control levels each day of testing; results released only when QC is in control)."""

import pytest

from sweattest.core.errors import ValidationError
from sweattest.outputs.release import sign, signatures
from sweattest.record.analytical_qc import qc_status, release_findings
from sweattest.record.runs import load_run
from tests.store import backends
from tests.store.backends import make_run, sign_performed

store_url, store, clock, staff = backends.store_url, backends.store, backends.clock, backends.staff  # both backends


def test_qc_in_control_releases_the_results(staff, clock):
    make_run(staff, clock, qc="in_control")
    sign_performed(staff, clock)
    assert release_findings(staff, "R1") == []
    assert qc_status(staff, "R1")["status"] == "in_control"
    sign(staff, clock, "R1", "rev1", "review password", "reviewed")
    assert load_run(staff, "R1")[0].state == "reported"


@pytest.mark.parametrize("qc, code, words", [
    ("rejected", "qc_rejected", "westgard_1_3s"),
    ("missing", "qc_missing", "run both control levels"),
])
def test_qc_rejected_or_missing_keeps_the_results_from_being_final(staff, clock, qc, code, words):
    make_run(staff, clock, qc=qc)
    sign_performed(staff, clock)
    [finding] = release_findings(staff, "R1")
    assert finding.code == code and finding.severity.value == "block" and words in finding.message
    with pytest.raises(ValidationError, match="cannot be final") as err:
        sign(staff, clock, "R1", "rev1", "review password", "reviewed")
    assert words in str(err.value)
    run, _ = load_run(staff, "R1")
    assert run.state == "result_ready"  # nothing signed, nothing lost
    assert [s.meaning for s in signatures(staff, "R1")] == ["performed"]


def test_a_run_without_a_chloride_result_needs_no_qc(staff, clock):
    make_run(staff, clock, volumes=(10, 12), qc="missing")  # both sites QNS: nothing was analysed
    assert release_findings(staff, "R1") == []
    assert qc_status(staff, "R1") is None
