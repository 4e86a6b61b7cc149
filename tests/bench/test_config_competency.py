"""`[competency]` in the lab configuration: the lab's minimum of patient tests per operator a year (default 10;
UK 2014 asks 50); a wrong value is one error naming the file, the key and the fix."""

import pytest

from sweattest.core.config import load_config
from sweattest.core.errors import ConfigError


def _config(tmp_path, text):
    path = tmp_path / "lab.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_the_default_is_ten_and_the_lab_sets_its_own(tmp_path):
    assert _config(tmp_path, "").competency.min_tests_per_year == 10
    assert _config(tmp_path, "[competency]\nmin_tests_per_year = 50\n").competency.min_tests_per_year == 50


@pytest.mark.parametrize("text, message", [
    ('[competency]\nmin_tests_per_year = "10"\n', "min_tests_per_year = '10': write a whole number"),
    ("[competency]\nmin_tests_per_year = -1\n", "min_tests_per_year = -1: write a whole number"),
    ("[competency]\nmin_tests_per_year = 10.5\n", "min_tests_per_year = 10.5: write a whole number"),
    ("[competency]\nmin_tests = 10\n", "[competency] unknown key 'min_tests'; known keys: min_tests_per_year"),
    ("competency = 10\n", "competency must be a section ([competency]), not a value"),
])
def test_a_wrong_minimum_is_refused_with_the_fix(tmp_path, text, message):
    with pytest.raises(ConfigError) as err:
        _config(tmp_path, text)
    assert str(err.value).startswith(str(tmp_path / "lab.toml")) and message in str(err.value)
