"""What a run needs after the process stopped unexpectedly (crash, power loss, SIGKILL). Pure.

Sources: CLSI C34 (stimulation for the stated time: a site whose stimulation stopped early is not collected;
abort it and record the delivered charge); CLSI C34 (collection for at most 30 minutes; a longer one is
flagged and the minimum rises in proportion, a sweattest default: docs/rules.md). Collection timers
resume from the recorded start time.
"""

from __future__ import annotations

from sweattest.core.procedure import effects as fx
from sweattest.core.procedure.core import _next_stimulation
from sweattest.core.procedure.model import RunState


def recovery(run: RunState) -> list[fx.Effect]:
    """The effects that bring an interrupted run back under control, safest first."""
    out: list[fx.Effect] = [fx.AbortInterrupted(s.site, s.channel) for s in run.sites if s.state == "stimulating"]
    max_s = run.protocol.max_collection_time.to("s").magnitude
    for s in run.sites:
        if s.state == "collecting":
            out.append(fx.StartTimer(s.site, "collection", float((s.collection_started_t or 0.0) + max_s),
                                     "finish_collection"))
        elif s.state == "stimulation_done":
            out.append(fx.ApplyCollector(s.site))
        elif s.state == "collection_done":
            out.append(fx.MeasureSample(s.site, run.protocol.gravimetric))
        elif s.state == "adequate":
            out.append(fx.Analyze(s.site, s.sample_id or s.site))
    states = {s.state for s in run.sites}
    if states == {"created"}:
        out.append(fx.VerifyPatient())
    elif states == {"patient_verified"}:
        out.append(fx.CheckReadiness())
    elif run.protocol.gravimetric and "ready" in states:
        out.extend(fx.PreWeigh(s.site) for s in run.sites if s.state == "ready")
    elif not states & {"stimulating", "stimulation_done"}:  # otherwise abort/collector start the next one
        out.extend(_next_stimulation(run))
    if not out and all(s.state in {"result_ready", "aborted"} for s in run.sites):
        out.append(fx.RunFinished() if states == {"aborted"} else fx.ResultsReady())
    return out
