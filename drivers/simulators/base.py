"""What every line-oriented simulator shares: input framing, a timed output queue and device-wide faults.

A simulator never touches a port. ``receive(bytes)`` takes what the host wrote; replies are queued with
the clock time at which their last byte has arrived (processing latency plus transmission time at the
baud rate). A transport (the ``sim://`` Serial object, or a pseudo-terminal server) takes bytes out with
``pop_due(now)`` and waits for ``next_due()``. All state changes with time are computed lazily from the
clock, so an instant ``VirtualClock`` replays minutes in microseconds.
"""

from __future__ import annotations

import random
import threading
from collections import deque

from sweattest.core.clock import Clock

#: Faults every simulator offers, device-wide.
COMMON_FAULTS = ("garbled", "silent", "no_response", "disconnect")


class SimulatorDisconnected(Exception):
    """The simulated device has been unplugged: the transport raises its own port error."""


class LineSimulator:
    """Base of the simulators: subclasses implement ``handle(line) -> reply text | None``."""

    name = "device"
    #: bytes that end a line the host sends (the simulator also accepts a bare LF)
    rx_terminator = b"\n"
    #: bytes the simulator appends to every line it sends
    tx_terminator = b"\n"
    #: seconds the firmware takes before it starts to answer
    latency_s = 0.002
    max_line = 256

    def __init__(self, clock: Clock, *, seed: int = 0, baudrate: int = 9600):
        self.clock = clock
        self.rng = random.Random(seed)
        self.baudrate = baudrate
        self.lock = threading.RLock()
        self._inbuf = bytearray()
        self._out: deque[tuple[float, bytes]] = deque()
        self._last_due = 0.0
        self.last_host_activity = clock.monotonic()
        #: device-wide fault kinds now active ("garbled", "silent"/"no_response", "disconnect")
        self.active_faults: set[str] = set()
        #: (kind, at monotonic) faults that switch on at a clock time
        self._timed_faults: list[tuple[str, float]] = []
        self.received_lines: list[str] = []
        self._synced_at: float | None = None

    # --- transport side -------------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Bytes written by the host; complete lines are handled at once."""
        with self.lock:
            self.sync()
            self._check_connected()
            if self.active_faults & {"silent", "no_response"}:
                return  # a hung device: nothing is read, nothing is answered
            self._inbuf += data
            while True:
                idx = self._inbuf.find(b"\n")
                if idx < 0:
                    if len(self._inbuf) > self.max_line:
                        self._inbuf.clear()
                    return
                raw = bytes(self._inbuf[:idx + 1])
                del self._inbuf[:idx + 1]
                self.last_host_activity = self.clock.monotonic()
                line = raw.rstrip(b"\r\n").decode("ascii", errors="replace")
                self.received_lines.append(line)
                reply = self.handle(line)
                if not self.only_asks(line):
                    self._synced_at = None  # a command may change what update() decides
                if reply is not None:
                    self.send(reply, in_order=not self.immediate(line))

    def next_due(self) -> float | None:
        """Clock time at which the next queued output has fully arrived, or ``None``."""
        with self.lock:
            self.sync()
            return self._out[0][0] if self._out else None

    def pop_due(self, now: float | None = None) -> bytes:
        """All output whose arrival time has come."""
        with self.lock:
            self.sync()
            self._check_connected()
            if not self._out:
                return b""
            now = self.clock.monotonic() if now is None else now
            chunks = []
            while self._out and self._out[0][0] <= now + 1e-12:
                chunks.append(self._out.popleft()[1])
            return b"".join(chunks)

    def _check_connected(self) -> None:
        if "disconnect" in self.active_faults:
            raise SimulatorDisconnected(f"the {self.name} has been disconnected")

    # --- device side ----------------------------------------------------------------------------

    def handle(self, line: str) -> str | None:
        raise NotImplementedError

    def only_asks(self, line: str) -> bool:
        """Whether ``line`` only asks (changes nothing ``update()`` depends on), so the state brought up to this
        clock time stays current; a device that can tell says so."""
        return False

    def immediate(self, line: str) -> bool:
        """Whether the reply to ``line`` may overtake replies still waiting."""
        return False

    def send(self, text: str, delay_s: float = 0.0, in_order: bool = True) -> None:
        """Queue one line; it arrives after latency, ``delay_s`` and its transmission time.

        ``in_order=False`` lets an immediate answer overtake a reply that is still waiting (for a stable
        reading, say), as MT-SICS ``SI`` does.
        """
        with self.lock:
            if self.active_faults & {"silent", "no_response"}:
                return
            payload = text.encode("ascii") + self.tx_terminator
            if "garbled" in self.active_faults:
                payload = self._garble(payload)
            now = self.clock.monotonic()
            tx = len(payload) * 10.0 / self.baudrate
            if in_order:
                due = max(now + self.latency_s + delay_s, self._last_due) + tx
                self._last_due = due
            else:
                due = now + self.latency_s + delay_s + tx
            self._out.append((due, payload))
            if not in_order:
                self._out = deque(sorted(self._out, key=lambda item: item[0]))

    def _garble(self, payload: bytes) -> bytes:
        """Line noise: bytes flipped, some high-bit, the terminator kept so the host sees a bad frame."""
        body = bytearray(payload[: -len(self.tx_terminator)])
        for _ in range(max(1, len(body) // 3)):
            if body:
                i = self.rng.randrange(len(body))
                body[i] = self.rng.choice(b"\x80\xff\x00?#~") if i % 2 else (body[i] ^ 0x5A) & 0xFF
        return bytes(body) + self.tx_terminator

    def clear_output(self) -> None:
        with self.lock:
            self._out.clear()

    # --- time and faults ------------------------------------------------------------------------

    def sync(self) -> None:
        """``update()`` unless it already ran at this clock time with nothing changed since (the transport
        asks many times per byte; update() is a function of the state and the time only)."""
        now = self.clock.monotonic()
        if now != self._synced_at:
            self.update()
            self._synced_at = now

    def touch(self) -> None:
        """State was changed from outside (a hook, a fault): the next sync() must update()."""
        self._synced_at = None

    def update(self) -> None:
        """Bring time-driven state up to the clock's present (subclasses extend)."""
        now = self.clock.monotonic()
        for kind, at in list(self._timed_faults):
            if now >= at:
                self.active_faults.add(kind)
                self._timed_faults.remove((kind, at))

    def inject_common(self, kind: str, at_s: float | None = None) -> None:
        """A device-wide fault now, or ``at_s`` seconds of clock time from now."""
        if kind not in COMMON_FAULTS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {', '.join(COMMON_FAULTS)}")
        with self.lock:
            self.touch()
            if at_s is None or at_s <= 0:
                self.active_faults.add(kind)
            else:
                self._timed_faults.append((kind, self.clock.monotonic() + at_s))

    def clear_faults(self) -> None:
        with self.lock:
            self.touch()
            self.active_faults.clear()
            self._timed_faults.clear()
