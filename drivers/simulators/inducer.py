"""Simulated iontophoresis current source: SCPI over serial, one channel per site, skin loads and faults.

Each channel drives its setpoint into a skin load. The skin hydrates under the electrode, so its
resistance falls from the start value towards 75 % of it (time constant 4 minutes of stimulation), with
a little seeded measurement noise. The delivered current is limited by the compliance voltage:
``I = min(setpoint, compliance / R)``, ``V = I * R``. An open circuit gives ``I = 0, V = compliance``; a
high impedance (a dried-out electrode) drives the output into its compliance limit. The device-side
watchdog switches every output off when the host has been silent for ``SYSTem:WDOG`` seconds, and
queues error +301. Two component faults defeat the off barriers: ``stuck_relay`` (the output relay no
longer opens: ``OUTP OFF``, ``*RST`` and the watchdog leave it closed, ``OUTP?`` reads 1) and
``stuck_setpoint`` (``SOUR:CURR`` is ignored; the setpoint keeps its value). Every command line received is
kept in ``received`` (the last ``RECEIVED_KEPT``) so tests can check what the host sent. The command set is
in docs/protocols/inducer.md.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache

import pint

from drivers.simulators import options as opt
from drivers.simulators.base import COMMON_FAULTS, LineSimulator
from drivers.simulators.scpi import ScpiError, ScpiParser, boolean, number
from sweattest.core.clock import Clock
from sweattest.core.units import Q_, parse_quantity

LOAD_FAULTS = ("open_circuit", "high_impedance")
STUCK_FAULTS = ("stuck_relay", "stuck_setpoint")
FAULTS = LOAD_FAULTS + STUCK_FAULTS + tuple(k for k in COMMON_FAULTS if k != "silent")
MAX_CURRENT_A = 4.0e-3
MAX_COMPLIANCE_V = 40.0
DEFAULT_COMPLIANCE_V = 24.0
DEFAULT_LOAD_OHM = 10_000.0
HIGH_IMPEDANCE_OHM = 2.0e6
HYDRATION_TAU_S = 240.0
IDN = "SWEATTEST,IND-{channels} SIM,{serial:06d},1.0"
WATCHDOG_ERROR = (301, "Watchdog expired; all outputs off")
RECEIVED_KEPT = 20_000


@dataclass
class Channel:
    number: int
    load_ohm: float
    setpoint_a: float = 0.0
    compliance_v: float = DEFAULT_COMPLIANCE_V
    output: bool = False
    on_since: float | None = None
    stimulated_s: float = 0.0  # accumulated time with output on (the skin hydrates)
    load_fault: str | None = None
    stuck: set[str] = field(default_factory=set)  # STUCK_FAULTS in effect on this channel
    pending: list[tuple[str, float]] = field(default_factory=list)
    #: (clock time, what) for the record: "on", "off", "watchdog_off", "fault:<kind>"
    events: list[tuple[float, str]] = field(default_factory=list)
    #: the charge truly delivered into the load (ampere-seconds), integrated by the simulator itself
    delivered_as: float = 0.0
    flow_a: float = 0.0
    flow_since: float | None = None


class InducerSim(LineSimulator):
    name = "inducer"
    rx_terminator = b"\n"
    tx_terminator = b"\n"
    URL_FORM = ("sim://inducer?channels=N&load=1:10kohm,2:12kohm&fault=KIND[@120s][:CH]&watchdog=S"
                "&seed=N&clock=NAME  (fault KIND: " + "|".join(FAULTS) + ")")

    def __init__(self, clock: Clock, *, channels: int = 2, seed: int = 0, baudrate: int = 9600,
                 watchdog_s: float = 0.0):
        super().__init__(clock, seed=seed, baudrate=baudrate)
        if not 1 <= channels <= 8:
            raise ValueError(f"channels must be 1 to 8, got {channels}")
        self.channels = {n: Channel(n, DEFAULT_LOAD_OHM) for n in range(1, channels + 1)}
        self.power_on_watchdog_s = watchdog_s
        self.watchdog_s = watchdog_s
        self.serial = seed % 1_000_000
        self.scpi = ScpiParser()
        #: command lines received, oldest first
        self.received: deque[str] = deque(maxlen=RECEIVED_KEPT)
        self._routes()

    @classmethod
    def from_url_options(cls, options: dict[str, list[str]], baudrate: int = 9600) -> InducerSim:
        opt.check_known(options, ("channels", "load", "fault", "watchdog"))
        clock, seed = opt.common(options)
        channels = opt.integer(opt.one(options, "channels", "2"), "channels")
        sim = cls(clock, channels=channels, seed=seed, baudrate=baudrate,
                  watchdog_s=opt.seconds(opt.one(options, "watchdog", "0"), "watchdog"))
        for item in filter(None, (opt.one(options, "load", "") or "").split(",")):
            ch, sep, value = item.partition(":")
            if not sep:
                raise ValueError(f"load must be CHANNEL:RESISTANCE such as 1:10kohm, got {item!r}")
            sim.set_load(opt.integer(ch, f"load {item!r}"), opt.quantity(value, "resistance", f"load {item!r}"))
        for spec in opt.faults(options, FAULTS):
            sim.inject(spec.kind, channel=spec.channel or 1, at_s=spec.at_s)
        return sim

    # --- hooks for scenarios and tests ------------------------------------------------------------

    def set_load(self, channel: int, resistance: pint.Quantity) -> None:
        """The skin resistance under channel ``channel``'s electrodes, at the start of stimulation."""
        ohm = float(parse_quantity(resistance, "resistance", "skin load").to("ohm").magnitude)
        if ohm <= 0:
            raise ValueError(f"skin load must be positive, got {resistance}")
        with self.lock:
            self.touch()
            self._channel(channel).load_ohm = ohm

    def inject(self, kind: str, channel: int = 1, at_s: float | None = None) -> None:
        """Fault ``kind`` on ``channel``, ``at_s`` seconds after its output is switched on (``None``: now)."""
        if kind not in FAULTS:
            raise ValueError(f"unknown inducer fault {kind!r}; expected one of {', '.join(FAULTS)}")
        with self.lock:
            self.touch()
            ch = self._channel(channel)
            if at_s is None:
                self._trigger(ch, kind, self.clock.monotonic())
            else:
                ch.pending.append((kind, float(at_s)))

    def output_state(self, channel: int) -> bool:
        with self.lock:
            self.sync()
            return self._channel(channel).output

    def _channel(self, n: int) -> Channel:
        if n not in self.channels:
            raise ValueError(f"channel {n} does not exist; this inducer has {len(self.channels)}")
        return self.channels[n]

    # --- time ---------------------------------------------------------------------------------------

    def update(self) -> None:
        super().update()
        now = self.clock.monotonic()
        self._account(now)
        trip = None
        if self.watchdog_s > 0 and any(c.output for c in self.channels.values()):
            if now - self.last_host_activity >= self.watchdog_s:
                trip = self.last_host_activity + self.watchdog_s
        horizon = trip if trip is not None else now
        changed = trip is not None
        for ch in self.channels.values():
            if ch.pending and ch.output and ch.on_since is not None:
                for kind, at in sorted(ch.pending, key=lambda p: p[1]):
                    if ch.on_since + at <= horizon:
                        ch.pending.remove((kind, at))
                        self._trigger(ch, kind, ch.on_since + at)
                        changed = True
        if trip is not None:
            for ch in self.channels.values():
                if ch.output:
                    self._switch(ch, False, trip, "watchdog_off")
            self.scpi.push_error(*WATCHDOG_ERROR)
        if changed:  # a fault or the watchdog changed the current from now on
            self._account(now)

    def _account(self, now: float) -> None:
        """Delivered charge: the current has been constant since the last state change."""
        for ch in self.channels.values():
            if ch.flow_since is not None:
                ch.delivered_as += ch.flow_a * (now - ch.flow_since)
            ch.flow_a, ch.flow_since = self.actual(ch, now)[0], now

    def delivered_charge(self, channel: int) -> pint.Quantity:
        """The charge this channel has delivered into its load, in mA*min."""
        with self.lock:
            self.sync()
            return Q_(self._channel(channel).delivered_as * 1000.0 / 60.0, "mA*min")

    def _trigger(self, ch: Channel, kind: str, at: float) -> None:
        ch.events.append((at, f"fault:{kind}"))
        if kind in LOAD_FAULTS:
            ch.load_fault = kind
        elif kind in STUCK_FAULTS:
            ch.stuck.add(kind)
        else:
            self.active_faults.add(kind)

    def _switch(self, ch: Channel, on: bool, at: float, what: str) -> None:
        if not on and ch.output and "stuck_relay" in ch.stuck:
            ch.events.append((at, f"{what}_refused"))  # the relay contacts are welded
            return
        if on and not ch.output:
            ch.on_since = at
        elif not on and ch.output and ch.on_since is not None:
            ch.stimulated_s += at - ch.on_since
        ch.output = on
        ch.events.append((at, what))

    # --- physics ------------------------------------------------------------------------------------

    def resistance_ohm(self, ch: Channel, now: float | None = None) -> float:
        if ch.load_fault == "open_circuit":
            return math.inf
        if ch.load_fault == "high_impedance":
            return HIGH_IMPEDANCE_OHM
        t = ch.stimulated_s
        if ch.output and ch.on_since is not None:
            t += (self.clock.monotonic() if now is None else now) - ch.on_since
        return ch.load_ohm * (0.75 + 0.25 * math.exp(-t / HYDRATION_TAU_S))

    def actual(self, ch: Channel, now: float | None = None) -> tuple[float, float]:
        """(current A, voltage V) at the output terminals, without measurement noise."""
        if not ch.output:
            return 0.0, 0.0
        r = self.resistance_ohm(ch, now)
        if math.isinf(r):
            return 0.0, ch.compliance_v
        current = min(ch.setpoint_a, ch.compliance_v / r)
        return current, min(current * r, ch.compliance_v)

    def _measure(self, n: int, which: int) -> str:
        ch = self._suffix(n)
        value = self.actual(ch)[which]
        noisy = value * (1.0 + self.rng.gauss(0.0, 0.001))
        if which == 1:
            noisy = min(noisy, ch.compliance_v)
        return f"{noisy:.6E}"

    # --- SCPI ---------------------------------------------------------------------------------------

    def handle(self, line: str) -> str | None:
        self.received.append(line)
        reply = self.scpi.execute(line)
        if not self.only_asks(line):
            self._account(self.clock.monotonic())  # a command may have changed the current from now on
        return reply

    def only_asks(self, line: str) -> bool:
        """Queries only (``MEAS1:CURR?;MEAS1:VOLT?``); the error queue a query pops is no state of ``update()``."""
        return _queries_only(line)

    def _suffix(self, n: int) -> Channel:
        if n not in self.channels:
            raise ScpiError(-114, f"channel {n} does not exist")
        return self.channels[n]

    def _routes(self) -> None:
        s = self.scpi
        s.add("*IDN", query=lambda: IDN.format(channels=len(self.channels), serial=self.serial))
        s.add("*RST", action=self.reset)
        s.add("*CLS", action=self.scpi.errors.clear)
        s.add("*OPC", query=lambda: "1")
        s.add("SYSTem:ERRor[:NEXT]", query=self.scpi.pop_error)
        s.add("SYSTem:WDOG", query=lambda: f"{self.watchdog_s:g}", setter=self._set_watchdog)
        s.add("SOURce#:CURRent[:LEVel]", query=lambda n: f"{self._suffix(n).setpoint_a:.6E}",
              setter=self._set_current)
        s.add("SOURce#:VOLTage:PROTection[:LEVel]", query=lambda n: f"{self._suffix(n).compliance_v:.6E}",
              setter=self._set_compliance)
        s.add("OUTPut#[:STATe]", query=lambda n: "1" if self._suffix(n).output else "0",
              setter=self._set_output)
        s.add("MEASure#:CURRent[:DC]", query=lambda n: self._measure(n, 0))
        s.add("MEASure#:VOLTage[:DC]", query=lambda n: self._measure(n, 1))

    def _set_current(self, n: int, arg: str) -> None:
        ch, value = self._suffix(n), number(arg)
        if not 0.0 <= value <= MAX_CURRENT_A:
            raise ScpiError(-222, f"current {value:g} A outside 0 to {MAX_CURRENT_A:g} A")
        if "stuck_setpoint" not in ch.stuck:
            ch.setpoint_a = value

    def _set_compliance(self, n: int, arg: str) -> None:
        ch, value = self._suffix(n), number(arg)
        if not 0.0 < value <= MAX_COMPLIANCE_V:
            raise ScpiError(-222, f"compliance {value:g} V outside 0 to {MAX_COMPLIANCE_V:g} V")
        ch.compliance_v = value

    def _set_output(self, n: int, arg: str) -> None:
        ch = self._suffix(n)
        on = boolean(arg)
        if on != ch.output:
            self._switch(ch, on, self.clock.monotonic(), "on" if on else "off")

    def _set_watchdog(self, arg: str) -> None:
        value = number(arg)
        if not 0.0 <= value <= 3600.0:
            raise ScpiError(-222, f"watchdog {value:g} s outside 0 to 3600 s")
        self.watchdog_s = value

    def reset(self) -> None:
        """``*RST``: every output off, setpoints zero, compliance and watchdog to power-on values."""
        now = self.clock.monotonic()
        for ch in self.channels.values():
            if ch.output:
                self._switch(ch, False, now, "off")
            if "stuck_setpoint" not in ch.stuck:
                ch.setpoint_a = 0.0
            ch.compliance_v = DEFAULT_COMPLIANCE_V
        self.watchdog_s = self.power_on_watchdog_s


@lru_cache(maxsize=64)
def _queries_only(line: str) -> bool:
    """Whether every command on ``line`` is a query (a host repeats a few lines ten times a second)."""
    return all(part.rstrip().endswith("?") for part in line.split(";"))
