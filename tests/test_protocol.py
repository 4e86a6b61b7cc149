"""Protocols are data: validated on load with one error naming the file, the key and the problem."""

import time

import pytest

from sweattest.core.errors import ConfigError, TamperError
from sweattest.core.protocol import (
    list_protocols,
    load_protocol,
    parse_protocol_text,
    protocol_from_snapshot,
    protocol_hash,
)
from sweattest.core.units import Q_


def test_shipped_methods_hold_the_sheet_values():
    macro = load_protocol("macroduct")
    assert macro.current == Q_(1.5, "mA") and macro.duration == Q_(5, "min")
    assert macro.minimum_sample == Q_(15, "uL") and not macro.gravimetric
    gc = load_protocol("gibson_cooke")
    assert gc.minimum_sample == Q_(75, "mg") and gc.gravimetric
    assert gc.max_collection_time == Q_(30, "min")
    assert all(src.strip() for src in macro.sources.values())
    assert [p.stem for p in list_protocols()] == ["gibson_cooke", "macroduct"]


def _write(tmp_path, text: str):
    base = (load_protocol("macroduct").path).read_text(encoding="utf-8")
    path = tmp_path / "lab.toml"
    path.write_text(text(base) if callable(text) else text, encoding="utf-8")
    return path


@pytest.mark.parametrize("edit, message", [
    (lambda b: b.replace('"1.5 mA"', '"5 mA"'), r"stimulation.current: 5 mA exceeds the hard limit of 4 mA"),
    (lambda b: b.replace('"1.5 mA"', '"1.5 mg"'), r"stimulation.current: 1.5 mg is not a current"),
    (lambda b: b.replace('"15 uL"', '"15 mg"'), r"collection.minimum_sample: 15 mg is not a volume"),
    (lambda b: b.replace('"5 min"', '"0.5 min"'), r"stimulation.duration: 0.5 min is out of range"),
    (lambda b: b.replace('"volumetric"', '"guess"'), r"collection.kind: 'guess' is not allowed"),
    (lambda b: b.replace('tolerance =', 'tolerence ='), r"stimulation.tolerence: unknown key"),
    (lambda b: b.replace(', source = "CLSI C34: collection not longer than 30 minutes"', ""),
     r"collection.max_time: every value needs a 'source'"),
    (lambda b: b.replace("[analysis]", "[analysis\n"), r"not valid TOML"),
    (lambda b: "\n".join(ln for ln in b.splitlines() if not ln.startswith("area")), r"collection.area: missing"),
])
def test_a_bad_file_names_file_key_and_problem(tmp_path, edit, message):
    path = _write(tmp_path, edit)
    with pytest.raises(ConfigError, match=message) as err:
        load_protocol(path)
    assert str(path) in str(err.value)


def test_unknown_method_lists_the_known_ones():
    with pytest.raises(ConfigError, match="unknown method 'nope'; known methods: gibson_cooke, macroduct"):
        load_protocol("nope")


def test_a_lab_folder_adds_a_method_without_code(tmp_path):
    base = load_protocol("macroduct").path.read_text(encoding="utf-8")
    (tmp_path / "macroduct_infant.toml").write_text(base.replace('name = "macroduct"',
                                                                 'name = "macroduct_infant"'))
    assert load_protocol("macroduct_infant", tmp_path).name == "macroduct_infant"


@pytest.mark.parametrize("old, new, message", [
    ('"0.15 mA"', '"nan mA"', r"stimulation.tolerance: 'nan mA' is not a number"),
    ('"0.15 mA"', 'nan', r"stimulation.tolerance: nan is not a finite number"),
    ('"2 s"', '"inf s"', r"stimulation.grace_time: 'inf s' is not a number"),
    ('"2 s"', 'inf', r"stimulation.grace_time: inf is not a finite number"),
    ('"1.5 mA"', '"1e400 mA"', r"stimulation.current: 1e400: the exponent is outside -30 to 30"),
    ('"1.5 mA"', '1e400', r"stimulation.current: inf is not a finite number"),
    ('"5 min"', '"9**9**6 s"', r"stimulation.duration: cannot read '9\*\*9\*\*6' as a number"),
    ('"1.5 mA"', '"2*0.75 mA"', r"stimulation.current: cannot read '2\*0.75' as a number"),
    ('"15 uL"', '"15,5 uL"', r"collection.minimum_sample: 15,5: use a decimal point \(15.5\), not a comma"),
    ('"5 min"', '"0.0003 h"', r"stimulation.duration: 0.0003 h is out of range; it must be above 1 min"),
    ('"1.5 mA"', '"0.005 A"', r"stimulation.current: 0.005 A exceeds the hard limit of 4 mA"),
])
def test_a_value_that_is_not_a_finite_number_names_file_and_key(tmp_path, old, new, message):
    path = _write(tmp_path, lambda b: b.replace(old, new, 1))
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=message) as err:
        load_protocol(path)
    assert str(path) in str(err.value)
    assert time.perf_counter() - started < 0.5  # refused before any arithmetic, not after it


def test_bounds_compare_after_conversion(tmp_path):
    path = _write(tmp_path, lambda b: b.replace('"1.5 mA"', '"0.0015 A"', 1).replace('"5 min"', '"300 s"', 1))
    proto = load_protocol(path)
    assert proto.current == Q_(1.5, "mA") and proto.duration == Q_(5, "min")

def test_a_method_from_text_keeps_its_text_and_names_its_source_in_errors():
    text = load_protocol("macroduct").path.read_text(encoding="utf-8")
    proto = parse_protocol_text(text, "run R1 snapshot")
    assert proto.text == text and proto.sha256 == protocol_hash(text) and proto == load_protocol("macroduct")
    with pytest.raises(ConfigError, match=r"^run R1 snapshot: collection.minimum_sample: 15 mg is not a volume"):
        parse_protocol_text(text.replace('"15 uL"', '"15 mg"'), "run R1 snapshot")
    with pytest.raises(TamperError, match="does not match its hash"):
        protocol_from_snapshot(text + "\n", proto.sha256, "run R1")
    assert protocol_from_snapshot(text, proto.sha256, "run R1") == proto
