"""What the runner tells the person watching a run, kept as plain data for a terminal that follows the run at
the bench station (``sweattest run`` and ``sweattest resume`` on instruments): each reporter call and each
line the operator is told, numbered in order, so the terminal shows them as its console reporter always has."""

from __future__ import annotations

import threading
from typing import Any

from sweattest.bench.runner.reporting import Reporter
from sweattest.core.procedure.events import Event
from sweattest.core.procedure.model import RunState


class TerminalFeed(Reporter):
    """The reports of one run, in order: ``["event", kind, site, t]``, ``["refused", kind, site, t, at,
    reason]``, ``["stimulation", site, t, setpoint, current, voltage, charge, duration]``, ``["countdown",
    site, remaining, total, what]``, ``["message", text]``, ``["alarm", site, text]`` and ``["tell", text]``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[list[Any]] = []

    def _add(self, *entry: Any) -> None:
        with self._lock:
            self._entries.append(list(entry))

    def since(self, position: int) -> tuple[list[list[Any]], int]:
        """The entries after the first ``position`` ones, and the position after them."""
        with self._lock:
            return self._entries[position:], len(self._entries)

    def event(self, run: RunState, event: Event) -> None:
        self._add("event", event.kind, event.site, event.t)

    def refused(self, run: RunState, event: Event, reason: str) -> None:
        self._add("refused", event.kind, event.site, event.t, event.at.isoformat(), reason)

    def stimulation(self, site, t, setpoint_ma, current_ma, voltage_v, charge_ma_min, duration_s) -> None:
        self._add("stimulation", site, t, setpoint_ma, current_ma, voltage_v, charge_ma_min, duration_s)

    def countdown(self, site, remaining_s, total_s, what: str = "collecting") -> None:
        self._add("countdown", site, remaining_s, total_s, what)

    def message(self, text: str) -> None:
        self._add("message", text)

    def alarm(self, site, text) -> None:
        self._add("alarm", site, text)

    def tell(self, text: str) -> None:
        self._add("tell", text)


class Reporters(Reporter):
    """Every call passed on to each of ``reporters`` (the screens' read model and the terminal's feed)."""

    def __init__(self, *reporters: Reporter):
        self.reporters = reporters

    def event(self, run, event) -> None:
        for r in self.reporters:
            r.event(run, event)

    def refused(self, run, event, reason) -> None:
        for r in self.reporters:
            r.refused(run, event, reason)

    def stimulation(self, *args) -> None:
        for r in self.reporters:
            r.stimulation(*args)

    def countdown(self, *args, **kw) -> None:
        for r in self.reporters:
            r.countdown(*args, **kw)

    def message(self, text) -> None:
        for r in self.reporters:
            r.message(text)

    def alarm(self, site, text) -> None:
        for r in self.reporters:
            r.alarm(site, text)


__all__ = ["Reporters", "TerminalFeed"]
