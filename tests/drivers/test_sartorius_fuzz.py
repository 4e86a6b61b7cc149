"""Fuzzing the SBI line parsers: whatever a balance sends, only ProtocolError or another DeviceError
escapes, and a weighing gives up within its timeout (instant virtual clock)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.sartorius import MODEL, PRINT, SartoriusBalance, parse_info_line, parse_weight_line
from sweattest.core.errors import DeviceError
from tests.drivers.transcript import TranscriptPort

text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=30)
ascii_line = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=12, max_size=22)
FAST = settings(max_examples=200, deadline=None)


@FAST
@given(st.one_of(text, ascii_line))
def test_line_parsers(line):
    for parse in (lambda: parse_weight_line(line), lambda: parse_info_line(line, MODEL, "model")):
        try:
            parse()
        except DeviceError:
            pass


@FAST
@given(st.binary(max_size=60))
def test_stable_weight_any_bytes(reply):
    port = TranscriptPort([(PRINT.encode() + b"\r\n", reply)], strict=False)
    bal = SartoriusBalance(port, clock=port.clock)
    t0 = port.clock.monotonic()
    try:
        bal.stable_weight(timeout_s=3)
    except DeviceError:
        pass
    assert port.clock.monotonic() - t0 <= 3 + 2 * bal.timeout_s
