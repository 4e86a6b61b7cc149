"""The lab's choices among sourced rules: [interpretation] difference_limit (no guideline gives the number;
Mackay 2008) and [adequacy] criterion (CLSI C34 / CFF 2007 minimum sample, or the Macroduct 3710 / ACB 2014
sweat rate; default per range set). A run keeps the settings it started with."""

from __future__ import annotations

import copy

import pytest

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.bench.order import parse_order
from sweattest.bench.service import perform_simulated_run
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.core.clock import VirtualClock
from sweattest.core.config import LabConfig, load_config
from sweattest.core.errors import ConfigError
from sweattest.core.units import Q_
from sweattest.record.runs import load_run
from sweattest.record.store.store import open_store
from tests.golden.build import START


def _config(tmp_path, text):
    path = tmp_path / "sweattest.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_defaults_per_range_set_and_the_lab_choice(tmp_path):
    assert LabConfig().rules() == {"difference_limit": "10 mmol/L", "adequacy": "minimum_sample"}
    uk = _config(tmp_path, '[report]\nranges = "uk_2014"\n')
    assert uk.adequacy_criterion == "sweat_rate"  # the UK guideline's criterion when the lab chooses none
    chosen = _config(tmp_path, '[adequacy]\ncriterion = "sweat_rate"\n'
                               '[interpretation]\ndifference_limit = "8 mmol/L"\n')
    assert chosen.rules() == {"difference_limit": "8 mmol/L", "adequacy": "sweat_rate"}
    assert chosen.difference_limit == Q_(8, "mmol/L")


@pytest.mark.parametrize(("text", "words"), [
    ('[adequacy]\ncriterion = "volume"\n', ["[adequacy] criterion = 'volume'", "minimum_sample", "sweat_rate"]),
    ('[interpretation]\ndifference_limit = "50 mmol/L"\n', ["difference_limit", "1 to 30 mmol/L"]),
    ('[interpretation]\ndifference_limit = "10 mg"\n', ["[interpretation] difference_limit"]),
])
def test_bad_settings_name_the_file_and_key(tmp_path, text, words):
    with pytest.raises(ConfigError) as exc:
        _config(tmp_path, text)
    for word in words:
        assert word in str(exc.value)


def test_a_run_is_judged_by_the_criterion_it_started_with(tmp_path):
    # 0.95 g/m2/min over 30 min is about 15.1 uL: adequate by the minimum sample, QNS by the sweat rate
    scenario = copy.deepcopy(DEMO_SCENARIO)
    scenario["sites"]["left_forearm"]["sweat_rate_g_m2_min"] = 0.95
    order = parse_order(copy.deepcopy(DEMO_ORDER))
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}", VirtualClock(start=START))
    try:
        result = perform_simulated_run(order, parse_scenario(scenario, order.sites), store=store,
                                       clock=VirtualClock(start=START), out_dir=tmp_path / "out",
                                       config=LabConfig(adequacy="sweat_rate"))
        left = result.record.sites[0]
        assert left.sweat_rate_g_m2_min < 1 and left.adequate is False and left.status == "qns"
        assert left.amounts.sample >= 15  # the minimum sample alone would have passed it
        assert result.record.method.adequacy.criterion == "sweat_rate"
        run, order_doc = load_run(store, result.run.run_id)  # replayed later: the same criterion
        assert order_doc["rules"]["adequacy"] == "sweat_rate" and run.site("left_forearm").state == "result_ready"
        assert run.site("left_forearm").adequacy.adequate is False
    finally:
        store.close()
