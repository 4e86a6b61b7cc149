"""Fixtures: an instant virtual clock registered for ``sim://...&clock=NAME`` ports."""

from __future__ import annotations

import itertools

import pytest

import drivers  # noqa: F401 - registers sim://
from drivers.simulators.clocks import set_clock
from sweattest.core.clock import VirtualClock

_names = itertools.count()


@pytest.fixture
def vclock():
    """An instant VirtualClock; ``vclock.name`` is its registration for sim:// URLs."""
    clock = VirtualClock()
    clock.name = f"t{next(_names)}"
    set_clock(clock, clock.name)
    yield clock
    set_clock(None, clock.name)
