"""The analytical steps of a run: the day's QC, each sample's chloride, and the wait for the analyzer.

A result is waited for in slices (``WAIT_SLICE_S``) up to ``ANALYZER_WAIT_S`` of the analyzer's time; between
slices the wait's countdown is shown (``runner.analyzer_wait`` for the screens, ``countdown(..., "analysing")``
for the terminal) and every other timer that comes due fires on time. A sample the analyzer does not measure is
tried again once; then, before it is written off, the tech may type the result from the analyzer's display twice,
the second entry blind. Every abort says why.
"""

from __future__ import annotations

from drivers.base import CHECK_CABLE, Silent
from sweattest.bench.instruments.double_entry import double_entry
from sweattest.core.errors import DeviceError, ValidationError
from sweattest.core.procedure import effects as fx
from sweattest.core.units import Q_
from sweattest.record.analytical_qc import ANALYZER, has_qc, qc_run_id
from sweattest.record.qc_lots import LEVELS, lots_in_use, record_control, seed_initial_lots

#: Attempts for a measurement that is safe to repeat (the sample is still there).
MEASURE_ATTEMPTS = 2
#: Seconds of the analyzer's time a result is waited for, and the slices the wait is cut into.
ANALYZER_WAIT_S = 120.0
WAIT_SLICE_S = 1.0

def ensure_qc(runner) -> str | None:
    """The analytical run's QC: both control levels once per analyzer and day, before patient samples
    (CLSI C34; CLIA). Each result is stored (audited); Westgard judges them at release."""
    day = runner.clock.utcnow().date()
    qc_run = qc_run_id(ANALYZER, day)
    if has_qc(runner.store, ANALYZER, day):
        return qc_run
    seed_initial_lots(runner.store)  # a store with no lot of the analyzer yet starts with the bench's two
    in_use = lots_in_use(runner.store, ANALYZER, day)
    missing = [level for level in LEVELS if not any(lot.level == level for lot in in_use)]
    if missing:
        runner.reporter.message(f"QC: no {' and no '.join(missing)} control lot of {ANALYZER} is in date; QA "
                                "enters the new lot (sweattest qc lot add); results cannot be final until QC "
                                "is run")
        return None
    for lot in in_use:
        runner.operator.run_control(lot.level, lot.lot, Q_(lot.mean, "mmol/L"))
        try:
            runner.bench.analyzer.loaded(lot.level, "qc")
            result = read_analyzer(runner, lot.level, f"the {lot.level} control (lot {lot.lot})", "QC",
                                   record="qc").value
        except DeviceError as exc:
            runner.reporter.message(f"QC {lot.level} control: chloridometer: {exc}; results cannot be final "
                                    "until QC is run")
            return None
        if result.record != "qc" or result.level != lot.level:
            runner.reporter.message(f"QC {lot.level} control: the chloridometer reported {result.record} "
                                    f"{result.sample_id!r}; results cannot be final until QC is run")
            return None
        value = result.chloride.to("mmol/L").magnitude
        try:
            record_control(runner.store, analyzer=ANALYZER, level=lot.level, lot=lot.lot, value=value,
                           qc_run=qc_run, at=runner.store.clock.utcnow(), who=runner.operator.name)
        except ValidationError as exc:
            runner.reporter.message(f"QC {lot.level} control: {exc}; results cannot be final until QC is run")
            return None
        kind = "" if lot.established else ", provisional lot: recorded, not judged"
        runner.reporter.message(f"QC {lot.level} control {lot.lot}: {value:g} mmol/L (target "
                                f"{lot.mean:g} ± {lot.sd:g}{kind})")
    return qc_run


