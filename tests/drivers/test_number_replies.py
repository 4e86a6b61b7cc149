"""Numbers in instrument replies follow the one number grammar; a reply that is not a finite number is a
ProtocolError naming the device, never a value acted on.

SCPI has no NaN or infinity on the wire: it sends 9.9E+37 for infinity and 9.91E+37 for not-a-number
(SCPI-99 vol. 1, 7.2.1). Either means the inducer could not measure, so the driver refuses it with its own
message. MT-SICS balances write weights without an exponent; the chloridometer writes up to 4.3 digits.
"""

from __future__ import annotations

import pytest

from drivers import chloride_format as fmt
from drivers.balance import Balance
from drivers.chloridometer import Chloridometer
from drivers.inducer import Inducer, parse_number
from drivers.sartorius import parse_weight_line
from sweattest.core.errors import ProtocolError
from sweattest.core.units import Q_
from tests.drivers.transcript import TranscriptPort


@pytest.mark.parametrize("reply, value", [
    ("1.500000E-03", 1.5e-3), ("1.5E-03", 1.5e-3), ("+1.5e-3", 1.5e-3), ("15.0", 15.0), ("2", 2.0),
    (".5", 0.5), ("5.", 5.0), ("-0.000000E+00", 0.0), (" 1.497000E+01 ", 14.97),
])
def test_scpi_numbers_still_parse(reply, value):
    assert parse_number(reply) == value


def test_digits_other_than_ascii_are_refused():
    with pytest.raises(ProtocolError, match="expected a number"):
        parse_number("\u0661.5E-03")  # an Arabic-Indic one, which Python's float() would read


@pytest.mark.parametrize("reply, message", [
    ("9.91E+37", "replied 9.91E+37, SCPI's code for not-a-number or infinity"),
    ("9.9E+37", "replied 9.9E+37, SCPI's code for not-a-number or infinity"),
    ("-9.9E+37", "replied -9.9E+37, SCPI's code"),
    ("9.910000E+37", "replied 9.910000E+37, SCPI's code"),
    ("NAN", "expected a number, got 'NAN'"),
    ("nan", "expected a number, got 'nan'"),
    ("INF", "expected a number, got 'INF'"),
    ("-inf", "expected a number, got '-inf'"),
    ("1e999", "expected a number, got '1e999'"),
    ("1E+31", "expected a number, got '1E+31'"),
    ("9**9**9", "expected a number, got '9**9**9'"),
    ("1,5E-03", "expected a number, got '1,5E-03'"),
    ("1_5E-03", "expected a number, got '1_5E-03'"),
    ("0x10", "expected a number, got '0x10'"),
])
def test_a_reply_that_is_not_a_finite_number_is_a_protocol_error(reply, message):
    port = TranscriptPort([(b"MEAS1:CURR?;MEAS1:VOLT?\n", reply.encode() + b";1.0\n")])
    ind = Inducer(port, clock=port.clock)
    with pytest.raises(ProtocolError) as err:
        ind.measure(1)
    assert message in str(err.value) and "Switch the inducer off and on" in str(err.value)


@pytest.mark.parametrize("reply", [b"S S NaN g", b"S S inf g", b"S S 1e400 g", b"S S 1,0124 g",
                                   b"S S " + b"9" * 40 + b" g"])
def test_a_balance_weight_that_is_not_a_finite_number_is_a_protocol_error(reply):
    port = TranscriptPort([(b"S\r\n", reply + b"\r\n")])
    with pytest.raises(ProtocolError, match="balance: .*weight"):
        Balance(port, clock=port.clock).stable_weight()


def test_a_balance_weight_in_its_usual_form_still_parses():
    port = TranscriptPort([(b"S\r\n", b"S S     -0.0003 g\r\n")])
    assert Balance(port, clock=port.clock).stable_weight() == Q_(-0.0003, "g")


def _result_line(value: str) -> bytes:
    body = f"SAMPLE;0012;2026-11-20;09:41:07;ST123-L;{value};mmol/L;OK;"
    return f"{body}*{fmt.checksum(body)}\r\n".encode()


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "1e400", "9.91E+37", "45,2", "4 5"])
def test_a_chloride_that_is_not_a_finite_number_is_a_protocol_error(value):
    port = TranscriptPort([(None, _result_line(value))])
    with pytest.raises(ProtocolError, match="chloridometer: unreadable result line"):
        Chloridometer(port, clock=port.clock).read_result()


def test_a_chloride_in_its_usual_form_still_parses():
    port = TranscriptPort([(None, _result_line("45.2"))])
    assert Chloridometer(port, clock=port.clock).read_result().chloride == Q_(45.2, "mmol/L")


@pytest.mark.parametrize("line, grams", [("+   123.56 g  ", 123.56), ("-     0.03 g  ", -0.03),
                                         ("+      .5  g  ", 0.5), ("+ 1.012[4] g  ", 1.0124)])
def test_sartorius_weights_still_parse(line, grams):
    assert parse_weight_line(line).quantity() == Q_(grams, "g")


@pytest.mark.parametrize("line", ["+      nan g  ", "+      inf g  ", "+   1e+400 g  ", "+   1,0124 g  "])
def test_a_sartorius_weight_that_is_not_a_plain_number_is_a_protocol_error(line):
    with pytest.raises(ProtocolError, match="balance: garbled weight line"):
        parse_weight_line(line)
