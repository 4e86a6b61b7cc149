"""The one clock: monotonic seconds for durations, aware UTC datetimes for records.

No other module reads the system time. ``RealClock`` is for the bench; ``VirtualClock`` is for
simulation and tests: it either jumps instantly to each wake-up (``speed=None``) or runs at a
chosen speed-up factor.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta

#: A fixed, recognisable start for simulated runs (records stay UTC).
DEFAULT_VIRTUAL_START = datetime(2026, 11, 20, 9, 0, 0, tzinfo=UTC)


class Clock(ABC):
    """Time source for everything in sweattest."""

    #: How many of this clock's seconds pass per second of wall time; None: instant (no wall time passes).
    speed: float | None = 1.0
    #: A simulated clock: its time is the procedure's, not the time records are written at; it passes only when
    #: someone sleeps, so waiting for anything else takes none of it.
    virtual: bool = False

    @abstractmethod
    def monotonic(self) -> float:
        """Seconds on a monotonic scale, for durations and timers."""

    @abstractmethod
    def utcnow(self) -> datetime:
        """The current time as an aware UTC datetime, for records."""

    @abstractmethod
    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""

    def sleep_until(self, monotonic_deadline: float) -> None:
        """Wait until ``monotonic()`` reaches ``monotonic_deadline`` (no-op if already past)."""
        remaining = monotonic_deadline - self.monotonic()
        if remaining > 0:
            self.sleep(remaining)


class RealClock(Clock):
    """Wall time, for the bench."""

    def monotonic(self) -> float:
        return time.monotonic()

    def utcnow(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock(Clock):
    """Simulated time: it moves only when someone sleeps, by exactly the time asked.

    ``speed=None`` (instant): ``sleep`` returns at once, so a 35-minute test replays in well under a
    second. ``speed=N``: each sleep also waits ``seconds / N`` of wall time, so a person sees the run N times
    faster than real time. Either way the computation between sleeps takes no simulated time: a busy
    machine never looks like a silent host to a simulated device's watchdog, and a run is reproducible.
    """

    virtual = True

    def __init__(self, start: datetime = DEFAULT_VIRTUAL_START, speed: float | None = None):
        if start.tzinfo is None or start.utcoffset() != timedelta(0):
            raise ValueError("VirtualClock start must be an aware UTC datetime")
        if speed is not None and speed <= 0:
            raise ValueError("speed must be a positive factor, or None for instant")
        self._start = start.astimezone(UTC)
        self.speed = speed
        self._lock = threading.Lock()
        self._offset = 0.0  # simulated seconds since start

    @property
    def instant(self) -> bool:
        return self.speed is None

    def monotonic(self) -> float:
        return self._offset  # one float read is atomic; writers change it under the lock

    def utcnow(self) -> datetime:
        return self._start + timedelta(seconds=self.monotonic())

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self.speed is not None:
            time.sleep(seconds / self.speed)
        with self._lock:
            self._offset += seconds

    def advance(self, seconds: float) -> None:
        """Move simulated time forward without waiting (tests, simulators)."""
        if seconds > 0:
            with self._lock:
                self._offset += seconds
