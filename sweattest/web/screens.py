"""Which screen a run shows now, from the stored run (``load_run``) and its live bench session, and the
alarms from its stored events. Used by the run page and its live updates alike, so a reload, a second tab
and the live view always agree."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sweattest.bench.runner.stimulation import POLL_HZ
from sweattest.core.procedure.model import RunState
from sweattest.record.alarms import acknowledgements, stopped_sites

if TYPE_CHECKING:  # the bench draws its screens with these functions; only the type is named here
    from sweattest.web.bench import BenchSession


def screen(run: RunState, session: BenchSession | None) -> dict[str, Any]:
    """The current screen: ``name``, the prompt if the tech must act, and a ``key`` that changes whenever
    the screen must be redrawn."""
    active = session is not None and session.active
    prompt = session.operator.prompt if active else None
    stimulating = [s.site for s in run.sites if s.state == "stimulating"]
    if prompt is not None:
        name = prompt.kind
    elif stimulating and active:
        name = "stimulation"
    elif active and session.runner.timers:
        name = "collecting"
    elif active:
        name = "working"
    elif run.state in ("result_ready", "reviewed"):
        name = "result"
    elif run.state == "reported":
        name = "reported"
    elif run.state == "aborted":
        name = "aborted"
    else:
        name = "interrupted"
    states = ",".join(f"{s.site}:{s.state}" for s in run.sites)
    raised = len(session.view.alarms) if session else 0
    wait = analyzer_wait(session) if active else None
    key = (f"{name}|{prompt.id if prompt else ''}|{states}|{session.error if session else ''}|{raised}|"
           f"{wait['label'] if wait else ''}")
    return {"name": name, "prompt": prompt, "key": key, "active": active, "wait": wait,
            # a site aborted while the run goes on says why on every screen, not only at the end
            "aborted": [{"site": s.site, "reason": said_once(s.abort_reason or "")} for s in run.sites
                        if s.state == "aborted"],
            "sites": [{"site": s.site, "state": s.state} for s in run.sites],
            "stimulating": stimulating[0] if stimulating else None,
            "error": session.error if session else None,
            "notice": session.operator.notice if active else None,
            "resumed": session.resumed if active else None,
            "standalone": active and not session.bench.inducer.host_controlled}


def analyzer_wait(session: BenchSession) -> dict[str, Any] | None:
    """The analyzer's result being waited for: what, and the clock time the wait gives up (the runner's
    ``analyzer_wait``); None when nothing is waited for."""
    wait = getattr(session.runner, "analyzer_wait", None)
    if not wait:
        return None
    ends = wait["since"] + timedelta(seconds=wait["total_s"])
    then = ("without it, results cannot be final until QC is run" if wait["site"] == "QC" else
            "the sample is then tried once more; if the chloridometer still gives no result, you may type the "
            "result its display shows (twice) before the sample is written off with the reason")
    return {"label": wait["label"], "total_s": int(wait["total_s"]), "ends_at": session.clock_text(ends),
            "then": then}


def said_once(reason: str) -> str:
    """A stop's reason without its off check: the screen says once, on its own line, that the output is off."""
    return reason.split(" Off check:", 1)[0]


def alarms(store, run_id: str) -> list[dict[str, Any]]:
    """Stimulation faults of this run with the inducer confirmed safe (``sweattest.record.alarms``), each with
    its acknowledgement if any. An inducer not confirmed safe is an inducer alarm instead."""
    acks = acknowledgements(store, run_id)
    out = []
    for seq, e in stopped_sites(store, run_id).items():
        who, at = acks.get(seq, (None, None))
        out.append({"seq": seq, "site": e.site, "code": e.data.get("code", ""),
                    "reason": said_once(e.data.get("reason", "")),
                    "output_off": e.data.get("output_off_confirmed", True), "at": e.at,
                    # seconds into the stimulation when it stopped: one reading per poll (None: not recorded)
                    "stopped_s": e.data["samples"] / POLL_HZ if "samples" in e.data else None,
                    "acknowledged_by": who, "acknowledged_at": at})
    return out


def live_data(run: RunState, session: BenchSession | None) -> dict[str, Any]:
    """What the run's screens show now: the read model's snapshot for a live run (no store read), or the
    screen of a stored run."""
    if session is not None:
        return session.view.snapshot()
    current = screen(run, None)
    return {"type": "snapshot", "seq": 0, "run_id": run.run_id, "key": current["key"], "screen": current["name"],
            "sites": current["sites"], "alarms": [], "notice": None, "stim": None, "trace": {}, "timers": {},
            "target_ma": run.protocol.current.to("mA").magnitude}


def station_runs(ctx) -> list[dict[str, Any]]:
    """The runs going on at this station, for the lock screen: run id, state, step, timers and the alarm that
    waits for acknowledgment (no patient data), so a locked screen still shows that they go on and what needs
    the tech. From the read models, and the stored alarms of the run."""
    out = []
    for run_id, session in list(ctx.bench.sessions.items()):
        if not session.active:
            continue
        snap = session.view.snapshot()
        waiting = [a for a in snap["alarms"] if not a.get("acknowledged")]
        stopped = [a for a in alarms(ctx.store, run_id) if not a["acknowledged_by"]]
        alarm = (f"stimulation of the {stopped[0]['site'].replace('_', ' ')} stopped" if stopped
                 else waiting[0]["text"] if waiting else "")
        out.append({"run_id": run_id, "state": session.runner.run.state,
                    "step": (snap["screen"] or "").replace("_", " "), "alarm": alarm,
                    "stimulating": snap["screen"] == "stimulation",
                    "timers": {site: int(t["remaining_s"]) for site, t in session.collection_left().items()}})
    return out
