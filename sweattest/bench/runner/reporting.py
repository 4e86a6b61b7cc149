"""What the runner tells the person watching: steps, live current, countdowns. The CLI and UI implement it."""

from __future__ import annotations

from sweattest.core.procedure.events import Event
from sweattest.core.procedure.model import RunState


class Reporter:
    """Hooks called by the runner; the default does nothing."""

    def event(self, run: RunState, event: Event) -> None:
        """An event was recorded and applied."""

    def refused(self, run: RunState, event: Event, reason: str) -> None:
        """An event was refused by the procedure (and recorded as refused)."""

    def stimulation(self, site: str, t: float, setpoint_ma: float, current_ma: float, voltage_v: float,
                    charge_ma_min: float, duration_s: float) -> None:
        """A current/voltage reading during stimulation."""

    def countdown(self, site: str, remaining_s: float, total_s: float, what: str = "collecting") -> None:
        """Time left on a running timer: the collection, or a stand-alone inducer's stimulation."""

    def message(self, text: str) -> None:
        """A line for the tech."""

    def alarm(self, site: str | None, text: str) -> None:
        """The inducer is not confirmed safe: the tech must switch it off at its power switch and remove the
        electrodes. Shown prominently until acknowledged (the default prints nothing; the store keeps it)."""

