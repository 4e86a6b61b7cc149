"""The analytical step of a run: each sample's chloride, after the analytical run's QC (``qc.ensure_qc``), waited
for without stopping the other timers (``analyzer_wait``). A sample the analyzer does not measure is
tried again once; then, before it is written off, the tech may type the result from the analyzer's display twice,
the second entry blind. Every abort says why.
"""

from __future__ import annotations

from sweattest.bench.instruments.double_entry import double_entry
from sweattest.bench.runner.analyzer_wait import read_analyzer
from sweattest.bench.runner.qc import ensure_qc
from sweattest.core.errors import DeviceError, ValidationError
from sweattest.core.procedure import effects as fx
from sweattest.core.rules.sodium import check_sodium

#: Attempts for a measurement that is safe to repeat (the sample is still there).
MEASURE_ATTEMPTS = 2

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
        ask_sodium(runner, e)
        return
    typed = manual_result(runner, e, f"{what} {e.sample_id} ({_label(e.site)})", last)
    if typed is not None:
        chloride, source = typed
        runner.feed("analyze", site=e.site, data={"chloride": chloride, "sample_id": e.sample_id, "flags": [],
                                                 "qc_run": qc_run, **source})
        ask_sodium(runner, e)
        return
    runner.feed("abort", site=e.site, data={
        "reason": f"chloride analysis failed after {MEASURE_ATTEMPTS} attempts and no result was typed from the "
                  f"analyzer's display: {last}", "code": "analyzer"})


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


def ask_sodium(runner, e: fx.Analyze) -> None:
    """After a reportable chloride (already recorded): the optional sweat sodium of the same sample, typed from
    the instrument that measured it; empty means not measured. A value the rules refuse is recorded as refused and
    asked again; the Na/Cl check's warning is told at once (sweattest.core.rules.sodium)."""
    ask = getattr(runner.operator, "enter_sodium", None)
    chloride = runner.run.site(e.site).chloride
    if ask is None or not runner.order.get("sodium_entry") or chloride is None or not chloride.reportable:
        return
    label = f"sodium of sample {e.sample_id} ({_label(e.site)})"
    for _ in range(MEASURE_ATTEMPTS):
        value, by = ask(e.site, label)
        if value is None:
            return
        try:
            runner.feed("enter_sodium", site=e.site, data={"sodium": value, "by": by})
        except ValidationError as exc:
            runner.operator.tell(f"{label}: not accepted: {exc}")
            continue
        for finding in check_sodium(e.site, value, chloride):
            runner.operator.tell(f"WARNING {_label(e.site)}: {finding.message.split(': ', 1)[1]}")
        return
    runner.operator.tell(f"{label}: not recorded after {MEASURE_ATTEMPTS} entries were refused; the chloride stands "
                         "and is checked without it")


def _label(site: str) -> str:
    return site.replace("_", " ")