def analyze(runner, e: fx.Analyze) -> None:
    qc_run = ensure_qc(runner)
    last: Exception | None = None
    for _ in range(MEASURE_ATTEMPTS):
        runner.operator.load_analyzer(e.site, e.sample_id)
        # a gravimetric method's analyzer measures the pad's eluate: the reading is named so
        what = "the eluate of sample" if runner.run.protocol.gravimetric else "sample"
        label = f"{what} {e.sample_id} ({_label(e.site)})"
        try:
            runner.bench.analyzer.loaded(e.sample_id)
            reading = read_analyzer(runner, e.sample_id, label, e.site)
        except DeviceError as exc:
            last = exc
            runner.reporter.message(f"{e.site}: chloridometer: {exc}")
            continue
        result = reading.value
        if result.sample_id != e.sample_id:
            last = DeviceError(f"the chloridometer reported sample {result.sample_id!r}, expected "
                               f"{e.sample_id!r}", device="chloridometer")
            continue
        runner.feed("analyze", site=e.site, data={"chloride": result.chloride, "sample_id": result.sample_id,
                                                 "flags": list(result.flags), "qc_run": qc_run,
                                                 **reading.source})
        return
    typed = manual_result(runner, e, f"{what} {e.sample_id} ({_label(e.site)})", last)
    if typed is not None:
        chloride, source = typed
        runner.feed("analyze", site=e.site, data={"chloride": chloride, "sample_id": e.sample_id, "flags": [],
                                                 "qc_run": qc_run, **source})
        return
    runner.feed("abort", site=e.site, data={
        "reason": f"chloride analysis failed after {MEASURE_ATTEMPTS} attempts and no result was typed from the "
                  f"analyzer's display: {last}", "code": "analyzer"})


def read_analyzer(runner, expected: str, label: str, where: str, record: str = "sample"):
    """The analyzer's next result, waited for in slices of WAIT_SLICE_S up to ANALYZER_WAIT_S of the analyzer's
    time: between slices the wait is shown with its countdown (``analyzer_wait``, the screens' and the
    terminal's) and every other timer that comes due fires on time. Silent for the whole wait: Silent."""
    analyzer = runner.bench.analyzer
    if not getattr(analyzer, "talks", False):  # a person reads the display and types: nothing to wait for
        return analyzer.read_result(expected, label, runner.operator, ANALYZER_WAIT_S, record=record)
    waited = 0.0
    runner.analyzer_wait = {"label": label, "site": where, "total_s": ANALYZER_WAIT_S,
                            "remaining_s": ANALYZER_WAIT_S, "since": runner.store.clock.utcnow()}
    runner.reporter.countdown(where, ANALYZER_WAIT_S, ANALYZER_WAIT_S, "analysing")
    try:
        while True:
            step = min(WAIT_SLICE_S, ANALYZER_WAIT_S - waited)
            try:
                return analyzer.read_result(expected, label, runner.operator, step, record=record)
            except Silent:
                waited += step
                if waited >= ANALYZER_WAIT_S - 1e-9:
                    raise Silent(f"chloridometer: no result for {label} within {ANALYZER_WAIT_S:g} s.",
                                 device="chloridometer", action=CHECK_CABLE) from None
            runner.analyzer_wait = runner.analyzer_wait | {"remaining_s": ANALYZER_WAIT_S - waited}
            runner.reporter.countdown(where, ANALYZER_WAIT_S - waited, ANALYZER_WAIT_S, "analysing")
            runner.lease.renew()
            runner.fire_due_timers()
    finally:
        runner.analyzer_wait = None


def manual_result(runner, e: fx.Analyze, label: str, why: Exception):
    """Before a sample is written off: the tech may read the result on the analyzer's display and type it
    twice, the second entry blind (an operator that cannot be asked is not)."""
    offer = getattr(runner.operator, "offer_manual_entry", None)
    if offer is None or not offer(e.site, f"The chloridometer gave no usable result for {label} ({why})."):
        return None
    try:
        reading = double_entry(runner.operator, "chloride", "concentration", f"chloride of {label}",
                               second_person=getattr(runner.bench.analyzer, "second_person", False))
    except DeviceError as exc:
        runner.reporter.message(f"{e.site}: manual entry: {exc}")
        return None
    return reading.value, reading.source | {"analyzer_failed": str(why)}


def _label(site: str) -> str:
    return site.replace("_", " ")
