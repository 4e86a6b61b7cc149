"""The analytical step of a run: each sample's chloride, after the analytical run's QC (``qc.ensure_qc``), waited
for without stopping the other timers (``analyzer_wait``). A sample the analyzer does not measure is
tried again once; then, before it is written off, the tech may type the result from the analyzer's display twice,
the second entry blind. Every abort says why.
"""

from __future__ import annotations

from sweattest.bench.instruments.double_entry import double_entry
from sweattest.bench.runner.analyzer_wait import read_analyzer
from sweattest.bench.runner.qc import ensure_qc
from sweattest.core.errors import DeviceError
from sweattest.core.procedure import effects as fx

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


def manual_result(runner, e: fx.Analyze, label: str, why: Exception):
    """Before a sample is written off: the tech may read the result on the analyzer's display and type it
    twice, the second entry blind (an operator that cannot be asked is not)."""
    offer = getattr(runner.operator, "offer_manual_entry", None)
    said = f"The chloridometer gave no usable result for {label}: {str(why).rstrip('.')}."
    if offer is None or not offer(e.site, said):
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
