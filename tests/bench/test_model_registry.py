"""A new instrument model is one module and one line in sweattest/core/instrument_models.py: registered there
(here: an analyzer that exists only in the tests), it is accepted by the lab configuration, served on sim:// and
by ``sweattest simulate``, its simulator's faults are a scenario's, and the simulated bench of ``validate`` and
``run --simulate`` runs on it. The docs list every registered model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import serial

import drivers  # noqa: F401 - registers sim://
from drivers.simulators.clocks import set_clock
from sweattest.bench import qualification
from sweattest.bench.instruments.registry import open_instrument
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.bench.simulation.simulators import simulated_instruments
from sweattest.bench.simulation.world import simulated_bench, simulator
from sweattest.cli.main import build_parser
from sweattest.cli.simulate import _build
from sweattest.core import instrument_models
from sweattest.core.clock import VirtualClock
from sweattest.core.config import LabConfig, parse_config
from sweattest.core.errors import ConfigError, ValidationError
from sweattest.core.instrument_models import ROLES, Model
from sweattest.core.instruments import InstrumentConfig
from sweattest.core.protocol import load_protocol
from tests.bench.acme_analyzer import AcmeAnalyzer, AcmeSim

ROOT = Path(__file__).resolve().parents[2]
ACME = Model("analyzer", "acme", "tests.bench.acme_analyzer:AcmeAnalyzer",
             sim="acme", simulator="tests.bench.acme_analyzer:AcmeSim")


@pytest.fixture
def acme(monkeypatch):
    """The acme analyzer registered first among the analyzers: the one a simulated bench opens."""
    monkeypatch.setattr(instrument_models, "MODELS", (ACME, *instrument_models.MODELS))


def test_the_lab_configuration_accepts_a_registered_model_and_names_it_among_the_known(acme):
    config = parse_config({"instruments": [{"role": "analyzer", "model": "acme", "port": "sim://acme"}]},
                          Path("lab.toml"))
    assert [(i.role, i.model, i.wired) for i in config.instruments] == [("analyzer", "acme", True)]
    with pytest.raises(ConfigError, match="'zeta' is not a known analyzer model; use one of acme, line, manual"):
        parse_config({"instruments": [{"role": "analyzer", "model": "zeta", "port": "sim://acme"}]},
                     Path("lab.toml"))


def test_its_simulator_is_served_on_sim_and_by_simulate(acme):
    port = serial.serial_for_url("sim://acme?seed=2", timeout=1)
    assert isinstance(port.simulator, AcmeSim)
    args = build_parser("simulate").parse_args(["simulate", "chloridometer", "--model", "acme", "--seed", "2"])
    assert isinstance(_build(args), AcmeSim)
    help_text = build_parser("simulate").format_help() + _simulate_help()
    assert "chloridometer: acme, line" in help_text
    with pytest.raises(ConfigError, match="unknown --model 'zeta'; models: acme, line"):
        _build(build_parser("simulate").parse_args(["simulate", "chloridometer", "--model", "zeta"]))


def _simulate_help() -> str:
    parser = build_parser("simulate")
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices["simulate"].format_help()


def test_a_scenario_injects_exactly_the_faults_of_its_simulator(acme):
    doc = {"sites": {"left_forearm": {"sweat_rate_g_m2_min": 2, "chloride_mmol_l": 45}},
           "faults": [{"device": "chloridometer", "kind": "E03"}]}
    assert parse_scenario(doc, ("left_forearm",)).faults[0].kind == "E03"
    with pytest.raises(ValidationError, match="'E01' is not a chloridometer fault; use one of E03, silent"):
        parse_scenario({**doc, "faults": [{"device": "chloridometer", "kind": "E01"}]}, ("left_forearm",))


def test_the_simulated_bench_and_the_qualification_run_on_the_first_simulated_model(acme):
    analyzer = next(c for c in simulated_instruments("bench-1", seed=4) if c.role == "analyzer")
    assert (analyzer.model, analyzer.port) == ("acme", "sim://acme?seed=4&clock=bench-1")
    clock = VirtualClock()
    rows = qualification.instruments(LabConfig(), clock)
    assert [(name, ok) for name, ok, _ in rows] == [("instrument inducer scpi", True),
                                                  ("instrument analyzer acme", True),
                                                  ("instrument balance mt-sics", True)]
    doc = {"sites": {"left_forearm": {"sweat_rate_g_m2_min": 2, "chloride_mmol_l": 45}},
           "faults": [{"device": "chloridometer", "kind": "E03"}]}
    bench = simulated_bench(clock, load_protocol("macroduct"), parse_scenario(doc, ("left_forearm",)),
                            ("left_forearm",))
    try:
        assert isinstance(bench.analyzer, AcmeAnalyzer) and isinstance(simulator(bench.analyzer), AcmeSim)
    finally:
        bench.close()


def test_a_configured_instrument_of_the_model_opens_through_its_class(acme):
    clock = VirtualClock()
    set_clock(clock, "acme-open")
    opened = open_instrument(InstrumentConfig("analyzer", "acme", port="sim://acme?clock=acme-open"), clock)
    try:
        assert isinstance(opened, AcmeAnalyzer) and isinstance(opened.driver.port.simulator, AcmeSim)
    finally:
        opened.close()


def test_the_docs_list_every_registered_model():
    config_md = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    listed = re.search(r'^model = "scpi" +# (.*)$', config_md, re.M).group(1)
    assert listed == "; ".join(f"{role}: {' | '.join(instrument_models.models(role))}" for role in ROLES)
    simulators_md = (ROOT / "docs" / "simulators.md").read_text(encoding="utf-8")
    for role in ROLES:
        for other in instrument_models.simulated(role)[1:]:
            assert f"--model {other.name}" in simulators_md, f"docs/simulators.md does not show {other.name}"
