"""``balance mt-sics`` (drivers/balance.py) and ``balance sartorius-sbi`` (drivers/sartorius.py): balances
that answer weight requests over a serial line."""

from __future__ import annotations

import importlib

from sweattest.bench.instruments.roles import Identity, Person, Reading
from sweattest.core.clock import Clock
from sweattest.core.instruments import InstrumentConfig

DRIVERS = {"mt-sics": ("drivers.balance", "Balance"), "sartorius-sbi": ("drivers.sartorius", "SartoriusBalance")}


class SerialBalance:
    def __init__(self, config: InstrumentConfig, driver):
        self.config = config
        self.driver = driver

    @classmethod
    def open(cls, config: InstrumentConfig, clock: Clock) -> SerialBalance:
        module, name = DRIVERS[config.model]
        driver_class = getattr(importlib.import_module(module), name)
        assert config.port is not None
        return cls(config, driver_class.from_url(config.port, baudrate=config.baudrate))

    def identify(self) -> Identity:
        return parse_identity(self.driver.identify())

    def weigh(self, site: str, purpose: str, person: Person) -> Reading:
        return Reading(self.driver.stable_weight())

    def close(self) -> None:
        self.driver.close()


def parse_identity(text: str) -> Identity:
    """``MAKER,MODEL,SERIAL,FIRMWARE`` (SCPI style) or the MT-SICS ``MODEL CAPACITY, SN SERIAL``."""
    if text.count(",") == 3:
        maker, model, serial, firmware = (p.strip() for p in text.split(","))
        return Identity(maker, model, serial, firmware)
    model, _, serial = text.partition(", SN ")
    words = model.split()
    maker = "SWEATTEST" if "SIM" in (w.upper() for w in words) else "Mettler Toledo"
    return Identity(maker, " ".join(words[:1]) or None, serial.strip() or None)
