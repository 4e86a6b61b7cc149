"""The in-memory read model of one live run: what its screens show, kept up to date by the runner's reporter,
the operator's prompts and the station's ticker, and pushed to every open screen as small updates.

Nothing here reads the store: each change is one small JSON message, serialized once and numbered, that
every subscriber (an open screen) receives. A screen that connects, or fell too far behind, gets the whole
snapshot first. The stimulation loop only updates memory and wakes the subscribers; it never waits.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sweattest.bench.runner.reporting import Reporter
from sweattest.core.procedure.events import Event
from sweattest.core.procedure.model import RunState

#: Trace points kept per site for the chart (one per second of stimulation is plenty on screen).
TRACE_STEP_S = 1.0
#: Updates kept for screens that reconnect (Last-Event-ID); older ones get the snapshot instead.
BACKLOG = 512
#: Stimulation readings sent to screens at most this often (wall seconds) per run; each reading in between
#: updates the model, and the latest one is sent at the next slot.
READING_GAP_S = 0.05
#: Before a collection reaches its maximum time, the tech is alarmed if busy elsewhere (procedure seconds).
COLLECTION_WARN_S = 120.0
#: A prompt that ends a collection (read the volume, weigh) unconfirmed this long alarms (procedure seconds).
PROMPT_OVERDUE_S = 60.0


def label(site: str) -> str:
    return site.replace("_", " ")


class RunView:
    """The live state of one run and the numbered updates its screens receive."""

    def __init__(self, run_id: str, target_ma: float | None = None):
        self.run_id = run_id
        self.target_ma = target_ma
        #: tells a reconnecting screen whether its last update's number is of this view (not of a server
        #: that has since restarted)
        self.epoch = secrets.token_hex(4)
        #: alarms acknowledged since the view began (each one changes the screen's key)
        self.acks = 0
        self._lock = threading.Lock()
        self.seq = 0
        self._backlog: deque[tuple[int, str]] = deque(maxlen=BACKLOG)
        self._subscribers: list[Callable[[], None]] = []
        self.run: RunState | None = None
        self.screen: dict[str, Any] = {}
        self.trace: dict[str, list[tuple[float, float, float]]] = {}
        self.stimulating: dict[str, dict[str, float]] = {}
        self.timers: dict[str, dict[str, Any]] = {}
        self.messages: list[str] = []
        #: inducer alarms raised by the runner (the stored events keep them and their acknowledgement)
        self.alarms: list[str] = []
        #: alarms of timing (a collection about to run past its maximum, a prompt left unconfirmed): id -> text
        self.timing_alarms: dict[str, str] = {}
        #: timing alarms acknowledged (no more sound while they last): id -> who and when, as shown
        self.silenced: dict[str, str] = {}
        self._last_reading_sent = -1.0e9
        self._pending_reading: dict[str, Any] | None = None

    # -- subscribers ---------------------------------------------------------------------------------
    def subscribe(self, wake: Callable[[], None]) -> None:
        with self._lock:
            self._subscribers.append(wake)

    def unsubscribe(self, wake: Callable[[], None]) -> None:
        with self._lock:
            if wake in self._subscribers:
                self._subscribers.remove(wake)

    @property
    def screens(self) -> int:
        return len(self._subscribers)

    def since(self, seq: int) -> list[tuple[int, str]] | None:
        """The updates after ``seq``, or None when some are no longer kept (send the snapshot)."""
        with self._lock:
            if seq >= self.seq:
                return []
            if not self._backlog or self._backlog[0][0] > seq + 1:
                return None
            return [m for m in self._backlog if m[0] > seq]

    def publish(self, kind: str, **data: Any) -> int:
        """Number and serialize one update once, keep it, and wake every open screen."""
        with self._lock:
            self.seq += 1
            text = json.dumps({"type": kind, "seq": self.seq, **data}, separators=(",", ":"), default=str)
            self._backlog.append((self.seq, text))
            wake = list(self._subscribers)
        for w in wake:
            try:
                w()
            except RuntimeError:  # that screen's event loop has closed (server stopping): it is gone
                self.unsubscribe(w)
        return self.seq

    # -- the state -----------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Everything a screen shows, for a screen that just connected."""
        with self._lock:
            return {"type": "snapshot", "seq": self.seq, "run_id": self.run_id, **self._screen_part(),
                    "stim": self._stim_part(), "trace": {s: list(p) for s, p in self.trace.items()},
                    "timers": dict(self.timers), "target_ma": self.target_ma}

    def key(self) -> str:
        return self.key_for(self.screen.get("key", ""))

    def key_for(self, screen_key: str) -> str:
        """The key of a screen: it changes whenever the run's page must be drawn again (the step, a site's
        state, an alarm raised or acknowledged)."""
        return f"{screen_key}|{','.join(sorted(self.timing_alarms))}|{self.acks}"

    def _screen_part(self) -> dict[str, Any]:
        return {"key": self.key(), "screen": self.screen.get("name", ""),
                "sites": self.screen.get("sites", []), "alarms": self.alarm_list(),
                "notice": self.screen.get("notice")}

    def _stim_part(self) -> dict[str, Any] | None:
        site = self.screen.get("stimulating")
        if site is None or site not in self.stimulating:
            return None
        return {"site": site, **self.stimulating[site]}

    def alarm_list(self) -> list[dict[str, str]]:
        out = [{"id": f"inducer-{i}", "level": "inducer", "text": t} for i, t in enumerate(self.alarms)]
        out += [{"id": k, "level": "timing", "text": t, "acknowledged": self.silenced.get(k)}
                for k, t in sorted(self.timing_alarms.items())]
        return out

    def set_screen(self, screen: dict[str, Any]) -> None:
        """The screen the run shows now (``sweattest.web.screens.screen``); pushed when its key changes."""
        if screen.get("key") == self.screen.get("key") and screen.get("sites") == self.screen.get("sites"):
            self.screen = screen
            return
        self.screen = screen
        self.publish("screen", **self._screen_part())

    def reading(self, site: str, values: dict[str, float], now: float) -> None:
        """A stimulation reading (``now``: the station's monotonic seconds). Readings closer together than
        READING_GAP_S are merged: the latest is sent at the next slot (``flush``)."""
        points = self.trace.setdefault(site, [])
        t = values["t"]
        added = []
        if not points or t - points[-1][0] >= TRACE_STEP_S:
            points.append((round(t, 1), round(values.get("sp", 0.0), 3), round(values.get("i", 0.0), 3)))
            added = [points[-1]]
        self.stimulating[site] = values
        if self._pending_reading is not None and self._pending_reading["site"] != site:
            self.flush(now)  # another site's reading is never merged into this one's (its chart points are its own)
        unsent = self._pending_reading.get("points", []) if self._pending_reading else []
        # the chart's points since the last update go with it (a mirror of this view keeps the same chart)
        self._pending_reading = {"site": site, **values} | ({"points": unsent + added} if unsent or added else {})
        if now - self._last_reading_sent >= READING_GAP_S:
            self.flush(now)

    def flush(self, now: float) -> None:
        if self._pending_reading is not None:
            pending, self._pending_reading = self._pending_reading, None
            self._last_reading_sent = now
            self.publish("stim", **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in pending.items()})

    def set_timers(self, timers: dict[str, dict[str, Any]]) -> None:
        if timers != self.timers:
            self.timers = timers
            self.publish("timers", timers=timers)

    def set_timing_alarms(self, alarms: dict[str, str]) -> None:
        if alarms.keys() != self.timing_alarms.keys():
            self.silenced = {k: v for k, v in self.silenced.items() if k in alarms}
            self.timing_alarms = alarms
            self.publish("screen", **self._screen_part())
        else:
            self.timing_alarms = alarms  # the same alarms; their words may count on (overdue for N s)

    def silence(self, alarm: str, acknowledged: str) -> None:
        """A timing alarm acknowledged (``acknowledged``: by whom and when, as shown): it stays shown until its
        cause is gone, without sound."""
        self.silenced[alarm] = acknowledged
        self.acknowledged()

    def acknowledged(self) -> None:
        """An alarm of the run was acknowledged (its record is in the store): every screen draws it again."""
        self.acks += 1
        self.publish("screen", **self._screen_part())

    def message(self, text: str) -> None:
        self.messages = (self.messages + [text])[-5:]

    def inducer_alarm(self, text: str) -> None:
        self.alarms = self.alarms + [text]
        self.publish("screen", **self._screen_part())


