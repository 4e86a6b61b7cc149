"""One run at a bench station: its runner thread, the operator that asks the tech on the screens, and the
run's read model (``RunView``) every open screen receives its updates from. The run's state lives in the
store; a session only adds what is happening right now (the prompt, the live current, the timers)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pint

from sweattest.bench.live_view import RunView, ViewReporter, timer_entry, timing_alarms
from sweattest.bench.runner import StationStopping
from sweattest.bench.service import ActiveRun
from sweattest.bench.station.feed import TerminalFeed
from sweattest.bench.station.prompts import OperatorGone, Prompt, WebOperator
from sweattest.bench.station.screen import LiveState, analyzer_wait, screen

log = logging.getLogger(__name__)


class BenchSession:
    """One active run: its runner thread, its operator and its read model (``view``), which every open screen
    of the run receives its updates from."""

    def __init__(self, active: ActiveRun, view: RunView, reporter: ViewReporter, fmt: Callable[[datetime], str],
                 feed: TerminalFeed | None = None):
        self.run_id = active.run_id
        #: which of the station's sessions this is, counted from 1 as they are launched: a run resumed at the
        #: station that ended its earlier session is performed by a new one, of a higher number
        self.number = 0
        self.runner = active.runner
        self.operator: WebOperator = active.runner.operator  # type: ignore[assignment]
        self.view = view
        self.bench = active.bench
        self.clock = active.clock
        self.error: str | None = None
        #: what the screen says about the station's stop and restart, for a run resumed at start-up
        self.resumed: str | None = None
        self._fmt = fmt
        self._prompt_seen: tuple[int, float] | None = None
        self._done = False
        view.run = active.runner.run
        reporter.on_change = self.refresh
        self.operator.on_change = self.refresh
        #: a terminal may follow the run (`sweattest run` started it, or it was resumed here, not on a screen)
        self.at_terminal = False
        #: what a terminal that follows the run shows (``sweattest run`` and ``resume`` on instruments)
        self.feed = feed or TerminalFeed()
        self.operator.on_tell = self.feed.tell
        self.thread = threading.Thread(target=self._work, name=f"run-{self.run_id}", daemon=True)

    def clock_text(self, at: datetime) -> str:
        """A time as the station's screens show it (the lab's time zone)."""
        return self._fmt(at)

    def _work(self) -> None:
        try:
            self.runner.run_until_results()
        except (OperatorGone, StationStopping):
            log.info("run %s: left where the record has it (the station stops); the next start resumes it",
                     self.run_id)
            try:
                self.runner.record_station_stop()  # a prompt was waiting: the stop is recorded here
            except Exception:  # noqa: BLE001 - the record keeps every step taken; the next start finds the stop
                log.exception("run %s: the station's stop could not be recorded", self.run_id)
        except Exception as exc:  # noqa: BLE001 - shown on the run's screen; the store keeps the events
            log.exception("run %s stopped", self.run_id)
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            warning = self.bench.shutdown()
            self.runner.lease.release()
            if warning:
                log.critical("run %s: %s", self.run_id, warning)
                self.error = warning
            self._done = True
            self.view.set_timers({})
            self.view.set_timing_alarms({})
            self.refresh()

    @property
    def active(self) -> bool:
        """From its launch, its thread about to start (the screens and a terminal that follows it see it then, and
        must not take it for ended), until its runner has ended."""
        return not self._done and (self.thread.ident is None or self.thread.is_alive())

    def live_state(self) -> LiveState:
        """What this session adds to the stored run, as the screens need it."""
        active = self.active
        return LiveState(active=active, prompt=self.operator.prompt if active else None,
                         collecting=bool(self.runner.timers), alarms_raised=len(self.view.alarms), error=self.error,
                         notice=self.operator.notice, resumed=self.resumed,
                         standalone=not self.bench.inducer.host_controlled,
                         wait=analyzer_wait(self.runner.analyzer_wait, self._fmt) if active else None,
                         run_state=self.runner.run.state, operator=self.operator.name,
                         timing_alarms=dict(self.view.timing_alarms), acks=self.view.acks)

    @property
    def prompt(self) -> Prompt | None:
        return self.operator.prompt

    def confirm(self, prompt_id: int, value: str | pint.Quantity | None = None, **answer: Any) -> None:
        """A tech's confirmation of the prompt ``prompt_id`` (``WebOperator.confirm``)."""
        self.operator.confirm(prompt_id, value, **answer)

    def acknowledged(self) -> None:
        """An alarm of the run was acknowledged (its record is in the store): every screen draws it again."""
        self.view.acknowledged()

    def silence(self, alarm: str, acknowledged: str) -> None:
        """A timing alarm acknowledged: shown without sound until its cause is gone."""
        self.view.silence(alarm, acknowledged)

    def wait_stopped(self) -> None:
        """Give the loop a moment to switch off and record the abort, so the next screen shows it."""
        for _ in range(50):
            run = self.view.run  # the read model: no replay of the run per look
            if run is None or not any(s.state == "stimulating" for s in run.sites):
                return
            self.thread.join(timeout=0.05)  # waits for the runner thread, not for procedure time

    def refresh(self) -> None:
        """The screen recomputed from the run in memory (no store read); pushed if it changed."""
        if self.view.run is None:
            return
        try:
            self.view.set_screen(screen(self.view.run, self.live_state()))
        except Exception:  # noqa: BLE001 - called by the runner: a screen's trouble never stops the run
            log.exception("run %s: the screen could not be updated", self.run_id)

    def tick(self) -> None:
        """The station's ticker: the latest reading, the timers with their clock end times, timing alarms."""
        now = self.runner.elapsed()
        self.view.flush(self.clock.monotonic())
        if not self.active:
            return
        utc = self.clock.utcnow()
        prompt = self.operator.prompt
        # a training run's clock moves only while the run waits on its own timers: while a prompt waits for the
        # tech it stands still, and the screens say so (a real collection's time would run on)
        training = {"training": True, "paused": prompt is not None} if self.clock.virtual else {}
        timers = {site: timer_entry(t["remaining_s"], t["total_s"], utc, self._fmt) | training
                  for site, t in self.collection_left().items()}
        self.view.set_timers(timers)
        if prompt is None:
            self._prompt_seen = None
        elif self._prompt_seen is None or self._prompt_seen[0] != prompt.id:
            self._prompt_seen = (prompt.id, now)
        waited = now - self._prompt_seen[1] if self._prompt_seen else 0.0
        stimulating = self.view.screen.get("stimulating")
        self.view.set_timing_alarms(timing_alarms(timers, prompt.site if prompt else None,
                                                  prompt.kind if prompt else None, waited, stimulating))

    def collection_left(self) -> dict[str, dict[str, float]]:
        """Seconds left on each collection timer, from the runner's own timers."""
        return self.runner.collection_left()


__all__ = ["BenchSession"]
