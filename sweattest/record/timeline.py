"""The times a simulated run's record shows: the procedure clock's, never the instants its records were written.

A simulated run (demo, training, ``run --simulate``) runs on a virtual clock, accelerated or instant: its
records are written within seconds of each other while its procedure takes 40 minutes. Every step keeps
``t``, the procedure's seconds since the run started; shown on the procedure clock, each step is at the run's
start plus its ``t``, so a 30-minute collection runs 30 minutes on the report and the analysis follows it.
The record says so (``timeline``), and the report marks the times as simulated. A patient run keeps the real
times of its records.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sweattest.core.procedure.model import RunState

#: Steps a person takes after the simulation, at the time they take them (sign-off): kept at their record's time.
SIGN_OFF_EVENTS = frozenset({"review", "report"})
PROCEDURE_CLOCK = ("Simulated run: its times are the procedure clock's (the run's start plus the procedure's own "
                   "elapsed time), not the moments the simulation wrote them")


def on_procedure_clock(run: RunState) -> RunState:
    """``run`` with every step's time (and each collection start) on the procedure clock; the sign-off's steps
    keep the time they were signed."""
    steps = [st for s in run.sites for st in s.steps if st.event not in SIGN_OFF_EVENTS]
    if not steps:
        return run
    first = min(steps, key=lambda st: st.t)
    start = first.at - timedelta(seconds=first.t)

    def at(t: float):
        return start + timedelta(seconds=t)

    sites = tuple(replace(s, steps=tuple(st if st.event in SIGN_OFF_EVENTS else replace(st, at=at(st.t))
                                         for st in s.steps),
                          collection_started_at=None if s.collection_started_t is None
                          else at(s.collection_started_t))
                  for s in run.sites)
    return replace(run, sites=sites)
