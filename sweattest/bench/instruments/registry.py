"""Opening an instrument through its model's class: the models and the class of each are the one list in
sweattest/core/instrument_models.py (a new model is one module implementing its role and one line there)."""

from __future__ import annotations

import os

from sweattest.core import instrument_models
from sweattest.core.clock import Clock
from sweattest.core.errors import DeviceError
from sweattest.core.instruments import InstrumentConfig


def open_instrument(config: InstrumentConfig, clock: Clock, **options):
    """Open one configured instrument through its model's class; DeviceError if it cannot be opened."""
    if config.port is not None and "://" not in config.port and not os.path.exists(config.port):
        raise DeviceError(f"{config.label}: port {config.port} does not exist.", device=config.role,
                          action="Check that the instrument is connected and switched on, and the device name "
                                 "(ls /dev/serial/by-id/ lists the serial devices).")
    cls = instrument_models.load(instrument_models.model(config.role, config.model).opens)
    if config.model == "manual":
        return cls.open(config, clock, **options)
    return cls.open(config, clock)
