"""QC verdicts are records (DESIGN.md principle 17): made when the controls are recorded, under the chain, with the
values they were made from; a later record never changes an earlier verdict or lifts a hold. A held run releases
its results only after a corrective action and QC passing again in a new analytical run (CLSI C34), or by an
override signed with a reason. Simulated, training and PT controls are series of their own. Both backends.

The sequence the QA desk was tried with: nine patient runs with the normal control above the mean, the tenth makes
10x and is held; then a simulated run's controls below the mean are recorded the next day."""

from datetime import timedelta

import pytest

from sweattest.core.errors import ValidationError
from sweattest.outputs.release import sign
from sweattest.qa.qc_chart import chart_points
from sweattest.record.analytical_qc import (
    current_run,
    judge_and_record,
    qc_choices,
    qc_run_id,
    qc_status,
    release_findings,
    series_of,
    verdict,
)
from sweattest.record.audit import verify
from sweattest.record.qc_lots import DEFAULT_ANALYZER, SEED_LOTS
from sweattest.record.qc_verdicts import CORRECTIVE_ACTION, OVERRIDE, add_action, verdicts
from sweattest.record.runs import load_run
from tests.store import backends
from tests.store.backends import make_run, sign_performed

store_url, store, clock, staff = backends.store_url, backends.store, backends.clock, backends.staff  # both backends


def _controls(store, clock, normal: float, abnormal: float = 100.0, purpose: str = "patient") -> str:
    """Both levels of the series' current analytical run (mmol/L), judged as the bench judges them."""
    qc_run, _ = current_run(store, DEFAULT_ANALYZER, clock.utcnow().date(), purpose, control=True)
    for (level, lot, mean, sd), value in zip(SEED_LOTS, (normal, abnormal), strict=True):
        store.add_qc_result(analyzer=DEFAULT_ANALYZER, level=level, lot=lot, target_mean=mean, target_sd=sd,
                            value=value, qc_run=qc_run, at=clock.utcnow(), who="tech1")
    judge_and_record(store, qc_run, who="tech1")
    return qc_run


def _ten_x(store, clock) -> str:
    """Nine days of the normal control 0.5 SD above the mean; the tenth day's run is held for 10x."""
    for _ in range(9):
        assert not verdict(store, _controls(store, clock, 40.75)).rejected
        clock.sleep(timedelta(days=1).total_seconds())
    held = _controls(store, clock, 40.75)
    return held


def test_ten_x_then_a_simulated_run_keeps_the_hold_and_its_evidence(staff, clock):
    held = _ten_x(staff, clock)
    make_run(staff, clock, "A022")  # measured in the held analytical run
    sign_performed(staff, clock, "A022")
    [before] = verdicts(staff, held)
    assert before.rejected and before.codes == ["westgard_10_x"]
    assert [c["value"] for c in before.made_from["controls"]] == [40.75, 100.0]
    assert len(before.made_from["history"]) == 9 and before.made_from["rules"]["reject"][-1] == "10x"
    # the next day a simulated run records controls below the mean on the same analyzer
    clock.sleep(timedelta(days=1).total_seconds())
    sim_run = _controls(staff, clock, 38.0, 97.0, purpose="simulated")
    assert series_of(sim_run) == (DEFAULT_ANALYZER, "simulated")
    make_run(staff, clock, "S1", purpose="simulated")
    # ...and a patient run in control: neither changes the held run's verdict
    _controls(staff, clock, 39.0)
    assert verdicts(staff, held) == [before]
    assert verdict(staff, held).rejected
    assert qc_status(staff, "A022")["status"] == "rejected"
    [finding] = release_findings(staff, "A022")
    assert "westgard_10_x" in finding.message and "qc correct" in finding.message
    with pytest.raises(ValidationError, match="cannot be final"):
        sign(staff, clock, "A022", "rev1", "review password", "reviewed")
    assert load_run(staff, "A022")[0].state == "result_ready"
    # the simulated controls are in no patient chart or choice; the held run is marked on the chart
    points, _ = chart_points(staff, DEFAULT_ANALYZER, "normal")
    assert sim_run not in {p.qc_run for p in points} and len(points) == 11
    assert [p.rejected for p in points if p.qc_run == held] == [True]
    assert qc_choices(staff, "simulated") == {DEFAULT_ANALYZER: ["abnormal", "normal"]}
    assert verify(staff).intact


