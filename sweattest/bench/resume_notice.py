"""What the bench screen says about a run its station resumed: what happened, and when (from the record).

The run's last ``resume`` event and the ``crash`` event before it say when the station found the run; a
``station_stop`` event before them says the station stopped cleanly, and when; without one, the process
stopped unexpectedly (killed, crashed, power cut) after its last record. The stimulation that stop ended and
the collections that ran on through it come from the events around it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

#: Abort codes of a stimulation ended by the station's clean stop, or found interrupted at the restart.
STOPPED_BY_STOP = ("station_stopped", "interrupted_stimulation")


def resume_notice(events: list, when: Callable[[datetime], str]) -> str | None:
    """The notice for the screen, or None if the run was never resumed. ``when`` formats a time of day."""
    accepted = [e for e in events if e.accepted]
    resumes = [i for i, e in enumerate(accepted) if e.kind == "resume"]
    if not resumes:
        return None
    at = resumes[-1]
    crash = next((i for i in range(at, -1, -1) if accepted[i].kind == "crash"), at)
    stop = next((i for i in range(crash - 1, -1, -1) if accepted[i].kind not in ("crash", "resume")), None)
    if stop is not None and accepted[stop].kind == "station_stop":
        how = f"This station was shut down at {when(accepted[stop].at)}"
        # the stop's own abort of a stimulation comes just before it
        first = next((i for i in range(stop, -1, -1)
                      if accepted[i].kind != "station_stop" and not _stopped_stimulation(accepted[i])), -1) + 1
    else:
        last = accepted[stop].at if stop is not None else accepted[crash].at
        how = f"The program performing this run stopped unexpectedly after {when(last)}"
        first = crash
    parts = [f"{how} and started again at {when(accepted[at].at)}: every output was confirmed off and the run "
             "goes on here."]
    for e in accepted[first:at]:
        if _stopped_stimulation(e):
            parts.append(f"{_label(e.site)}: its stimulation was stopped with the output off and is never "
                         "resumed; remove the electrodes and prepare a fresh site to repeat.")
    collecting: dict[str, datetime] = {}
    for e in accepted[:crash]:
        if e.kind == "start_collection":
            collecting[e.site] = e.at
        elif e.kind in ("finish_collection", "abort") and e.site:
            collecting.pop(e.site, None)
    for site, started in collecting.items():
        parts.append(f"{_label(site)}: collecting since {when(started)}; its time ran on while the station was "
                     "stopped.")
    return " ".join(parts)


def _stopped_stimulation(e) -> bool:
    return e.kind == "abort" and bool(e.site) and (e.data or {}).get("code") in STOPPED_BY_STOP


def _label(site: str) -> str:
    return site.replace("_", " ").capitalize()
