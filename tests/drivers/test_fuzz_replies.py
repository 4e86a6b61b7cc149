"""Fuzzing every reply parser: whatever bytes a device sends, only ProtocolError or another DeviceError
escapes, and the driver gives up within its timeout (instant virtual clock)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import chloride_format as fmt
from drivers.balance import Balance, parse_reply, parse_text, parse_weight
from drivers.chloridometer import Chloridometer, parse_result
from drivers.inducer import Inducer, parse_bool, parse_error, parse_number
from sweattest.core.errors import DeviceError
from tests.drivers.transcript import TranscriptPort

text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=60)
ascii_line = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
raw = st.binary(max_size=80)
FAST = settings(max_examples=150, deadline=None)


def only_device_errors(fn, *args) -> None:
    try:
        fn(*args)
    except DeviceError:
        pass


@FAST
@given(st.one_of(text, ascii_line))
def test_scpi_parsers(reply):
    for parser in (parse_number, parse_error, parse_bool):
        only_device_errors(parser, reply)


@FAST
@given(st.one_of(text, ascii_line), st.sampled_from(["S", "T", "TA", "Z", "I2", "I4"]))
def test_mtsics_parsers(reply, command):
    def parse():
        status, values = parse_reply(reply, command)
        parse_weight(values, command, reply)
        parse_text(values, command, reply)
    only_device_errors(parse)


@FAST
@given(st.one_of(text, ascii_line))
def test_result_line_parser(reply):
    only_device_errors(parse_result, reply)


@FAST
@given(ascii_line)
def test_result_lines_with_a_valid_checksum(body):
    only_device_errors(parse_result, f"{body}*{fmt.checksum(body)}")


def within_timeout(driver_cls, call, reply: bytes, sent: bytes | None) -> None:
    port = TranscriptPort([(sent, reply)], strict=False)
    driver = driver_cls(port, clock=port.clock)
    t0 = port.clock.monotonic()
    try:
        call(driver)
    except DeviceError:
        pass
    assert port.clock.monotonic() - t0 <= 3 * driver.timeout_s + 1.0


@FAST
@given(raw)
def test_inducer_measure_any_bytes(reply):
    within_timeout(Inducer, lambda d: d.measure(1), reply, b"MEAS1:CURR?;MEAS1:VOLT?\n")


@FAST
@given(raw)
def test_balance_weight_any_bytes(reply):
    within_timeout(Balance, lambda d: d.weight(), reply, b"SI\r\n")


@FAST
@given(raw)
def test_chloridometer_any_bytes(reply):
    port = TranscriptPort([(None, reply)])
    ana = Chloridometer(port, clock=port.clock)
    t0 = port.clock.monotonic()
    only_device_errors(ana.read_result, 5.0)
    assert port.clock.monotonic() - t0 <= 5.0 + port.timeout
