"""The wait for the analyzer's result, which never stops the other timers of the run.

A result is waited for in slices (``WAIT_SLICE_S``) up to ``ANALYZER_WAIT_S`` of the analyzer's time; between
slices the wait's countdown is shown (``runner.analyzer_wait`` for the screens, ``countdown(..., "analysing")``
for the terminal) and every other timer that comes due fires on time.
"""

from __future__ import annotations

from drivers.base import CHECK_CABLE, Silent

#: Seconds of the analyzer's time a result is waited for, and the slices the wait is cut into.
ANALYZER_WAIT_S = 120.0
WAIT_SLICE_S = 1.0


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
