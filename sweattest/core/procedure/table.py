"""The site state machine as one explicit table (data). Everything else is derived from it."""

from __future__ import annotations

from dataclasses import dataclass

#: Site states in procedure order. ``aborted`` is reachable from every active state.
SITE_STATES: tuple[str, ...] = (
    "created", "patient_verified", "ready", "pre_weighed", "stimulating", "stimulation_done",
    "collecting", "collection_done", "sample_measured", "adequate", "qns", "analyzed",
    "result_ready", "reviewed", "reported", "aborted",
)
FINAL_STATES = frozenset({"reported", "aborted"})
ACTIVE_STATES = tuple(s for s in SITE_STATES if s not in FINAL_STATES)

#: Events the core raises itself while handling another event (never accepted from outside).
INTERNAL_EVENTS = frozenset({"judge_adequate", "judge_qns", "release_result"})
#: Events that record what happened to the run without moving any site: its station stopped cleanly and left it
#: for its next start (``station_stop``), its process stopped (``crash``, written when the stop is found) and
#: the run was brought back (``resume``).
RECORD_EVENTS = frozenset({"station_stop", "crash", "resume"})


@dataclass(frozen=True)
class Transition:
    source: str
    event: str
    target: str
    #: "gravimetric" or "volumetric" when the row holds for one collection kind only
    only: str | None = None
    label: str = ""


_ROWS: tuple[Transition, ...] = (
    Transition("created", "verify_patient", "patient_verified", label="two identifiers confirmed"),
    Transition("patient_verified", "check_ready", "ready", label="reagent lot and devices checked"),
    Transition("ready", "pre_weigh", "pre_weighed", only="gravimetric"),
    Transition("ready", "start_stimulation", "stimulating", only="volumetric"),
    Transition("pre_weighed", "start_stimulation", "stimulating", only="gravimetric"),
    Transition("stimulating", "finish_stimulation", "stimulation_done", label="charge delivered"),
    Transition("stimulation_done", "start_collection", "collecting", label="collector applied"),
    Transition("collecting", "finish_collection", "collection_done"),
    Transition("collection_done", "measure_sample", "sample_measured", label="volume or post-weight"),
    Transition("sample_measured", "judge_adequate", "adequate"),
    Transition("sample_measured", "judge_qns", "qns"),
    Transition("adequate", "analyze", "analyzed", label="chloride"),
    Transition("analyzed", "release_result", "result_ready"),
    Transition("result_ready", "enter_sodium", "result_ready", label="optional sweat sodium"),
    Transition("qns", "release_result", "result_ready"),
    Transition("result_ready", "review", "reviewed"),
    Transition("reviewed", "report", "reported"),
)

TRANSITIONS: tuple[Transition, ...] = _ROWS + tuple(
    Transition(state, "abort", "aborted", label="reason recorded") for state in ACTIVE_STATES
)

EVENTS: tuple[str, ...] = tuple(dict.fromkeys(t.event for t in TRANSITIONS))

_INDEX: dict[tuple[str, str], list[Transition]] = {}
for _t in TRANSITIONS:
    _INDEX.setdefault((_t.source, _t.event), []).append(_t)


def lookup(state: str, event: str, collection_kind: str) -> Transition | None:
    """The row for ``event`` in ``state`` for this collection kind, or None if not allowed."""
    for row in _INDEX.get((state, event), ()):
        if row.only is None or row.only == collection_kind:
            return row
    return None


def _validate() -> None:
    """Checked at import: one initial state, every state reachable, every state reaches a final one."""
    states = set(SITE_STATES)
    for t in TRANSITIONS:
        if t.source not in states or t.target not in states:
            raise AssertionError(f"transition {t} names an unknown state")
        if t.source in FINAL_STATES:
            raise AssertionError(f"final state {t.source} has an outgoing transition")
    reach = {"created"}
    frontier = ["created"]
    while frontier:
        s = frontier.pop()
        for t in TRANSITIONS:
            if t.source == s and t.target not in reach:
                reach.add(t.target)
                frontier.append(t.target)
    if reach != states:
        raise AssertionError(f"unreachable states: {sorted(states - reach)}")
    for s in ACTIVE_STATES:
        if not any(t.source == s for t in TRANSITIONS):
            raise AssertionError(f"state {s} is a trap")


_validate()
