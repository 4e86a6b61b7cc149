"""The analytical run's QC at the bench: both control levels on every lot in use, once per analyzer, purpose
and day, before patient samples (CLSI C34; CLIA); each result stored, then the Westgard verdict recorded when it
is made (``sweattest.record.analytical_qc``). The series is the bench analyzer's serial number and the run's
purpose: a simulated or training run's controls never enter the patient series."""

from __future__ import annotations

from sweattest.bench.runner.analyzer_wait import read_analyzer
from sweattest.core.errors import DeviceError, ValidationError
from sweattest.core.units import Q_
from sweattest.record.analytical_qc import current_run, judge_and_record, verdict
from sweattest.record.qc_lots import DEFAULT_ANALYZER, LEVELS, lots_in_use, record_control, seed_initial_lots
from sweattest.record.qc_verdicts import ACCEPTED, INCOMPLETE, REJECTED, state_of


def ensure_qc(runner) -> str | None:
    """The analytical run the next sample is measured in (None: QC could not be run; the tech is told)."""
    store, say = runner.store, runner.reporter.message
    analyzer, purpose = runner.bench.analyzer_serial, runner.purpose
    day = runner.clock.utcnow().date()
    qc_run, measured = current_run(store, analyzer, day, purpose)
    if measured:
        found = verdict(store, qc_run)
        if found is None:  # controls started but never judged (a control failed): judged on what was measured
            found = judge_and_record(store, qc_run, rules=runner.qc_rules, who=runner.operator.name)
        state = state_of(found)
        if state == REJECTED:
            say(f"QC of analytical run {qc_run} is rejected: results measured now are held until a corrective "
                "action is recorded and QC passes again (sweattest qc correct)")
        elif state == INCOMPLETE:
            say(f"QC of analytical run {qc_run} is incomplete: results cannot be final until every control level "
                "is measured (sweattest qc record)")
        return qc_run
    identity = getattr(runner.bench, "identities", {}).get("analyzer")
    if analyzer == DEFAULT_ANALYZER or getattr(identity, "simulator", False):
        # a store with no lot of the bench's analyzer, or of a simulated one, starts with the bench's two
        seed_initial_lots(store, analyzer)
    in_use = lots_in_use(store, analyzer, day)
    missing = [level for level in LEVELS if not any(lot.level == level for lot in in_use)]
    if missing:
        say(f"QC: no {' and no '.join(missing)} control lot of analyzer {analyzer} is in date; QA enters the new "
            f"lot (sweattest qc lot add LOT --analyzer {analyzer}); results cannot be final until QC is run")
        return None
    for lot in in_use:
        runner.operator.run_control(lot.level, lot.lot, Q_(lot.mean, "mmol/L"))
        try:
            runner.bench.analyzer.loaded(lot.level, "qc")  # a simulator on a line measures it by itself
            result = read_analyzer(runner, lot.level, f"the {lot.level} control (lot {lot.lot})", "QC",
                                   record="qc").value
        except DeviceError as exc:
            say(f"QC {lot.level} control: chloridometer: {exc}; results cannot be final until QC is run")
            return None
        if result.record != "qc" or result.level != lot.level:
            say(f"QC {lot.level} control: the chloridometer reported {result.record} {result.sample_id!r}; "
                "results cannot be final until QC is run")
            return None
        value = result.chloride.to("mmol/L").magnitude
        try:
            record_control(store, analyzer=analyzer, level=lot.level, lot=lot.lot, value=value, qc_run=qc_run,
                           at=store.clock.utcnow(), who=runner.operator.name)
        except ValidationError as exc:
            say(f"QC {lot.level} control: {exc}; results cannot be final until QC is run")
            return None
        kind = "" if lot.established else ", provisional lot: recorded, not judged"
        say(f"QC {lot.level} control {lot.lot}: {value:g} mmol/L (target {lot.mean:g} ± {lot.sd:g}{kind})")
    found = judge_and_record(store, qc_run, rules=runner.qc_rules, who=runner.operator.name)
    rules = ", ".join(f.code for f in found.findings) or "no rule"
    state = state_of(found)
    say(f"QC of analytical run {qc_run}: {state.upper() if state != ACCEPTED else state} ({rules})")
    return qc_run