def timing_alarms(timers: dict[str, dict[str, Any]], prompt_site: str | None, prompt_kind: str | None,
                  prompt_waited_s: float, stimulating: str | None) -> dict[str, str]:
    """The alarms of timing: a collection within COLLECTION_WARN_S of its maximum while the tech is busy
    elsewhere (another site's prompt or stimulation), and a prompt that ends a collection left unconfirmed
    for PROMPT_OVERDUE_S. Each says once what happened and what to do."""
    out = {}
    for site, t in timers.items():
        left = t["remaining_s"]
        busy = stimulating not in (None, site) or (prompt_kind is not None and prompt_site != site)
        if left <= COLLECTION_WARN_S and busy:
            out[f"collect-{site}"] = (f"{label(site).capitalize()}: the collection reaches its maximum time at "
                                      f"{t['ends_at']}. Finish this step, then remove the collector from "
                                      f"{label(site)}.")
    if prompt_kind in ("read_volume", "place_on_balance") and prompt_waited_s >= PROMPT_OVERDUE_S:
        out[f"prompt-{prompt_site}"] = (f"{label(prompt_site or '').capitalize()}: the collection time is over "
                                        f"and the collector is still waiting for {int(prompt_waited_s // 60)} "
                                        f"min {int(prompt_waited_s % 60)} s. Remove it now and "
                                        f"{'read the volume' if prompt_kind == 'read_volume' else 'weigh it'}.")
    return out


