"""Fixtures: an instant virtual clock registered for sim:// ports, and a two-channel simulated inducer."""

from __future__ import annotations

import itertools

import pytest

import drivers  # noqa: F401 - registers sim://
from drivers.inducer import Inducer
from drivers.simulators.clocks import set_clock
from sweattest.core.clock import VirtualClock

_names = itertools.count()


@pytest.fixture
def clock():
    clock = VirtualClock()
    name = f"runner{next(_names)}"
    set_clock(clock, name)
    clock.name = name
    yield clock
    set_clock(None, name)


@pytest.fixture
def inducer(clock):
    driver = Inducer.from_url(f"sim://inducer?channels=2&load=1:10kohm,2:12kohm&seed=3&clock={clock.name}")
    yield driver
    driver.close()
