"""Replay of recorded MT-SICS dialogues.

Wire quirks: CR LF on both directions. A reply starts with the command's name, except ``SI`` (answered
by ``S``) and ``@`` (answered by ``I4``). ``S`` answers only once the reading is stable, so its reply
can come seconds later; a reply to an earlier command is skipped by name. The weight field is
right-aligned with spaces and followed by the unit.
"""

from __future__ import annotations

import pytest

from drivers.balance import Balance, BalanceNotExecutable, BalanceOverload, BalanceUnderload
from sweattest.core.errors import DeviceError, ProtocolError
from sweattest.core.units import Q_
from tests.drivers.transcript import TranscriptPort


def replay(pairs):
    port = TranscriptPort(pairs)
    return Balance(port, clock=port.clock), port


def test_identify():
    bal, port = replay([(b"I2\r\n", b'I2 A "XS205DU 220.0000 g"\r\n'), (b"I4\r\n", b'I4 A "B021002593"\r\n')])
    assert bal.identify() == "XS205DU 220.0000 g, SN B021002593"
    port.assert_consumed()


def test_stable_weight_in_the_balance_unit():
    bal, port = replay([(b"S\r\n", b"S S      1.0124 g\r\n"), (b"S\r\n", b"S S    1012.4 mg\r\n")])
    assert bal.stable_weight() == Q_(1.0124, "g")
    assert bal.stable_weight() == Q_(1012.4, "mg")
    port.assert_consumed()


def test_weight_immediately_dynamic():
    bal, port = replay([(b"SI\r\n", b"S D      1.0100 g\r\n")])
    assert bal.weight() == (Q_(1.01, "g"), False)
    port.assert_consumed()


def test_zero_tare_and_tare_value():
    bal, port = replay([(b"Z\r\n", b"Z A\r\n"), (b"T\r\n", b"T S      0.9851 g\r\n"),
                        (b"TA\r\n", b"TA A      0.9851 g\r\n"), (b"TAC\r\n", b"TAC A\r\n"),
                        (b"@\r\n", b'I4 A "B021002593"\r\n')])
    bal.zero()
    assert bal.tare() == Q_(0.9851, "g")
    assert bal.tare_value() == Q_(0.9851, "g")
    bal.clear_tare()
    bal.reset()
    port.assert_consumed()


@pytest.mark.parametrize("reply, error", [(b"S +\r\n", BalanceOverload), (b"S -\r\n", BalanceUnderload)])
def test_range_errors(reply, error):
    bal, port = replay([(b"S\r\n", reply)])
    with pytest.raises(error):
        bal.stable_weight()
    port.assert_consumed()


def test_not_executable_with_a_steady_reading():
    bal, port = replay([(b"S\r\n", b"S I\r\n"), (b"SI\r\n", b"S S      1.0000 g\r\n")])
    with pytest.raises(BalanceNotExecutable):
        bal.stable_weight()
    port.assert_consumed()


@pytest.mark.parametrize("reply, error, text", [
    (b"ES\r\n", ProtocolError, "syntax error"), (b"ET\r\n", ProtocolError, "transmission error"),
    (b"EL\r\n", DeviceError, "logical error")])
def test_general_errors(reply, error, text):
    bal, port = replay([(b"TAC\r\n", reply)])
    with pytest.raises(error, match=text):
        bal.clear_tare()
    port.assert_consumed()


def test_a_late_reply_to_another_command_is_skipped():
    bal, port = replay([(b"S\r\n", b"T S      0.9851 g\r\nS S      1.0124 g\r\n")])
    assert bal.stable_weight() == Q_(1.0124, "g")
    port.assert_consumed()


def test_weight_in_an_unknown_unit_is_a_protocol_error():
    bal, port = replay([(b"S\r\n", b"S S      1.0124 lb\r\n")])
    with pytest.raises(ProtocolError, match="Set the balance's unit to g"):
        bal.stable_weight()
