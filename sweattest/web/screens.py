"""Which screen a run shows now, from the stored run (``load_run``) and its live bench session, and the
alarms from its stored events. Used by the run page and its live updates alike, so a reload, a second tab
and the live view always agree."""

from __future__ import annotations

from typing import Any

from sweattest.core.procedure.model import RunState
from sweattest.record.alarms import raises_alarm
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
    raised = len(session.live.alarms) if session else 0
    key = f"{name}|{prompt.id if prompt else ''}|{states}|{session.error if session else ''}|{raised}"
    return {"name": name, "prompt": prompt, "key": key, "active": active,
            "stimulating": stimulating[0] if stimulating else None,
            "error": session.error if session else None,
            "notice": session.operator.notice if active else None,
            "standalone": active and not session.bench.inducer.host_controlled}


def alarms(events) -> list[dict[str, Any]]:
    """Stimulation faults of this run with the inducer confirmed safe, from its stored abort events (the
    stimulation loop's aborts carry ``output_off_confirmed``; an emergency stop before a site started carries
    its code). An inducer not confirmed safe is an inducer alarm (``sweattest.record.alarms``) instead."""
    out = []
    for e in events:
        code = (e.data or {}).get("code", "")
        data = e.data or {}
        if raises_alarm(data):
            continue
        if e.kind == "abort" and e.accepted and e.site and ("output_off_confirmed" in data
                                                           or code == "emergency_stop"):
            out.append({"site": e.site, "code": code, "reason": e.data.get("reason", ""),
                        "output_off": e.data.get("output_off_confirmed", True), "at": e.at})
    return out


def live_data(run: RunState, session: BenchSession | None) -> dict[str, Any]:
    """The live update: the screen key, the stimulation trace and values, and the collection timers."""
    current = screen(run, session)
    data: dict[str, Any] = {"key": current["key"], "screen": current["name"], "stimulation": None, "timers": {},
                            "alarms": list(session.live.alarms) if session is not None else []}
    if session is None or not current["active"]:
        return data
    site = current["stimulating"]
    if site is not None:
        values = dict(session.live.stimulating.get(site, {}))
        data["stimulation"] = {"site": site, **values, "target_ma": run.protocol.current.to("mA").magnitude,
                               "trace": list(session.live.trace.get(site, []))}
    data["timers"] = session.collection_left()
    return data


def station_runs(ctx) -> list[dict[str, Any]]:
    """The runs going on at this station, for the lock screen: run id, state, step and timers (no patient
    data), so a locked screen still shows that they go on."""
    from sweattest.record.runs import load_run

    out = []
    for run_id, session in list(ctx.bench.sessions.items()):
        if not session.active:
            continue
        run, _ = load_run(ctx.store, run_id)
        current = screen(run, session)
        out.append({"run_id": run_id, "state": run.state, "step": current["name"].replace("_", " "),
                    "alarm": bool(session.live.alarms) or bool(current["error"]),
                    "timers": {site: int(t["remaining_s"]) for site, t in session.collection_left().items()}})
    return out
