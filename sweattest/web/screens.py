"""What a run's screens show: its stored stimulation alarms, its live data, and the runs going on at the station
for the lock screen. The screen itself is ``sweattest.bench.station.screen``, shared with the station."""

from __future__ import annotations

from typing import Any

from sweattest.bench.runner.stimulation import POLL_HZ
from sweattest.bench.station.screen import said_once, screen
from sweattest.core.procedure.model import RunState
from sweattest.record.alarms import acknowledgements, stopped_sites


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


def live_data(run: RunState, session) -> dict[str, Any]:
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
    the tech; a run whose station is gone or does not answer stays, with that alarm first. From the read models,
    and the stored alarms of the run."""
    out = []
    for run_id, session in list(ctx.bench.sessions.items()):
        station = next((a for a in session.view.alarm_list() if a["id"] == "station"), None)  # gone, not answering
        if not session.active and station is None:
            continue
        snap = session.view.snapshot()
        waiting = [a for a in snap["alarms"] if not a.get("acknowledged")]
        stopped = [a for a in alarms(ctx.store, run_id) if not a["acknowledged_by"]]
        alarm = (f"{station['title']}: {station['text']}" if station else
                 f"stimulation of the {stopped[0]['site'].replace('_', ' ')} stopped" if stopped
                 else waiting[0]["text"] if waiting else "")
        out.append({"run_id": run_id, "state": session.live_state().run_state,
                    "step": (snap["screen"] or "").replace("_", " "), "alarm": alarm,
                    "stimulating": snap["screen"] == "stimulation",
                    "timers": {site: int(t["remaining_s"]) for site, t in snap["timers"].items()}})
    return out
