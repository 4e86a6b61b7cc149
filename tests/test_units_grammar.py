"""One grammar for every number a person, a file or a device gives: a plain decimal number and a unit.

No arithmetic is ever evaluated, so nothing typed can freeze the program; NaN and infinity, which pass
every range check, are refused; a decimal comma is refused with the fix rather than read as thousands.
"""

import math
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sweattest.core.errors import UnitError, ValidationError
from sweattest.core.units import NUMBER, Q_, number_in, parse_number, parse_quantity


@pytest.mark.parametrize("text, kind, expected", [
    ("1.5 mA", "current", Q_(1.5, "mA")),
    ("1.5mA", "current", Q_(1.5, "mA")),
    ("-0.25 mA", "current", Q_(-0.25, "mA")),
    ("+2 mA", "current", Q_(2, "mA")),
    ("1.500000E-03 A", "current", Q_(1.5, "mA")),
    ("15e-1 mA", "current", Q_(1.5, "mA")),
    ("1e30 mA", "current", Q_(1e30, "mA")),
    ("35.5 uL", "volume", Q_(35.5, "uL")),
    ("35.5 µL", "volume", Q_(35.5, "uL")),
    ("35.5 μL", "volume", Q_(35.5, "uL")),
    ("0.05 mL", "volume", Q_(50, "uL")),
    ("45 mmol/L", "concentration", Q_(45, "mmol/L")),
    ("1 g/m**2/min", "sweat_rate", Q_(1, "g/m**2/min")),
    ("7.5 mA*min", "charge", Q_(7.5, "mA*min")),
    ("7.5 mA·min", "charge", Q_(7.5, "mA*min")),
    ("0.5 %", "fraction", Q_(0.5, "percent")),
    ("0.5 percent", "fraction", Q_(0.5, "percent")),
    ("5.3 cm**2", "area", Q_(5.3, "cm**2")),
    ("10 kohm", "resistance", Q_(10, "kohm")),
    ("  2 min  ", "time", Q_(2, "min")),
])
def test_accepted(text, kind, expected):
    q = parse_quantity(text, kind, "where")
    assert q == expected and math.isfinite(q.magnitude)


@pytest.mark.parametrize("text, message", [
    ("NaN", "'NaN' is not a number"),
    ("nan mA", "'nan mA' is not a number"),
    ("inf", "'inf' is not a number"),
    ("-inf mA", "'-inf mA' is not a number"),
    ("Infinity mA", "'Infinity mA' is not a number"),
    ("9**9**9", "cannot read '9**9**9' as a number"),
    ("9**9**6 s", "cannot read '9**9**6' as a number"),
    ("9 ** 9 mA", "cannot read '9 ** 9 mA' as one number and a unit"),
    ("1e999999 mA", "1e999999: the exponent is outside -30 to 30"),
    ("1e31 mA", "1e31: the exponent is outside -30 to 30"),
    ("2*3 mA", "cannot read '2*3' as a number"),
    ("(1) mA", "cannot read '(1)' as a number"),
    ("1.5 (mA)", "cannot read '1.5 (mA)' as one number and a unit"),
    ("35,5 uL", "35,5: use a decimal point (35.5), not a comma"),
    ("1,000 uL", "1,000: use a decimal point (1.000), not a comma; write numbers without thousands separators"),
    ("1 000 uL", "cannot read '1 000 uL' as one number and a unit"),
    ("0x10 mA", "cannot read '0x10' as a number"),
    ("0x10", "cannot read '0x10' as a number"),
    ("1_000 uL", "cannot read '1_000' as a number"),
    ("\u0663 mA", "cannot read '\u0663' as a number"),  # an Arabic-Indic three
    (".5 mA", "cannot read '.5' as a number"),
    ("", "empty value; write a current like '1.5 mA'"),
    ("   ", "empty value"),
    ("mA", "'mA' has no number; write a current like '1.5 mA'"),
    ("1.5", "1.5 has no unit; write a current like '1.5 mA'"),
    ("1.5 mg", "1.5 mg is not a current (expected units like mA)"),
    ("1.5 blorps", "'blorps' is not a known unit"),
    ("1.5 mA/", "cannot read '1.5 mA/' as one number and a unit"),
    ("1.5 mA extra", "cannot read '1.5 mA extra' as one number and a unit"),
    ("1" * 31 + " mA", "has more than 30 digits"),
    ("1" * 70 + " mA", "is too long for a current"),
])
def test_refused_with_a_message_that_says_what_to_write(text, message):
    with pytest.raises(UnitError) as err:
        parse_quantity(text, "current" if "uL" not in text else "volume", "bench: volume")
    assert str(err.value).startswith("bench: volume: ") and message in str(err.value)


def test_the_decimal_comma_message_is_exactly_the_fix():
    with pytest.raises(UnitError, match=r"35,5: use a decimal point \(35\.5\), not a comma"):
        parse_quantity("35,5 uL", "volume", "volume read off the coil (left_forearm)")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 10 ** 400])
def test_numbers_from_json_or_toml_must_be_finite(value):
    with pytest.raises(UnitError, match="where: .* is not a finite number"):
        parse_quantity(value, "current", "where")
    with pytest.raises(UnitError, match="is not a finite number"):
        number_in(value, "mmol/L", "concentration", "where")


def test_a_quantity_that_is_not_finite_is_refused_too():
    with pytest.raises(UnitError, match="is not a finite current"):
        parse_quantity(Q_(math.nan, "mA"), "current", "where")


def test_a_bool_is_not_a_number():
    with pytest.raises(ValidationError, match="expected a number, got True"):
        number_in(True, "mmol/L", "concentration", "where")


