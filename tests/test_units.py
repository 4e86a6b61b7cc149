"""Units travel with numbers; a wrong dimension names where it came from."""

import pytest

from sweattest.core.errors import UnitError
from sweattest.core.units import Q_, format_quantity, parse_quantity


@pytest.mark.parametrize("text, kind, expected", [
    ("1.5 mA", "current", Q_(1.5, "mA")),
    ("15 uL", "volume", Q_(15, "uL")),
    ("15 µL", "volume", Q_(15, "uL")),
    ("75 mg", "mass", Q_(75, "mg")),
    ("7.5 mA·min", "charge", Q_(7.5, "mA*min")),
    ("45 mmol/L", "concentration", Q_(45, "mmol/L")),
    ("1 g/m**2/min", "sweat_rate", Q_(1, "g/m**2/min")),
])
def test_quantities_parse_with_their_units(text, kind, expected):
    assert parse_quantity(text, kind, "test") == expected


def test_a_current_given_in_mg_names_its_origin():
    with pytest.raises(UnitError, match=r"protocols/x.toml: stimulation.current: 1.5 mg is not a current"):
        parse_quantity("1.5 mg", "current", "protocols/x.toml: stimulation.current")


@pytest.mark.parametrize("value", [1.5, "1.5", "", "fast", None])
def test_numbers_without_units_and_garbage_are_refused(value):
    with pytest.raises(UnitError, match="where"):
        parse_quantity(value, "current", "where")


def test_laboratory_spelling_of_litre():
    assert format_quantity(Q_(22, "uL")) == "22 µL"
    assert format_quantity(Q_(45, "mmol/L")) == "45 mmol/L"
