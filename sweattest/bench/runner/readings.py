"""The stimulation loop's readings, committed from a thread of their own.

The loop hands over a small batch of readings every ``HAND_OVER_S`` with ``hand_over``, which does not wait
for the store: a slow store write, a store lock held by a web request or a full disk can hold up the writer thread,
never the loop. The writer commits everything waiting in one write, so it catches up after a slow write; a
reading is committed within ``HAND_OVER_S`` plus one write of being taken. The queue is bounded: when a store
falls ``BACKLOG_S`` behind, the loop waits at most one poll period of its clock for room, then stops on it
(``WriterBehind``); on a simulated clock, which stands still while the loop waits, it waits for the writer
instead. A failed write is raised to the loop (``check``) so the output is switched off. ``close`` commits what
is left and joins the thread; the loop calls it on every exit path, after the output is off.

On a simulated clock the loop hands over one second of readings at a time and waits for their commit before
it goes on: that clock stands still meanwhile, so each reading is committed within one second of procedure time
of being taken, however fast the simulation runs. On a sped-up clock a store that does not commit within the
wait (``MAX_WAIT_STEPS`` steps) is left behind as on the real clock, and the backlog rule stops the loop. On an
instant clock no time passes while anything waits, so there is no time to protect and no thread: the loop
commits each second of readings itself (a hung store holds the simulation, whose clock stands still).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from sweattest.core.clock import Clock
from sweattest.core.errors import StoreError

SampleSink = Callable[[list[dict]], None]

#: Seconds of stimulation per batch handed to the writer; with one write this keeps every reading committed
#: within one second of being taken.
HAND_OVER_S = 0.5
#: The same on a simulated clock, where the loop waits for each commit (the clock stands still meanwhile).
SIMULATED_HAND_OVER_S = 1.0
#: Seconds of readings the writer may fall behind before the loop stops on it.
BACKLOG_S = 10.0
#: Seconds ``close`` waits for the writer to commit what is left (a hung store is reported, not waited on).
CLOSE_TIMEOUT_S = 30.0
#: Steps in which a full queue is waited on; the number of steps bounds the wait when the clock stands still.
WAIT_STEP_S = 0.01
MAX_WAIT_STEPS = 1000

_CLOSE = object()


class WriterBehind(StoreError):
    """The store has not taken the readings for ``BACKLOG_S`` seconds; the loop stops on it."""


class ReadingsWriter:
    """One thread that commits the loop's readings through ``record``, in order, each batch exactly once (on an
    instant clock, the loop's own thread)."""

    def __init__(self, record: SampleSink, clock: Clock, poll_hz: float, name: str = "readings"):
        self._record = record
        self._clock = clock
        self._period = 1.0 / poll_hz
        self._waits = bool(getattr(clock, "virtual", False))
        self._inline = self._waits and clock.speed is None
        hand_over_s = SIMULATED_HAND_OVER_S if self._waits else HAND_OVER_S
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, round(BACKLOG_S / hand_over_s)))
        self.batch_size = max(1, round(hand_over_s * poll_hz))
        self.error: BaseException | None = None
        self.committed = 0
        self._handed = 0
        self._done = threading.Condition()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        if not self._inline:
            self._thread.start()

    def hand_over(self, rows: list[dict]) -> None:
        """Queue ``rows`` for the writer, waiting only if it is ``BACKLOG_S`` behind (then at most one poll
        period of the clock), or on a simulated clock for their commit; raise the writer's failure, or
        ``WriterBehind``."""
        self.check()
        batch = list(rows)
        if self._inline:
            self._commit(batch)
            self.check()
            return
        self._handed += len(batch)
        try:
            self._queue.put_nowait(batch)
        except queue.Full:
            self._wait_for_room(batch)
        if self._waits:
            with self._done:
                self._done.wait_for(lambda: self.committed >= self._handed or self.error is not None,
                                    timeout=MAX_WAIT_STEPS * WAIT_STEP_S)
            self.check()

    def _wait_for_room(self, batch: list[dict]) -> None:
        since = self._clock.monotonic()
        for _ in range(MAX_WAIT_STEPS):
            try:
                self._queue.put(batch, timeout=min(WAIT_STEP_S, self._period))
                return
            except queue.Full:
                self.check()
                if self._clock.monotonic() - since >= self._period:
                    break
        raise WriterBehind(f"the run store has not saved the readings of the last {BACKLOG_S:g} s (slow or "
                           "locked database)")

    def check(self) -> None:
        """Raise the exception a write failed with, in the caller's thread."""
        if self.error is not None:
            raise self.error

    def close(self, rows: list[dict]) -> None:
        """Queue the last ``rows`` (waiting for room if need be), commit everything and join the writer.
        Raises the writer's failure, or ``StoreError`` if it has not finished within ``CLOSE_TIMEOUT_S``."""
        if self._inline:
            if rows:
                self._commit(list(rows))
            self.check()
            return
        try:
            if rows and self.error is None:
                self._queue.put(list(rows), timeout=CLOSE_TIMEOUT_S)
            self._queue.put(_CLOSE, timeout=CLOSE_TIMEOUT_S)
        except queue.Full:
            pass
        self._thread.join(timeout=CLOSE_TIMEOUT_S)
        if self._thread.is_alive() and self.error is None:
            raise StoreError(f"the run store did not save the last readings within {CLOSE_TIMEOUT_S:g} s")
        self.check()

    def _work(self) -> None:
        closing = False
        while not closing:
            batch: list[dict] = []
            item = self._queue.get()
            while True:  # take everything already waiting: one write catches up after a slow one
                if item is _CLOSE:
                    closing = True
                    break
                batch.extend(item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._commit(batch)
                with self._done:
                    self._done.notify_all()

    def _commit(self, batch: list[dict]) -> None:
        if self.error is None:
            try:
                self._record(batch)
                self.committed += len(batch)
            except BaseException as exc:  # noqa: BLE001 - raised again in the loop's thread
                self.error = exc
