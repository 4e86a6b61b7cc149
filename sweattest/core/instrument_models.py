"""The instrument models sweattest knows: the one list. A new model is its module (a class implementing its role,
sweattest/bench/instruments/roles.py, with an ``open(config, clock)`` class method; its driver and simulator
under drivers/) and one line in ``MODELS``.

Everything else is derived from this list: the models the lab configuration accepts (core/instruments.py), the
class that opens an instrument (bench/instruments/registry.py), the ``sim://`` devices
(drivers/urlhandler/protocol_sim.py), ``sweattest simulate`` and its ``--model``, the fault kinds a scenario may
inject, and the simulated bench of ``run --simulate``, the demo and ``sweattest validate`` (the first simulated
model of each role). Classes are named by ``module:Class`` and imported only when one is opened, so this list
imports nothing and every layer may read it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

ROLES = ("inducer", "balance", "analyzer")
#: The name of each role's simulated instrument in ``sweattest simulate DEVICE`` and in a scenario's faults.
SIMULATED_DEVICE = {"inducer": "inducer", "balance": "balance", "analyzer": "chloridometer"}


@dataclass(frozen=True)
class Model:
    role: str
    name: str
    #: ``module:Class`` implementing the role (its ``open(config, clock)`` opens one instrument)
    opens: str
    #: False for a model with no host link: no port, nothing to identify over a wire (the tech is asked)
    wired: bool = True
    #: the ``sim://`` device that simulates this model, and its simulator ``module:Class``
    sim: str | None = None
    simulator: str | None = None


_BENCH = "sweattest.bench.instruments"
_SIMS = "drivers.simulators"
MODELS: tuple[Model, ...] = (
    Model("inducer", "scpi", f"{_BENCH}.scpi_inducer:ScpiInducer",
          sim="inducer", simulator=f"{_SIMS}.inducer:InducerSim"),
    Model("inducer", "standalone", f"{_BENCH}.standalone_inducer:StandaloneInducer", wired=False),
    Model("balance", "mt-sics", f"{_BENCH}.serial_balance:SerialBalance",
          sim="balance", simulator=f"{_SIMS}.balance:BalanceSim"),
    Model("balance", "sartorius-sbi", f"{_BENCH}.serial_balance:SerialBalance",
          sim="sartorius", simulator=f"{_SIMS}.sartorius:SartoriusSim"),
    Model("balance", "manual", f"{_BENCH}.manual:ManualBalance", wired=False),
    Model("analyzer", "line", f"{_BENCH}.line_analyzer:LineAnalyzer",
          sim="chloridometer", simulator=f"{_SIMS}.chloridometer:ChloridometerSim"),
    Model("analyzer", "manual", f"{_BENCH}.manual:ManualAnalyzer", wired=False),
)


def models(role: str) -> tuple[str, ...]:
    """The names of the models of ``role``, in the order of the list."""
    return tuple(m.name for m in MODELS if m.role == role)


def model(role: str, name: str) -> Model:
    """The registered model ``name`` of ``role``; KeyError if there is none."""
    for m in MODELS:
        if m.role == role and m.name == name:
            return m
    raise KeyError((role, name))


def simulated(role: str) -> tuple[Model, ...]:
    """The models of ``role`` that have a simulator; the first is the one a simulated bench uses."""
    return tuple(m for m in MODELS if m.role == role and m.sim is not None)


def role_of(device: str) -> str:
    """The role whose simulated instrument ``device`` names (``SIMULATED_DEVICE``)."""
    return next(role for role, name in SIMULATED_DEVICE.items() if name == device)


def simulators() -> dict[str, str]:
    """``sim://`` device name -> its simulator's ``module:Class``."""
    return {m.sim: m.simulator for m in MODELS if m.sim is not None and m.simulator is not None}


def load(target: str) -> Any:
    """The object a ``module:Class`` names (its module imported now)."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
