"""The models sweattest knows, by role: a new model is one module with an ``open(config, clock)`` class method
implementing its role (roles.py), and one line here."""

from __future__ import annotations

import importlib
import os

from sweattest.core.clock import Clock
from sweattest.core.errors import DeviceError
from sweattest.core.instruments import MODELS, InstrumentConfig

REGISTRY: dict[tuple[str, str], str] = {
    ("inducer", "scpi"): "sweattest.bench.instruments.scpi_inducer:ScpiInducer",
    ("inducer", "standalone"): "sweattest.bench.instruments.standalone_inducer:StandaloneInducer",
    ("balance", "mt-sics"): "sweattest.bench.instruments.serial_balance:SerialBalance",
    ("balance", "sartorius-sbi"): "sweattest.bench.instruments.serial_balance:SerialBalance",
    ("balance", "manual"): "sweattest.bench.instruments.manual:ManualBalance",
    ("analyzer", "line"): "sweattest.bench.instruments.line_analyzer:LineAnalyzer",
    ("analyzer", "manual"): "sweattest.bench.instruments.manual:ManualAnalyzer",
}
assert set(REGISTRY) == {(role, model) for role, models in MODELS.items() for model in models}


def open_instrument(config: InstrumentConfig, clock: Clock, **options):
    """Open one configured instrument through its model's class; DeviceError if it cannot be opened."""
    if config.port is not None and "://" not in config.port and not os.path.exists(config.port):
        raise DeviceError(f"{config.label}: port {config.port} does not exist.", device=config.role,
                          action="Check that the instrument is connected and switched on, and the device name "
                                 "(ls /dev/serial/by-id/ lists the serial devices).")
    module, name = REGISTRY[(config.role, config.model)].split(":")
    cls = getattr(importlib.import_module(module), name)
    if config.model == "manual":
        return cls.open(config, clock, **options)
    return cls.open(config, clock)