def test_a_held_run_needs_a_corrective_action_and_qc_passing_again(staff, clock):
    make_run(staff, clock, "R1", qc="rejected")  # the normal control 5 SD high: 1-3s
    sign_performed(staff, clock)
    [held] = {e.data["qc_run"] for e in staff.events("R1") if e.kind == "analyze"}
    assert "record the corrective action" in release_findings(staff, "R1")[0].message
    # QC again before the corrective action: the same held run, still held
    assert current_run(staff, DEFAULT_ANALYZER, clock.utcnow().date()) == (held, True)
    add_action(staff, held, CORRECTIVE_ACTION, "electrode cleaned, NaCl standard 100 mmol/L checked", who="rev1")
    assert "run QC again" in release_findings(staff, "R1")[0].message
    rerun, measured = current_run(staff, DEFAULT_ANALYZER, clock.utcnow().date())
    assert (rerun, measured) == (qc_run_id(DEFAULT_ANALYZER, clock.utcnow().date(), n=2), False)
    clock.sleep(600)
    _controls(staff, clock, 46.0)  # 1-3s again: not passing
    assert release_findings(staff, "R1") != []
    clock.sleep(600)
    add_action(staff, rerun, CORRECTIVE_ACTION, "control vial replaced; analyzer recalibrated", who="rev1")
    clock.sleep(600)
    passing = _controls(staff, clock, 40.5)
    assert passing.endswith("#3") and not verdict(staff, passing).rejected
    assert release_findings(staff, "R1") == []
    status = qc_status(staff, "R1")
    assert status["status"] == "released_after_hold" and "electrode cleaned" in status["detail"]
    sign(staff, clock, "R1", "rev1", "review password", "reviewed")
    assert load_run(staff, "R1")[0].state == "reported"
    assert verdict(staff, held).rejected  # the run's own verdict stands


def test_an_override_is_a_separate_act_with_a_reason(staff, clock):
    make_run(staff, clock, "R1", qc="rejected")
    sign_performed(staff, clock)
    [held] = {e.data["qc_run"] for e in staff.events("R1") if e.kind == "analyze"}
    with pytest.raises(ValidationError, match="the reason in 5 to 2000 characters; nothing was recorded"):
        add_action(staff, held, OVERRIDE, "  ", who="rev1")
    add_action(staff, held, OVERRIDE, "control vial known contaminated; patient duplicates agree", who="rev1")
    assert release_findings(staff, "R1") == []
    assert "hold overridden by rev1" in qc_status(staff, "R1")["detail"]


def test_acts_on_a_run_that_is_not_held_are_refused(staff, clock):
    accepted = _controls(staff, clock, 40.0)
    with pytest.raises(ValidationError, match="was accepted .*: it is not held; nothing was recorded"):
        add_action(staff, accepted, CORRECTIVE_ACTION, "nothing to correct", who="rev1")
    with pytest.raises(ValidationError, match="has no QC verdict"):
        add_action(staff, "chloridometer-1/2020-01-01", OVERRIDE, "no such run here", who="rev1")


def test_an_incomplete_run_after_the_corrective_action_is_not_qc_passing_again(staff, clock):
    """CLSI C34: QC passing again means both levels in control; one level measured (incomplete) is not passing."""
    make_run(staff, clock, "R1", qc="rejected")
    sign_performed(staff, clock)
    [held] = {e.data["qc_run"] for e in staff.events("R1") if e.kind == "analyze"}
    add_action(staff, held, CORRECTIVE_ACTION, "electrode cleaned, NaCl standard 100 mmol/L checked", who="rev1")
    clock.sleep(600)
    rerun, _ = current_run(staff, DEFAULT_ANALYZER, clock.utcnow().date())
    level, lot, mean, sd = SEED_LOTS[0]
    staff.add_qc_result(analyzer=DEFAULT_ANALYZER, level=level, lot=lot, target_mean=mean, target_sd=sd,
                        value=mean, qc_run=rerun, at=clock.utcnow(), who="tech1")
    judge_and_record(staff, rerun, who="tech1")
    assert verdicts(staff, rerun)[-1].state == "incomplete"
    [finding] = release_findings(staff, "R1")
    assert "run QC again" in finding.message
    assert qc_status(staff, "R1")["status"] == "rejected"
    with pytest.raises(ValidationError, match="cannot be final"):
        sign(staff, clock, "R1", "rev1", "review password", "reviewed")


