"""pyserial URL handler ``sim://DEVICE?option=value&...``: a simulated instrument behind the Serial API.

Examples::

    sim://inducer?channels=2&load=1:10kohm,2:12kohm&fault=open_circuit@120s:1&watchdog=2&seed=1&clock=run
    sim://balance?mass=1.2g&settle=3s&fault=unstable&seed=1
    sim://sartorius?mass=1.2g&settle=3s&fault=overload&seed=1
    sim://chloridometer?analysis=20s&fault=E03&seed=1

``seed`` and ``clock`` (a name registered with ``drivers.simulators.clocks.set_clock``) work for every
device; the other options are the device's (see its ``URL_FORM``). The devices are the simulated models of
sweattest/core/instrument_models.py. The simulator answers inside
``write()``; ``read()`` waits on the simulator's clock, so on an instant ``VirtualClock`` nothing waits on
wall time. The opened port exposes the simulator as ``.simulator``.

Imports stay light here: pyserial reports any ImportError in this module as "protocol 'sim' not known".
"""

from __future__ import annotations

import urllib.parse

from serial.serialutil import PortNotOpenError, SerialBase, SerialException

from drivers.simulators.base import SimulatorDisconnected
from sweattest.core import instrument_models

#: wall-time step while waiting on a real or sped-up clock (another thread may queue output meanwhile)
POLL_S = 0.002


def _unplugged(exc: SimulatorDisconnected) -> SerialException:
    """A disconnected simulator, as the error a real port raises when its device is unplugged."""
    return SerialException(f"device disconnected: {exc}")


class Serial(SerialBase):
    """A port whose far end is a simulator."""

    BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)

    def __init__(self, *args, **kwargs):
        self.simulator = None
        self._rx = bytearray()
        super().__init__(*args, **kwargs)

    def open(self) -> None:
        if self.is_open:
            raise SerialException("Port is already open.")
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        self.simulator = self.from_url(self.port)
        self._rx = bytearray()
        self.is_open = True

    def from_url(self, url: str):
        """Build the simulator the URL describes; a bad URL raises SerialException with the expected form."""
        parts = urllib.parse.urlsplit(url)
        devices = instrument_models.simulators()  # device -> its simulator, imported when its port opens
        form = "sim://{" + "|".join(devices) + "}?option=value&..."
        if parts.scheme != "sim":
            raise SerialException(f'expected a string in the form "{form}": not starting with sim:// '
                                  f'({url!r})')
        device = parts.netloc or parts.path.strip("/")
        if device not in devices:
            raise SerialException(f'expected a string in the form "{form}": unknown device {device!r}')
        cls = instrument_models.load(devices[device])
        options = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        try:
            return cls.from_url_options(options, baudrate=self._baudrate)
        except (ValueError, KeyError) as exc:
            msg = exc.args[0] if exc.args else exc
            raise SerialException(f'expected a string in the form "{cls.URL_FORM}": {msg}') from None

    def close(self) -> None:
        self.is_open = False

    def _reconfigure_port(self, *args, **kwargs) -> None:
        if self.simulator is not None:
            self.simulator.baudrate = self._baudrate

    # --- data -----------------------------------------------------------------------------------

    @property
    def in_waiting(self) -> int:
        self._require_open()
        self._pump()
        return len(self._rx)

    def write(self, data) -> int:
        self._require_open()
        data = bytes(data)
        try:
            self.simulator.receive(data)
        except SimulatorDisconnected as exc:
            raise _unplugged(exc) from None
        return len(data)

    def read(self, size: int = 1) -> bytes:
        """Up to ``size`` bytes; waits at most the port timeout on the simulator's clock."""
        self._require_open()
        clock = self.simulator.clock
        deadline = None if self._timeout is None else clock.monotonic() + self._timeout
        instant = getattr(clock, "instant", False)
        while True:
            if len(self._rx) < size:
                self._pump()
            if len(self._rx) >= size:
                break
            due = self._guard(self.simulator.next_due)
            if due is not None and (deadline is None or due <= deadline):
                clock.sleep_until(due)
                continue
            if deadline is None and due is None and instant:
                break  # nothing will ever come on a stopped clock: never hang
            now = clock.monotonic()
            if deadline is not None and now >= deadline:
                break
            if instant:
                clock.sleep_until(deadline)
            else:
                clock.sleep(POLL_S if deadline is None else min(POLL_S, deadline - now))
        out = bytes(self._rx[:size])
        del self._rx[:size]
        return out

    def reset_input_buffer(self) -> None:
        self._require_open()
        self._pump()
        self._rx.clear()

    def reset_output_buffer(self) -> None:
        self._require_open()

    def flush(self) -> None:
        self._require_open()

    def _pump(self) -> None:
        try:  # the transport asks several times per reply: no helper call in between
            self._rx += self.simulator.pop_due()
        except SimulatorDisconnected as exc:
            raise _unplugged(exc) from None

    def _guard(self, fn, *args):
        try:
            return fn(*args)
        except SimulatorDisconnected as exc:
            raise _unplugged(exc) from None

    def _require_open(self) -> None:
        if not self.is_open:
            raise PortNotOpenError()

    # --- modem lines (no meaning for a simulator) -------------------------------------------------

    def _update_break_state(self) -> None:
        pass

    def _update_rts_state(self) -> None:
        pass

    def _update_dtr_state(self) -> None:
        pass

    @property
    def cts(self) -> bool:
        return True

    @property
    def dsr(self) -> bool:
        return True

    @property
    def ri(self) -> bool:
        return False

    @property
    def cd(self) -> bool:
        return True
