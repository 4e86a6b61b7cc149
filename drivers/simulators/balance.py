"""Simulated analytical balance speaking MT-SICS levels 0 and 1 (CR LF, 9600 8N1), readability 0.1 mg.

A load change makes the reading dynamic: it rings down towards the new mass and is stable after the
settle time (default 3 s). ``S`` answers once the reading is stable (``S S      1.0124 g``), or ``S I`` if
it does not settle within the balance's stability timeout. Faults: a reading that never settles
(``unstable``), ``overload`` (``S +``), ``underload`` (``S -``), ``garbled`` replies, a ``silent`` or
``disconnect``-ed balance. Any MT-SICS client works with it, not only our driver.
"""

from __future__ import annotations

import math

import pint

from drivers.simulators import options as opt
from drivers.simulators.base import COMMON_FAULTS, LineSimulator
from sweattest.core.clock import Clock
from sweattest.core.errors import UnitError
from sweattest.core.units import parse_number, parse_quantity

WEIGHING_FAULTS = ("unstable", "overload", "underload")
FAULTS = WEIGHING_FAULTS + COMMON_FAULTS
CAPACITY_G = 220.0
READABILITY_G = 0.0001
STABILITY_TIMEOUT_S = 10.0
MODEL = "XS205 SIM"


class BalanceSim(LineSimulator):
    name = "balance"
    rx_terminator = b"\r\n"
    tx_terminator = b"\r\n"
    URL_FORM = ("sim://balance?mass=1.2g&settle=3s&fault=KIND[@30s]&seed=N&clock=NAME  (fault KIND: "
                + "|".join(FAULTS) + ")")

    def __init__(self, clock: Clock, *, seed: int = 0, baudrate: int = 9600, settle_s: float = 3.0):
        super().__init__(clock, seed=seed, baudrate=baudrate)
        self.settle_s = settle_s
        self.serial = f"B{100000000 + seed % 900000000}"
        self.load_g = 0.0
        self.zero_g = 0.0
        self.tare_g = 0.0
        self.changed_at = clock.monotonic() - settle_s
        self.previous_g = 0.0
        self.weighing_faults: set[str] = set()

    @classmethod
    def from_url_options(cls, options: dict[str, list[str]], baudrate: int = 9600) -> BalanceSim:
        opt.check_known(options, ("mass", "settle", "fault"))
        clock, seed = opt.common(options)
        sim = cls(clock, seed=seed, baudrate=baudrate,
                  settle_s=opt.seconds(opt.one(options, "settle", "3"), "settle"))
        mass = opt.one(options, "mass")
        if mass:
            sim.load_g = float(opt.quantity(mass, "mass", "mass").to("g").magnitude)
        for spec in opt.faults(options, FAULTS):
            sim.inject(spec.kind, at_s=spec.at_s)
        return sim

    # --- hooks --------------------------------------------------------------------------------------

    def place(self, mass: pint.Quantity) -> None:
        """The total load on the pan becomes ``mass``; the reading is dynamic until it settles."""
        grams = float(parse_quantity(mass, "mass", "load on the balance").to("g").magnitude)
        with self.lock:
            self.touch()
            self.previous_g = self.gross_now()
            self.load_g = grams
            self.changed_at = self.clock.monotonic()

    def remove(self) -> None:
        """Take everything off the pan."""
        self.place(parse_quantity("0 g", "mass", "load on the balance"))

    def inject(self, kind: str, at_s: float | None = None, channel: int | None = None) -> None:
        """Fault ``kind`` now or ``at_s`` seconds from now (``channel`` is ignored: one pan)."""
        if kind not in FAULTS:
            raise ValueError(f"unknown balance fault {kind!r}; expected one of {', '.join(FAULTS)}")
        if kind in WEIGHING_FAULTS:
            with self.lock:
                self.touch()
                self.weighing_faults.add(kind)
        else:
            self.inject_common(kind, at_s)

    def clear_faults(self) -> None:
        super().clear_faults()
        self.weighing_faults.clear()

    # --- physics ------------------------------------------------------------------------------------

    def stable_at(self) -> float | None:
        """Clock time at which the reading is stable, or ``None`` if it never settles."""
        if "unstable" in self.weighing_faults:
            return None
        return self.changed_at + self.settle_s

    def is_stable(self) -> bool:
        at = self.stable_at()
        return at is not None and self.clock.monotonic() >= at

    def gross_now(self) -> float:
        """What the load cell reads now: a damped ring-down after a change, or a steady reading."""
        dt = self.clock.monotonic() - self.changed_at
        if "unstable" in self.weighing_faults:
            return self.load_g + self.rng.gauss(0.0, 0.002)
        if dt >= self.settle_s:
            return self.load_g + self.rng.gauss(0.0, READABILITY_G / 3)
        step = self.load_g - self.previous_g
        ring = step * math.exp(-5.0 * dt / self.settle_s) * math.cos(9.0 * dt)
        return self.load_g - ring + self.rng.gauss(0.0, 0.0005)

    def _range_fault(self) -> str | None:
        if "overload" in self.weighing_faults or self.load_g > CAPACITY_G:
            return "+"
        if "underload" in self.weighing_faults:
            return "-"
        return None

    @staticmethod
    def _value(grams: float) -> str:
        return f"{round(grams / READABILITY_G) * READABILITY_G:>11.4f} g"

    # --- MT-SICS ------------------------------------------------------------------------------------

    def handle(self, line: str) -> str | None:
        if any(ord(c) > 126 or (ord(c) < 32 and c != "\t") for c in line):
            return "ET"
        words = line.split()
        if not words:
            return "ES"
        cmd, args = words[0], words[1:]
        handler = getattr(self, f"_cmd_{cmd.replace('@', 'reset')}", None)
        if handler is None or cmd != cmd.upper():
            return "ES"
        return handler(args)

    def immediate(self, line: str) -> bool:
        return line.strip() in ("SI", "ZI", "@")

    def _cmd_reset(self, args: list[str]) -> str:
        self.clear_output()
        self.tare_g = 0.0
        return f'I4 A "{self.serial}"'

    def _cmd_I1(self, args: list[str]) -> str:
        return 'I1 A "01" "2.20" "2.20" "" ""'

    def _cmd_I2(self, args: list[str]) -> str:
        return f'I2 A "{MODEL} {CAPACITY_G:.4f} g"'

    def _cmd_I3(self, args: list[str]) -> str:
        return 'I3 A "2.20"'

    def _cmd_I4(self, args: list[str]) -> str:
        return f'I4 A "{self.serial}"'

    def _wait_stable(self, cmd: str, on_stable) -> None:
        """Reply to a command that needs a stable reading: when it is stable, or ``<cmd> I`` on timeout."""
        fault = self._range_fault()
        if fault:
            self.send(f"{cmd} {fault}")
            return
        now = self.clock.monotonic()
        at = self.stable_at()
        if at is None or at - now > STABILITY_TIMEOUT_S:
            self.send(f"{cmd} I", delay_s=STABILITY_TIMEOUT_S)
            return
        wait = max(0.0, at - now)
        settled = self.load_g + self.rng.gauss(0.0, READABILITY_G / 3)
        self.send(on_stable(settled), delay_s=wait)

    def _cmd_S(self, args: list[str]) -> None:
        self._wait_stable("S", lambda g: f"S S {self._value(g - self.zero_g - self.tare_g)}")

    def _cmd_SI(self, args: list[str]) -> str:
        fault = self._range_fault()
        if fault:
            return f"S {fault}"
        status = "S" if self.is_stable() else "D"
        return f"S {status} {self._value(self.gross_now() - self.zero_g - self.tare_g)}"

    def _cmd_Z(self, args: list[str]) -> None:
        def zero(g: float) -> str:
            self.zero_g, self.tare_g = g, 0.0
            return "Z A"
        self._wait_stable("Z", zero)

    def _cmd_ZI(self, args: list[str]) -> str:
        fault = self._range_fault()
        if fault:
            return f"ZI {fault}"
        status = "S" if self.is_stable() else "D"
        self.zero_g, self.tare_g = self.gross_now(), 0.0
        return f"ZI {status}"

    def _cmd_T(self, args: list[str]) -> None:
        def tare(g: float) -> str:
            self.tare_g = g - self.zero_g
            return f"T S {self._value(self.tare_g)}"
        self._wait_stable("T", tare)

    def _cmd_TA(self, args: list[str]) -> str:
        if args:
            if len(args) != 2 or args[1] != "g":
                return "EL"
            try:
                self.tare_g = float(parse_number(args[0], "tare"))
            except UnitError:
                return "EL"
        return f"TA A {self._value(self.tare_g)}"

    def _cmd_TAC(self, args: list[str]) -> str:
        self.tare_g = 0.0
        return "TAC A"