def test_a_control_recorded_after_results_were_released_starts_a_new_run_and_rewrites_nothing(staff, clock):
    """The results of R1 were released on the accepted verdict of their analytical run; a control measured after
    that is judged in a new analytical run: R1's run keeps the verdict it was released on."""
    make_run(staff, clock, "R1")
    sign_performed(staff, clock)
    sign(staff, clock, "R1", "rev1", "review password", "reviewed")
    [released] = {e.data["qc_run"] for e in staff.events("R1") if e.kind == "analyze"}
    before = verdicts(staff, released)
    clock.sleep(600)
    late = _controls(staff, clock, 46.0)  # 1-3s
    assert late == released + "#2" and verdict(staff, late).rejected
    assert verdicts(staff, released) == before and not verdict(staff, released).rejected
    assert qc_status(staff, "R1")["status"] == "in_control"
    assert load_run(staff, "R1")[0].state == "reported"
    # a sample measured now is in the held run
    assert current_run(staff, DEFAULT_ANALYZER, clock.utcnow().date()) == (late, True)


def test_after_a_corrective_action_the_rules_across_runs_count_afresh(staff, clock):
    """Held for 10x, the analyzer recalibrated: the run measured again with the normal control a little above the
    mean is not rejected for the streak the corrective action ended (nor is the hold lifted without it)."""
    held = _ten_x(staff, clock)
    clock.sleep(600)
    assert _controls(staff, clock, 40.5) == held  # no corrective action yet: the same held run
    add_action(staff, held, CORRECTIVE_ACTION, "analyzer recalibrated, bias corrected", who="rev1")
    clock.sleep(600)
    again = _controls(staff, clock, 40.5)
    assert again == held + "#2" and verdict(staff, again).findings == ()
    assert verdicts(staff, again)[-1].made_from["history"] == []
    assert verdicts(staff, held)[0].codes == ["westgard_10_x"] and verdict(staff, held).rejected
    # the series goes on from the run measured again
    clock.sleep(timedelta(days=1).total_seconds())
    nxt = _controls(staff, clock, 40.5)
    assert [h["qc_run"] for h in verdicts(staff, nxt)[-1].made_from["history"]] == [again]


def test_a_verdict_made_before_another_control_came_in_is_made_again_on_every_control(staff, clock, monkeypatch):
    """Two processes record the two levels of one run at once: the one that read the run with its first control
    only records its verdict last; the verdict the run stands on is still made from both controls."""
    import sweattest.record.analytical_qc as aq

    qc_run, _ = current_run(staff, DEFAULT_ANALYZER, clock.utcnow().date(), control=True)
    (n_level, n_lot, n_mean, n_sd), (a_level, a_lot, a_mean, a_sd) = SEED_LOTS
    staff.add_qc_result(analyzer=DEFAULT_ANALYZER, level=n_level, lot=n_lot, target_mean=n_mean, target_sd=n_sd,
                        value=n_mean, qc_run=qc_run, at=clock.utcnow(), who="tech1")
    real = aq.qc_verdicts.record_verdict
    calls = []

    def other_process_first(store, result, **kw):
        if not calls:  # the other process's control and verdict land between this one's read and its write
            staff.add_qc_result(analyzer=DEFAULT_ANALYZER, level=a_level, lot=a_lot, target_mean=a_mean,
                                target_sd=a_sd, value=a_mean, qc_run=qc_run, at=clock.utcnow(), who="tech2")
            calls.append("other")
            monkeypatch.setattr(aq.qc_verdicts, "record_verdict", real)
            judge_and_record(staff, qc_run, who="tech2")
            monkeypatch.setattr(aq.qc_verdicts, "record_verdict", other_process_first)
        return real(store, result, **kw)

    monkeypatch.setattr(aq.qc_verdicts, "record_verdict", other_process_first)
    found = judge_and_record(staff, qc_run, who="tech1")
    assert not found.rejected
    assert [v.state for v in verdicts(staff, qc_run)][-1] == "accepted"
    assert not verdict(staff, qc_run).rejected
