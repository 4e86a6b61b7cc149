"""Lab configuration of the limits guidelines set differently: [eligibility] (CFF 2017 / CFF 2007 defaults;
ACB 2014 for UK labs) and [analysis] max_delay (CFF 2017 statement 5; default the same day)."""

from __future__ import annotations

import pytest

from sweattest.core.config import LabConfig, load_config
from sweattest.core.errors import ConfigError
from sweattest.core.units import Q_


def test_defaults_are_the_cff_values():
    cfg = LabConfig()
    assert cfg.eligibility.as_dict() == {"min_age": "48 h", "recommended_age": "2 week", "min_weight": "2 kg",
                                         "min_corrected_ga": "36 week"}
    assert cfg.analysis_delay.as_dict() == {"max_delay": "same day", "timezone": "UTC"}


def test_a_uk_lab_sets_acb_2014_limits(tmp_path):
    path = tmp_path / "sweattest.toml"
    path.write_text('[lab]\ntimezone = "Europe/London"\n[eligibility]\nmin_age = "2 weeks"\nmin_weight = "3 kg"\n'
                    '[analysis]\nmax_delay = "24 h"\n', encoding="utf-8")
    cfg = load_config(path)
    assert cfg.eligibility.min_age == Q_(2, "week") and cfg.eligibility.min_weight == Q_(3, "kg")
    assert cfg.eligibility.min_corrected_ga == Q_(36, "week")  # unset keys keep their defaults
    assert cfg.analysis_delay.max_delay == Q_(24, "h") and cfg.analysis_delay.timezone == "Europe/London"


@pytest.mark.parametrize(("text", "words"), [
    ('[eligibility]\nmin_age = "48"\n', ["[eligibility] min_age", "no unit"]),
    ('[eligibility]\nmin_weight = "2 weeks"\n', ["[eligibility] min_weight", "not a mass"]),
    ('[eligibility]\nmin_weight = "0 kg"\n', ["min_weight", "above 0"]),
    ('[eligibility]\nmin_age = "3 weeks"\n', ["recommended_age is below min_age"]),
    ('[eligibility]\nmin_age = 48\n', ["[eligibility] min_age", "text in quotes"]),
    ('[eligibility]\nmax_weight = "9 kg"\n', ["[eligibility] unknown key 'max_weight'"]),
    ('[analysis]\nmax_delay = "soon"\n', ["[analysis] max_delay"]),
    ('[analysis]\nmax_delay = "4 kg"\n', ["[analysis] max_delay", "not a time"]),
])
def test_bad_limits_name_the_file_and_key(tmp_path, text, words):
    path = tmp_path / "sweattest.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    for w in words:
        assert w in str(err.value)
