"""An analyzer model that exists only in the tests ("acme"): the line protocol under another model name, with a
simulator of its own that can inject fewer faults. Registered by one line in the models' list, it must appear
everywhere a model does (tests/bench/test_model_registry.py)."""

from __future__ import annotations

from drivers.simulators.chloridometer import ChloridometerSim
from sweattest.bench.instruments.line_analyzer import LineAnalyzer

#: the faults the acme simulator offers a scenario
FAULTS = ("E03", "silent")


class AcmeSim(ChloridometerSim):
    name = "acme"


class AcmeAnalyzer(LineAnalyzer):
    """Opened exactly as the line analyzer."""
