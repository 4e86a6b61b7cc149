"""Replay of SBI dialogues with a Sartorius balance, lines laid out as in the Sartorius interface chapters.

Wire quirks: every command is ESC, a letter (or letters, a digit and ``_``), CR LF. ``ESC P`` is answered
with one 16- or 22-character line (sign, value, unit; with a 6-character ID code in front); no unit means
the reading is not stable yet. Over- and underload and errors come as ``Stat`` lines. Key commands
(``ESC T``, ``ESC f3_``) are not answered at all.
"""

from __future__ import annotations

import pytest

from drivers.balance import BalanceNotExecutable, BalanceOverload, BalanceUnderload, BalanceUnstable
from drivers.sartorius import SartoriusBalance
from sweattest.core.errors import DeviceError, ProtocolError
from sweattest.core.units import Q_, ureg
from tests.drivers.transcript import TranscriptPort

P = b"\x1bP\r\n"


def replay(pairs, strict=True):
    port = TranscriptPort(pairs, strict=strict)
    return SartoriusBalance(port, clock=port.clock), port


def test_identify_model_serial_and_software():
    bal, port = replay([(b"\x1bx1_\r\n", b"Model  BCE124I-1CEU \r\n"), (b"\x1bx2_\r\n", b"SerNo       37454321\r\n"),
                        (b"\x1bx3_\r\n", b"00-37-09\r\n"), (b"\x1bx2_\r\n", b"SerNo       37454321\r\n")])
    assert bal.identify() == "Sartorius,BCE124I-1CEU,37454321,00-37-09"
    assert bal.serial_number() == "37454321"
    port.assert_consumed()


def test_a_model_that_names_the_simulator_is_reported_as_such():
    bal, port = replay([(b"\x1bx1_\r\n", b"Model  SWEATTEST-SIM\r\n"), (b"\x1bx2_\r\n", b"0012345678\r\n"),
                        (b"\x1bx3_\r\n", b"01-28-03\r\n")])
    assert bal.identify() == "SWEATTEST,SIM,0012345678,01-28-03"
    port.assert_consumed()


def test_stable_weight_polls_until_the_unit_appears():
    bal, port = replay([(P, b"N     +   123.51    \r\n"), (P, b"N     +   123.56 g  \r\n")])
    t0 = port.clock.monotonic()
    assert bal.stable_weight() == Q_(123560.0, "mg")
    assert port.clock.monotonic() - t0 == pytest.approx(0.2)
    port.assert_consumed()


@pytest.mark.parametrize("line, weight", [
    (b"+   123.56 g  ", Q_(123560.0, "mg")),          # 16 characters, no ID code
    (b"-     0.03 g  ", Q_(-30.0, "mg")),             # negative net weight after a tare
    (b"+111.25507 mg ", Q_(111.25507, "mg")),         # microbalance, value from column 2, unit mg
    (b"G     +  20.0000 g  ", Q_(20000.0, "mg")),     # gross weight, no tare set
    (b"N     +   1.0124 kg ", Q_(1012400.0, "mg")),
    (b"+ 1.012[4] g  ", Q_(1012.4, "mg")),           # a non-verified digit in brackets
])
def test_weight_lines_in_their_formats(line, weight):
    bal, port = replay([(P, line + b"\r\n")])
    result = bal.stable_weight()
    assert result.units == ureg.mg and result.magnitude == pytest.approx(weight.magnitude)
    port.assert_consumed()


@pytest.mark.parametrize("line, error, shown", [
    (b"Stat        H       ", BalanceOverload, "overloaded .display 'H'."),
    (b"Stat        L       ", BalanceUnderload, "underloaded .display 'L'."),
    (b"Stat    High        ", BalanceOverload, "overloaded .display 'High'."),
    (b"Stat    Low         ", BalanceUnderload, "underloaded"),
    (b"      High    ", BalanceOverload, "overloaded"),
    (b"Stat        C       ", BalanceNotExecutable, "calibrating"),
    (b"Stat     Err 101    ", DeviceError, "error 'Err 101'"),
    (b"Stat       OFF      ", DeviceError, "display is switched off"),
])
def test_status_lines_raise_at_once(line, error, shown):
    bal, port = replay([(P, line + b"\r\n")])
    with pytest.raises(error, match=shown) as info:
        bal.stable_weight()
    assert info.value.command == "ESC P" and info.value.received == line
    port.assert_consumed()


@pytest.mark.parametrize("line, shown", [
    (b"N     +   1.0?24 g  ", "garbled weight line"),
    (b"N     +   1.0124 g", "16- or 22-character"),
    (b"N     +   1.0124 lb ", "unit 'lb'"),
    (b"Qnt   +      253 pcs", "'Qnt' value, not the net weight"),
    (b"Stat     ???        ", "unknown status line"),
])
def test_bad_lines_are_protocol_errors_and_the_next_weighing_still_works(line, shown):
    bal, port = replay([(P, line + b"\r\n"), (P, b"N     +   1.0124 g  \r\n")])
    with pytest.raises(ProtocolError, match=shown):
        bal.stable_weight()
    assert bal.stable_weight() == Q_(1012.4, "mg")
    port.assert_consumed()


def test_control_characters_are_a_garbled_reply():
    bal, port = replay([(P, b"N     +\x07  1.0124 g  \r\n")])
    with pytest.raises(ProtocolError, match="garbled reply to 'ESC P'"):
        bal.stable_weight()


def test_unstable_until_the_timeout_is_balance_unstable():
    bal, port = replay([(P, b"N     +   1.0100    \r\n"), (P, b"N     +   1.0300    \r\n")])
    with pytest.raises(BalanceUnstable, match=r"not become stable within 0.3 s \(last reading 'N     \+   1.0300'"):
        bal.stable_weight(timeout_s=0.3)
    port.assert_consumed()


def test_a_silent_balance_names_the_command_readably():
    bal, port = replay([(P, None)])
    with pytest.raises(DeviceError, match="no reply to 'ESC P' within 2 s") as info:
        bal.stable_weight()
    assert info.value.command == "ESC P"
    port.assert_consumed()


def test_tare_and_zero_are_checked_by_the_next_stable_reading():
    bal, port = replay([(b"\x1bT\r\n", None), (P, b"N     +   0.0000 g  \r\n"),
                        (b"\x1bf3_\r\n", None), (P, b"N     -   0.0001 g  \r\n")])
    bal.tare()
    bal.zero()
    port.assert_consumed()


def test_a_tare_the_balance_ignored_is_an_error():
    bal, port = replay([(b"\x1bT\r\n", None), (P, b"N     +   1.0124 g  \r\n")])
    with pytest.raises(DeviceError, match=r"still reads 1012.4 mg after 'ESC T' \(tare\)"):
        bal.tare()
    port.assert_consumed()


@pytest.mark.parametrize("reply, shown", [
    (b"N     +   1.0124 g  ", "with a weight or status line"),   # the balance prints automatically
    (b"Stat        H       ", "with a weight or status line"),
    (b"Model  BCE124I 1CEU X", "expected the model"),
    (b"Model  BCE#124I     ", "expected the model"),
])
def test_bad_identification_replies(reply, shown):
    bal, port = replay([(b"\x1bx1_\r\n", reply + b"\r\n")])
    with pytest.raises(ProtocolError, match=shown):
        bal.identify()
    port.assert_consumed()