def timer_entry(remaining_s: float, total_s: float, now_utc: datetime, fmt: Callable[[datetime], str]) -> dict:
    return {"remaining_s": round(remaining_s, 1), "total_s": round(total_s, 1),
            "ends_at": fmt(now_utc + timedelta(seconds=remaining_s))}


class ViewReporter(Reporter):
    """The runner's reporter for screens: every hook updates the run's read model, never the store."""

    def __init__(self, view: RunView, monotonic: Callable[[], float], on_change: Callable[[], None]):
        self.view = view
        self.monotonic = monotonic  # the station's clock: paces the readings sent to screens
        self.on_change = on_change  # recompute the screen (the prompt, the sites' states)

    def event(self, run: RunState, event: Event) -> None:
        self.view.run = run
        self.on_change()

    def refused(self, run: RunState, event: Event, reason: str) -> None:
        self.view.run = run
        self.on_change()

    def stimulation(self, site, t, setpoint_ma, current_ma, voltage_v, charge_ma_min, duration_s):
        self.view.reading(site, {"t": t, "sp": setpoint_ma, "i": current_ma, "v": voltage_v,
                                 "q": charge_ma_min, "duration_s": duration_s}, self.monotonic())

    def countdown(self, site, remaining_s, total_s, what: str = "collecting") -> None:
        if what == "stimulating":  # a stand-alone inducer: no current to show, only its time
            self.view.reading(site, {"t": total_s - remaining_s, "duration_s": total_s, "standalone": True},
                              self.monotonic())
        elif what == "analysing" and remaining_s >= total_s:  # a wait for the analyzer begins: the screen says so
            self.on_change()

    def message(self, text: str) -> None:
        self.view.message(text)

    def alarm(self, site: str | None, text: str) -> None:
        self.view.inducer_alarm(text)


__all__ = ["RunView", "ViewReporter", "timer_entry", "timing_alarms"]
