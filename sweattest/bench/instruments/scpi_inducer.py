"""``inducer scpi``: a current source sweattest drives over SCPI (drivers/inducer.py), one channel per site,
through the safe stimulation loop."""

from __future__ import annotations

from drivers.inducer import Inducer
from drivers.inducer_latch import FaultyInducer
from drivers.inducer_off import OffReport
from sweattest.bench.instruments.roles import Identity
from sweattest.bench.runner.stimulation import run_stimulation
from sweattest.core.clock import Clock
from sweattest.core.errors import ProtocolError
from sweattest.core.instruments import InstrumentConfig


class ScpiInducer:
    host_controlled = True

    def __init__(self, config: InstrumentConfig, driver: Inducer):
        self.config = config
        self.driver = driver

    @classmethod
    def open(cls, config: InstrumentConfig, clock: Clock) -> ScpiInducer:
        assert config.port is not None
        return cls(config, Inducer.from_url(config.port, baudrate=config.baudrate, channels=config.channels))

    def identify(self) -> Identity:
        reply = self.driver.identify()
        maker, model, serial, firmware = (part.strip() for part in reply.split(","))
        if not model:
            raise ProtocolError(f"inducer: *IDN? names no model: {reply!r}.", device="inducer",
                                action="Check that the device on this port is an SCPI inducer.")
        return Identity(maker, model, serial, firmware)

    def force_off(self) -> None:
        self.driver.all_outputs_off()

    def safe_off(self, channel: int | None = None) -> OffReport:
        return self.driver.safe_off(channel)

    def faulty(self) -> FaultyInducer | None:
        return self.driver.faulty()

    def stimulate(self, site, channel, plan, clock, record, progress, person, countdown=None):
        return run_stimulation(self.driver, channel, plan, clock, record, progress)

    def close(self) -> None:
        self.driver.close()
