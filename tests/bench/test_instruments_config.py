"""The [[instruments]] tables of the lab configuration: every mistake stops the load with the file, the table
and the key named; nothing else is read from a wrong file."""

from __future__ import annotations

import datetime as dt

import pytest

from sweattest.core.config import load_config
from sweattest.core.errors import ConfigError

GOOD = """
[[instruments]]
role = "inducer"
model = "scpi"
port = "/dev/ttyUSB0"
baudrate = 9600
serial_number = "SN-4711"
calibration_due = 2027-03-01

[[instruments]]
role = "analyzer"
model = "manual"
serial_number = "CC3400-17"
"""


def load(tmp_path, text):
    path = tmp_path / "sweattest.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_a_bench_is_read_from_its_tables(tmp_path):
    config = load(tmp_path, GOOD)
    inducer, analyzer = config.instruments
    assert (inducer.role, inducer.model, inducer.port, inducer.baudrate) == ("inducer", "scpi", "/dev/ttyUSB0", 9600)
    assert inducer.serial_number == "SN-4711" and inducer.calibration_due == dt.date(2027, 3, 1)
    assert (analyzer.model, analyzer.port) == ("manual", None)


@pytest.mark.parametrize("table, message", [
    ('role = "inducer"\nmodel = "webster"\nport = "/dev/ttyUSB0"',
     "[[instruments]] #1: model = 'webster' is not a known inducer model; use one of scpi, standalone"),
    ('role = "centrifuge"\nmodel = "x"', "role = 'centrifuge': use one of inducer, balance, analyzer"),
    ('role = "inducer"\nmodel = "scpi"', "[[instruments]] #1: port is missing"),
    ('role = "inducer"\nmodel = "scpi"\nport = "COM3"', "port = 'COM3': give the device path"),
    ('role = "inducer"\nmodel = "scpi"\nport = "http://lab/x"', "unknown URL scheme 'http'"),
    ('role = "balance"\nmodel = "manual"\nport = "/dev/ttyUSB1"', "a manual balance has no host link"),
    ('role = "inducer"\nmodel = "scpi"\nport = "/dev/ttyUSB0"\nbaudrate = 9601', "baudrate = 9601: use one of"),
    ('role = "inducer"\nmodel = "scpi"\nport = "/dev/ttyUSB0"\ncalibration_due = "soon"',
     "calibration_due = 'soon': write a date without quotes"),
    ('role = "inducer"\nmodel = "scpi"\nport = "/dev/ttyUSB0"\nspeed = 3', "unknown key 'speed'"),
    ('role = "analyzer"\nmodel = "line"\nport = "/dev/ttyUSB0"\nchannels = 2', "channels is for an inducer only"),
])
def test_a_wrong_table_names_the_file_the_table_and_the_key(tmp_path, table, message):
    with pytest.raises(ConfigError) as err:
        load(tmp_path, "[[instruments]]\n" + table + "\n")
    assert str(tmp_path / "sweattest.toml") in str(err.value)
    assert message in str(err.value)


def test_two_instruments_on_one_port_are_refused(tmp_path):
    text = ('[[instruments]]\nrole = "inducer"\nmodel = "scpi"\nport = "/dev/ttyUSB0"\n'
            '[[instruments]]\nrole = "balance"\nmodel = "mt-sics"\nport = "/dev/ttyUSB0"\n')
    with pytest.raises(ConfigError, match=r"#2: port '/dev/ttyUSB0' is also the port of #1; each instrument "
                                          "needs its own port"):
        load(tmp_path, text)


def test_a_role_configured_twice_is_refused(tmp_path):
    text = ('[[instruments]]\nrole = "analyzer"\nmodel = "manual"\n'
            '[[instruments]]\nrole = "analyzer"\nmodel = "line"\nport = "/dev/ttyUSB3"\n')
    with pytest.raises(ConfigError, match=r"#2: role 'analyzer' is configured twice \(also #1\)"):
        load(tmp_path, text)


def test_instruments_must_be_tables(tmp_path):
    with pytest.raises(ConfigError, match="write each as \\[\\[instruments\\]\\]"):
        load(tmp_path, 'instruments = ["inducer"]\n')


def test_the_second_entry_rule_is_a_boolean(tmp_path):
    assert load(tmp_path, "[entry]\nsecond_person = true\n").second_entry_by_second_person is True
    with pytest.raises(ConfigError, match="second_person = 'yes': write true or false"):
        load(tmp_path, '[entry]\nsecond_person = "yes"\n')


def test_what_a_patient_run_on_an_instrument_not_verified_needs_is_the_labs_choice(tmp_path):
    assert load(tmp_path, GOOD).unrecorded_calibration == "reason"
    assert load(tmp_path, GOOD + '[calibration]\nunrecorded = "refuse"\nanalyzer = "30 d"\n').unrecorded_calibration \
        == "refuse"
    with pytest.raises(ConfigError, match=r"\[calibration\] unrecorded = 'allow': use \"reason\" .* or \"refuse\""):
        load(tmp_path, GOOD + '[calibration]\nunrecorded = "allow"\n')
