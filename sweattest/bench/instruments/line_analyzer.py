"""``analyzer line``: a chloride analyzer that sends one result line per analysis in sweattest's documented
line format (drivers/chloridometer.py, docs/protocols/chloridometer.md). It only talks, so it cannot be asked
who it is: its serial number is the configured one."""

from __future__ import annotations

from drivers.chloridometer import Chloridometer
from sweattest.bench.instruments.roles import Identity, Person, Reading
from sweattest.core.clock import Clock
from sweattest.core.instruments import InstrumentConfig


class LineAnalyzer:
    def __init__(self, config: InstrumentConfig, driver: Chloridometer):
        self.config = config
        self.driver = driver

    @classmethod
    def open(cls, config: InstrumentConfig, clock: Clock) -> LineAnalyzer:
        assert config.port is not None
        return cls(config, Chloridometer.from_url(config.port, baudrate=config.baudrate))

    def identify(self) -> Identity:
        simulated = getattr(self.driver.port, "simulator", None) is not None
        return Identity(maker="SWEATTEST" if simulated else None, model="line-format analyzer",
                        serial_number=None)

    def read_result(self, expected: str, label: str, person: Person, timeout_s: float,
                    record: str = "sample") -> Reading:
        return Reading(self.driver.read_result(timeout_s=timeout_s))

    def close(self) -> None:
        self.driver.close()
