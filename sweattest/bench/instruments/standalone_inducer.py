"""``inducer standalone``: a cleared inducer with no host link (e.g. the Webster/Macroduct inducer: its own
start button, its fixed current and time, its own fail-safe).

The tech presses start on the device and confirms it on screen; sweattest times the method's duration, then
asks the tech whether the device completed without an error light, or which error it showed (that aborts the
site). No current trace exists; the record and the report say so.
"""

from __future__ import annotations

from collections.abc import Callable

from drivers.inducer_off import OffReport
from sweattest.bench.instruments.roles import Identity, Person
from sweattest.bench.runner.stimulation import StimulationOutcome
from sweattest.core.clock import Clock
from sweattest.core.instruments import InstrumentConfig
from sweattest.core.stimulation import Fault, StimulationPlan

#: Seconds between two countdown updates while the device stimulates.
TICK_S = 1.0


class StandaloneInducer:
    host_controlled = False

    def __init__(self, config: InstrumentConfig):
        self.config = config

    @classmethod
    def open(cls, config: InstrumentConfig, clock: Clock) -> StandaloneInducer:
        return cls(config)

    def identify(self) -> Identity:
        """Nothing to ask over a wire: the serial number is the one configured (and printed on the record)."""
        return Identity(model="stand-alone inducer", serial_number=self.config.serial_number)

    def force_off(self) -> None:
        """No host link: the device's own fail-safe ends its current."""

    def safe_off(self, channel: int | None = None) -> OffReport:
        """Nothing to switch or read back: the report has no channel (and is not a fault)."""
        return OffReport(channels=())

    def faulty(self) -> None:
        return None

    def stimulate(self, site: str, channel: int, plan: StimulationPlan, clock: Clock, record, progress,
                  person: Person, countdown: Callable[[float, float], None] | None = None) -> StimulationOutcome:
        minutes = plan.duration_s / 60.0
        person.confirm_device_started(site, f"Press START on the inducer for {site.replace('_', ' ')} "
                                            f"({plan.target_ma:g} mA for {minutes:g} min), then confirm here.")
        t0 = clock.monotonic()
        while (remaining := plan.duration_s - (clock.monotonic() - t0)) > 1e-9:
            if countdown is not None:
                countdown(remaining, plan.duration_s)
            clock.sleep(min(TICK_S, remaining))
        if countdown is not None:
            countdown(0.0, plan.duration_s)
        error = person.confirm_device_completed(
            site, f"The inducer's {minutes:g} minutes are over. Did it complete without an error light?")
        fault = None
        if error:
            fault = Fault("device_error", f"the stand-alone inducer showed an error: {error}. Its own "
                          "fail-safe ended the current. Remove the electrodes; prepare a fresh site to repeat.")
        return StimulationOutcome(completed=fault is None, charge=None, fault=fault, samples=0,
                                  off=OffReport(channels=()))

    def close(self) -> None:
        pass
