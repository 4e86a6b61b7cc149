"""The simulated bench: simulators on the run's clock, and a simulated tech who acts on them.

The simulated truth (sweat rate, chloride, skin resistance) comes from the scenario; what sweattest
records comes only through the drivers, exactly as at a real bench.
"""

from __future__ import annotations

import random
import uuid

import pint

import drivers  # noqa: F401 - registers sim://
from drivers.simulators.clocks import set_clock
from sweattest.bench.instruments.bench import Bench
from sweattest.bench.simulation.scenario import Scenario
from sweattest.bench.simulation.simulators import simulated_instruments
from sweattest.core.clock import Clock
from sweattest.core.instrument_models import role_of
from sweattest.core.protocol import Protocol
from sweattest.core.rules.skin import SkinCheck
from sweattest.core.units import Q_

#: Sweat density used to turn a collected mass into a volume (CLSI C34 Appendix A: 1 mg/uL).
SWEAT_DENSITY_MG_PER_UL = 1.0
#: The usual value of each control level (CLSI C34: about 40 and 100 mmol/L), mmol/L.
NOMINAL_CONTROL = {"normal": 40.0, "abnormal": 100.0}


def simulated_bench(clock: Clock, protocol: Protocol, scenario: Scenario, sites: tuple[str, ...]) -> Bench:
    """Open a simulator per role through its sim:// URL, on ``clock``, with the scenario's faults."""
    name = f"run-{uuid.uuid4().hex[:8]}"
    set_clock(clock, name)
    loads = ",".join(f"{i + 1}:{scenario.sites[s].skin_resistance_kohm}kohm" for i, s in enumerate(sites))
    instruments = simulated_instruments(name, channels=len(sites), loads=loads, seed=scenario.seed)
    bench = Bench.open(instruments, clock, gravimetric=protocol.gravimetric)
    for fault in scenario.faults:
        role = role_of(fault.device)
        if role == "inducer":
            simulator(bench.inducer).inject(fault.kind, channel=sites.index(fault.site) + 1, at_s=fault.at_s)
        elif getattr(bench, role) is not None:  # no balance on a volumetric bench
            simulator(getattr(bench, role)).inject(fault.kind, at_s=fault.at_s or None)
    return bench


def simulator(instrument):
    """The simulator behind an instrument opened on a sim:// URL."""
    return instrument.driver.port.simulator


class SimulatedOperator:
    """A tech who follows every prompt at once and handles the samples carefully."""

    def __init__(self, name: str, clock: Clock, bench: Bench, protocol: Protocol, scenario: Scenario):
        self.name = name
        self.clock = clock
        self.bench = bench
        self.protocol = protocol
        self.scenario = scenario
        self._rng = random.Random(scenario.seed)
        self._collector_applied: dict[str, float] = {}
        self.keep_alive = lambda: None  # the simulated tech never keeps the run waiting
        self._container: dict[str, pint.Quantity] = {}

    def restore(self, run, clock_now_t: float) -> None:
        """After a restart: what this tech had done is in the run's record (collector times, containers)."""
        for s in run.sites:
            if s.collection_started_t is not None:
                self._collector_applied[s.site] = self.clock.monotonic() - (clock_now_t - s.collection_started_t)
            if s.pre_weight is not None:
                self._container[s.site] = s.pre_weight

    def place_on_balance(self, site: str, purpose: str) -> None:
        if site not in self._container:  # a sealed gauze container weighs about a gram
            self._container[site] = Q_(round(self._rng.uniform(950.0, 1100.0), 1), "mg")
        mass = self._container[site]
        if purpose == "post":
            mass = mass + self._sweat_mass(site)
        simulator(self.bench.balance).place(mass)

    def apply_collector(self, site: str) -> None:
        self._collector_applied[site] = self.clock.monotonic()

    def check_skin(self, site: str) -> SkinCheck:
        """The simulated skin: none, unless the scenario says otherwise."""
        truth = self.scenario.sites[site]
        return SkinCheck(truth.skin, truth.skin_note)

    def read_volume(self, site: str) -> pint.Quantity:
        """The coil is read to the nearest microlitre; a full coil holds no more than its capacity (the
        method's maximum sample): sweat beyond it is lost, as on a real collector."""
        sweat_ul = self._sweat_mass(site).to("mg").magnitude / SWEAT_DENSITY_MG_PER_UL
        return Q_(round(min(sweat_ul, self.protocol.maximum_sample.to("uL").magnitude)), "uL")

    def run_control(self, level: str, lot: str, target: pint.Quantity | None = None) -> None:
        """The control gives a value about its lot's target mean (the level's usual value if none is given)."""
        if target is None:
            target = Q_(NOMINAL_CONTROL[level], "mmol/L")
        simulator(self.bench.analyzer).run_control(level, lot, target)

    def load_analyzer(self, site: str, sample_id: str) -> None:
        chloride = Q_(self.scenario.sites[site].chloride_mmol_l, "mmol/L")
        if self.protocol.gravimetric:  # the analyzer sees the eluate, diluted by the elution water
            sweat_ul = self._sweat_mass(site).to("mg").magnitude / SWEAT_DENSITY_MG_PER_UL
            eluate_ul = self.protocol.eluate_volume.to("uL").magnitude
            chloride = chloride * sweat_ul / (eluate_ul + sweat_ul)
        simulator(self.bench.analyzer).load_sample(sample_id, chloride)

    def enter_reading(self, what: str, dimension: str, label: str, entry: int) -> tuple[pint.Quantity, str]:
        raise NotImplementedError("the simulated bench has no manual instruments")

    def confirm_device_started(self, site: str, text: str) -> None:
        """A simulated bench drives its inducer; nothing to start by hand."""

    def confirm_device_completed(self, site: str, text: str) -> str | None:
        return None

    def tell(self, text: str) -> None:
        """The simulated tech needs no telling."""

    def _sweat_mass(self, site: str) -> pint.Quantity:
        started = self._collector_applied.get(site, self.clock.monotonic())
        minutes = (self.clock.monotonic() - started) / 60.0
        rate = Q_(self.scenario.sites[site].sweat_rate_g_m2_min, "g/m**2/min")
        return (rate * self.protocol.area * Q_(minutes, "min")).to("mg")
