"""Pilocarpine iontophoresis, the pure part: the current profile and the fault monitor.

The plan says what current to command at each moment (ramp up, hold, ramp down); the monitor judges each
reading and names a fault. Neither does I/O nor reads a clock: the runner's loop
(``sweattest.bench.runner.stimulation``) feeds them readings and carries out what they decide.
Sources: Webster 3700 / Macroduct 3710 manuals (1.5 mA, 5 min, ~20 s ramp); CLSI C34 (4 mA limit).
"""

from __future__ import annotations

from dataclasses import dataclass

import pint

from sweattest.core.protocol import HARD_CURRENT_LIMIT, Protocol
from sweattest.core.units import Q_

#: Open circuit: no current flows (at most this many mA, the measurement's zero) at the compliance voltage.
#: A current above it at compliance is high skin impedance (2 MOhm at 24 V still passes 0.012 mA).
OPEN_CIRCUIT_MA = 0.005
#: Compliance reached: the output voltage is within this fraction of the compliance limit.
COMPLIANCE_FRACTION = 0.98


@dataclass(frozen=True)
class StimulationPlan:
    """Setpoints in mA as a function of seconds since the output was switched on."""

    target_ma: float
    ramp_s: float
    duration_s: float
    tolerance_ma: float
    grace_s: float
    compliance_v: float

    @classmethod
    def from_protocol(cls, p: Protocol) -> StimulationPlan:
        target = p.current.to("mA").magnitude
        if p.current > HARD_CURRENT_LIMIT:  # the loader refuses this too; never trust one check alone
            raise ValueError("stimulation current above the 4 mA hard limit")
        return cls(target_ma=float(target), ramp_s=float(p.ramp_time.to("s").magnitude),
                   duration_s=float(p.duration.to("s").magnitude),
                   tolerance_ma=float(p.tolerance.to("mA").magnitude),
                   grace_s=float(p.grace_time.to("s").magnitude),
                   compliance_v=float(p.compliance_voltage.to("V").magnitude))

    def phase(self, t: float) -> str:
        if t < self.ramp_s:
            return "ramp_up"
        if t < self.duration_s - self.ramp_s:
            return "hold"
        if t < self.duration_s:
            return "ramp_down"
        return "done"

    def setpoint_ma(self, t: float) -> float:
        if t <= 0 or t >= self.duration_s:
            return 0.0
        if self.ramp_s > 0 and t < self.ramp_s:
            return self.target_ma * t / self.ramp_s
        if self.ramp_s > 0 and t > self.duration_s - self.ramp_s:
            return self.target_ma * (self.duration_s - t) / self.ramp_s
        return self.target_ma

    def expected_charge(self) -> pint.Quantity:
        """Charge of the ideal profile: I x (duration - ramp), in mA*min."""
        return Q_(self.target_ma * (self.duration_s - self.ramp_s) / 60.0, "mA*min")


@dataclass(frozen=True)
class Fault:
    """Why the output was switched off: a stable ``code`` and words for the tech."""

    code: str
    message: str


@dataclass(frozen=True)
class MonitorState:
    deviating_since: float | None = None


def check(plan: StimulationPlan, state: MonitorState, t: float, setpoint_ma: float, current_ma: float,
          voltage_v: float) -> tuple[MonitorState, Fault | None]:
    """Judge one reading taken at ``t`` while ``setpoint_ma`` was commanded."""
    at = f"{t:.1f} s into stimulation"
    if voltage_v >= COMPLIANCE_FRACTION * plan.compliance_v:
        if current_ma <= OPEN_CIRCUIT_MA:
            return state, Fault("open_circuit", f"open circuit {at}: no current flows ({current_ma:.3f} mA) at "
                                f"the compliance voltage ({voltage_v:.1f} V): electrode lifted, lead unplugged or "
                                "gel dried. Check the electrode contact; a restart needs a fresh site preparation.")
        return state, Fault("compliance_voltage", f"high skin impedance {at}: compliance limit reached "
                            f"({voltage_v:.1f} V of {plan.compliance_v:.1f} V) with {current_ma:.3f} mA flowing "
                            f"instead of {setpoint_ma:.2f} mA. Check the electrodes and the skin site.")
    if current_ma > plan.target_ma + plan.tolerance_ma or current_ma > float(HARD_CURRENT_LIMIT.magnitude):
        return state, Fault("over_current", f"current {current_ma:.2f} mA above the set {plan.target_ma:.2f} mA "
                            f"{at}. Take the inducer out of service and call engineering.")
    deviating = abs(current_ma - setpoint_ma) > plan.tolerance_ma
    if not deviating:
        return MonitorState(None), None
    since = state.deviating_since if state.deviating_since is not None else t
    if t - since >= plan.grace_s:
        return MonitorState(since), Fault(
            "current_deviation", f"current {current_ma:.2f} mA instead of {setpoint_ma:.2f} mA for "
            f"{t - since:.1f} s ({at}). Check the electrodes and the inducer.")
    return MonitorState(since), None