@pytest.mark.parametrize("text", ["9**9**9", "9**9**9**9 uL", "1e999999999999", "9" * 100000 + " uL",
                                  "(" * 10000 + "1" + ")" * 10000 + " uL"])
def test_hostile_text_is_refused_at_once(text):
    started = time.perf_counter()
    with pytest.raises(UnitError):
        parse_quantity(text, "volume", "where")
    assert time.perf_counter() - started < 0.5


def test_device_replies_may_use_the_ieee_488_point_forms():
    assert parse_number(".5", "inducer", wire=True) == 0.5
    assert parse_number("5.", "inducer", wire=True) == 5.0
    with pytest.raises(UnitError):
        parse_number("nan", "inducer", wire=True)


numbers = st.from_regex(NUMBER, fullmatch=True)
units = st.sampled_from(["mA", "A", "uA", "µA", "mA*min"])


@given(numbers, st.sampled_from(["", " ", "  "]), units)
def test_whatever_the_grammar_accepts_is_finite_and_round_trips(number, space, unit):
    text = f"{number}{space}{unit}"
    kind = "charge" if "min" in unit else "current"
    try:
        q = parse_quantity(text, kind, "where")
    except UnitError as exc:  # only the declared limits may refuse a well-formed number
        assert any(limit in str(exc) for limit in ("exponent is outside", "more than 30 digits", "is too long for"))
        return
    assert math.isfinite(q.magnitude)
    assert q.magnitude == (int(number) if set(number) <= set("+-0123456789") else float(number))
    assert parse_quantity(f"{number} {q.units:~C}", kind, "where") == q  # the unit as pint writes it


@given(st.text(max_size=40))
def test_any_text_is_either_a_finite_quantity_or_a_unit_error(text):
    try:
        q = parse_quantity(text, "volume", "where")
    except UnitError:
        return
    assert math.isfinite(q.to("uL").magnitude)


@pytest.mark.parametrize("typed, unit, kind, expected", [
    ("40", "uL", "volume", 40), ("40 µL", "uL", "volume", 40), ("40µL", "uL", "volume", 40),
    ("40 uL", "uL", "volume", 40), ("0.040 mL", "uL", "volume", 40), (" 35.5 ", "uL", "volume", 35.5),
    ("0.1523 g", "mg", "mass", 152.3), ("152.3 mg", "mg", "mass", 152.3), ("45 mmol/l", "mmol/L", "concentration", 45),
])
def test_a_persons_entry_with_a_unit_that_fits_the_field_is_read_in_the_fields_unit(typed, unit, kind, expected):
    from sweattest.core.units import parse_entry

    q = parse_entry(typed, unit, kind, "field")
    assert q.units == Q_(1, unit).units and q.magnitude == pytest.approx(expected)


@pytest.mark.parametrize("typed, said", [
    ("9**9**9", "“9**9**9” is not a number (only digits and one decimal point: no arithmetic, no exponent)"),
    ("1e3", "“1e3” is written with an exponent (it would mean 1000 µL)"),
    ("1e999", "“1e999” is not a number"),
    ("40 mg", "“40 mg” is a mass, not a volume"),
    ("40 µL uL", "“40 µL uL” is not one number with its unit"),
    ("40 xyz", "“40 xyz”: “xyz” is not a unit"),
    ("35,5", "“35,5”: use a decimal point (35.5), not a comma"),
    ("NaN", "“NaN” is not a number"),
    ("", "nothing typed"),
    ("µL", "“µL” has no number"),
    ("1" + "0" * 40, "“1" + "0" * 40 + "” has more than 30 digits"),
    ("40 µ", "“40 µ”: “µ” is not a unit"),
    ("40.", "“40.” needs a digit on each side of the decimal point, like 0.5 or 40"),
    (".5 mL", "“.5 mL” needs a digit on each side of the decimal point, like 0.5 or 40"),
    ("４０", "“４０” is not a number (only digits and one decimal point"),
    ("−40", "“−40” is not a number (only digits and one decimal point"),
    ("40 μ", "“40 μ”: “μ” is not a unit"),
])
def test_a_persons_wrong_entry_is_quoted_as_typed_with_an_example_in_the_fields_unit(typed, said):
    from sweattest.core.units import parse_entry

    with pytest.raises(UnitError) as err:
        parse_entry(typed, "uL", "volume", "Volume on the coil")
    assert str(err.value).startswith(f"Volume on the coil: {said}")
    assert str(err.value).endswith("type the number the device shows, for example 35.5 µL")


@pytest.mark.parametrize("typed", ["２０２５-０６-０１", "٢٠٢٥-٠٦-٠١", "2025-06-0１"])
def test_a_date_in_other_digits_is_a_typing_error_in_the_form_to_write_not_a_day_missing_from_the_calendar(typed):
    from sweattest.core.errors import ValidationError
    from sweattest.core.fields import typed_date

    with pytest.raises(ValidationError) as err:
        typed_date(typed, "date of birth")
    assert str(err.value) == (f"date of birth: {typed!r} is not a date; write it as YYYY-MM-DD, for example "
                              "2024-03-15 for 15 March 2024")


@pytest.mark.parametrize("typed, said", [("2024-02-29", None), ("9999-12-31", None),
                                         ("2025-02-29", "no such day"), ("0000-01-01", "no such day")])
def test_the_calendars_edges_in_a_typed_date(typed, said):
    from sweattest.core.errors import ValidationError
    from sweattest.core.fields import typed_date

    if said is None:
        assert typed_date(typed, "date").isoformat() == typed
    else:
        with pytest.raises(ValidationError, match=said):
            typed_date(typed, "date")
