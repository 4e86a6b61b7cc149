"""A run's continuity across a stop of its station: the clean stand-down (SIGTERM, Ctrl-C, a service stop)
and the recovery when the run is taken up again (``sweattest.bench.service.RunService.resume``). A mixin of
``Runner``: it works on the runner's queue, timers and record."""

from __future__ import annotations

from sweattest.bench.runner.skin import check_skin, skin_unchecked
from sweattest.core.procedure import effects as fx
from sweattest.core.procedure.recovery import recovery


class StationStopping(Exception):
    """The station stops cleanly (SIGTERM, Ctrl-C, a service stop): the runner leaves the run where the record
    has it, at a safe point, for the next start to resume. Not a fault of the run."""


class Continuity:
    """The stand-down and the recovery of ``Runner`` (which sets ``standing_down``, ``_stop_recorded`` and
    ``_skin_due`` and provides ``run``, ``feed``, ``queue`` and the effect handlers)."""

    def stand_down(self, reason: str) -> None:
        """The station stops cleanly (safe from another thread): a stimulation in progress stops at the next
        reading with the off sequence and is aborted with ``reason`` (a stimulation is never resumed); no new
        step starts; a collection's timer is left running in the record (the next start resumes it from its
        recorded start). The runner then raises ``StationStopping``."""
        self.standing_down = reason.strip() or "the station was stopped"

    def _check_standing_down(self) -> None:
        if self.standing_down is not None:
            self.record_station_stop()
            raise StationStopping(self.standing_down)

    def record_station_stop(self) -> None:
        """Once, when the station stops cleanly: a ``station_stop`` event with why and what was going on (the
        collections running, whose recorded start the next start resumes from, and what was to come)."""
        if self.standing_down is None or self._stop_recorded:
            return
        self._stop_recorded = True
        self.feed("station_stop", actor="system", data={
            "reason": self.standing_down, "collecting": [s.site for s in self.run.sites if s.state == "collecting"],
            "next": [type(effect).__name__ for effect in self.queue]})

    def recover(self) -> None:
        """After a crash: every output off, and a site caught stimulating aborted with the reason, before
        this returns; the rest of what ``procedure.recovery`` decides is queued for the run loop."""
        self.bench.inducer.force_off()
        for effect in recovery(self.run):
            if isinstance(effect, fx.AbortInterrupted):
                self._abort_interrupted(effect)
            elif isinstance(effect, fx.StartTimer):  # a collection goes on: its timer counts from its start
                self._start_timer(effect)
                started = self.run.site(effect.site).collection_started_t
                if started is not None:
                    self._timer_started[(effect.site, effect.name)] = started
            else:
                self.queue.append(effect)
        self._skin_due = skin_unchecked(self.store, self.run)  # asked again first: the stop came before it

    def _ask_skin_due(self) -> None:
        while self._skin_due:
            check_skin(self, self._skin_due[0])
            self._skin_due.pop(0)
