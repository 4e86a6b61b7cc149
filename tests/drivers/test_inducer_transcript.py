"""Replay of recorded inducer dialogues.

Wire quirks: SCPI over RS-232, LF on both directions, no echo. Setting commands have no reply, so every
setting that matters for safety is read back with its query form. Numbers travel in SI units in NR3
form (``1.500000E-03`` A); ``OUTP1?`` answers ``0``/``1``. ``SYST:ERR?`` drains the error queue one entry
at a time until ``0,"No error"``.
"""

from __future__ import annotations

import pytest

from drivers.inducer import Inducer
from sweattest.core.errors import DeviceError, ProtocolError
from sweattest.core.units import Q_
from tests.drivers.transcript import TranscriptPort


def replay(pairs, **kw):
    port = TranscriptPort(pairs)
    return Inducer(port, clock=port.clock, **kw), port


def test_identify():
    ind, port = replay([(b"*IDN?\n", b"ACME,IONTO-2,123456,2.1\n")])
    assert ind.identify() == "ACME,IONTO-2,123456,2.1"
    port.assert_consumed()


def test_reset_waits_for_completion_and_checks_errors():
    ind, port = replay([(b"*RST\n", None), (b"*OPC?\n", b"1\n"), (b"SYST:ERR?\n", b'0,"No error"\n')])
    ind.reset()
    port.assert_consumed()


def test_set_current_sends_amps_and_reads_back():
    ind, port = replay([(b"SOUR2:CURR 1.500000E-03\n", None), (b"SOUR2:CURR?\n", b"1.500000E-03\n")])
    ind.set_current(2, Q_(1500, "uA"))
    port.assert_consumed()


def test_set_compliance_and_watchdog():
    ind, port = replay([
        (b"SOUR1:VOLT:PROT 2.400000E+01\n", None), (b"SOUR1:VOLT:PROT?\n", b"2.400000E+01\n"),
        (b"SYST:WDOG 2\n", None), (b"SYST:WDOG?\n", b"2\n"),
    ])
    ind.set_compliance(1, Q_(24, "V"))
    ind.set_watchdog(2)
    port.assert_consumed()


def test_refused_setting_reports_the_device_error():
    ind, port = replay([
        (b"SOUR1:CURR 1.500000E-03\n", None), (b"SOUR1:CURR?\n", b"0.000000E+00\n"),
        (b"SYST:ERR?\n", b'-222,"Data out of range"\n'), (b"SYST:ERR?\n", b'0,"No error"\n'),
    ])
    with pytest.raises(DeviceError, match="-222 Data out of range"):
        ind.set_current(1, Q_(1.5, "mA"))
    port.assert_consumed()


#: The off sequence of a two-channel inducer: every setpoint zeroed, every output opened, both read back.
SAFE_OFF = [(b"SOUR1:CURR 0\n", None), (b"SOUR2:CURR 0\n", None), (b"OUTP1 OFF\n", None), (b"OUTP2 OFF\n", None)]


def test_output_on_is_confirmed_and_off_zeroes_the_setpoint_first_then_opens_the_relay():
    ind, port = replay([(b"OUTP1 ON\n", None), (b"OUTP1?\n", b"1\n"), *SAFE_OFF,
                        (b"SOUR1:CURR?\n", b"0.000000E+00\n"), (b"OUTP1?\n", b"0\n"),
                        (b"SOUR2:CURR?\n", b"0.000000E+00\n"), (b"OUTP2?\n", b"0\n")])
    ind.output_on(1)
    report = ind.safe_off(1)
    assert report.confirmed and not report.faulty
    assert report.describe() == "setpoint 0 confirmed; output confirmed off"
    port.assert_consumed()


def test_a_relay_that_stays_closed_is_retried_once_then_the_inducer_is_latched_faulty():
    ind, port = replay([*SAFE_OFF,
                        (b"SOUR1:CURR?\n", b"0.000000E+00\n"), (b"OUTP1?\n", b"1\n"),
                        (b"SOUR2:CURR?\n", b"0.000000E+00\n"), (b"OUTP2?\n", b"0\n"),
                        (b"SOUR1:CURR 0\n", None), (b"OUTP1 OFF\n", None),  # channel 2 is confirmed: not resent
                        (b"SOUR1:CURR?\n", b"0.000000E+00\n"), (b"OUTP1?\n", b"1\n")])
    report = ind.safe_off(1)
    port.assert_consumed()
    assert not report.confirmed and report.faulty and not report.output_off and report.setpoint_zero
    assert report.describe() == "setpoint 0 confirmed; output NOT confirmed off (OUTP1? read 1 twice)"
    with pytest.raises(DeviceError, match="declared faulty.*power switch"):
        ind.output_on(1)
    with pytest.raises(DeviceError, match="declared faulty"):
        ind.set_current(2, Q_(0.5, "mA"))
    port.pairs += [(b"SOUR2:CURR 0.000000E+00\n", None), (b"SOUR2:CURR?\n", b"0.000000E+00\n")]
    ind.set_current(2, Q_(0, "mA"))  # a zero setpoint stays allowed: it only removes energy
    port.assert_consumed()


def test_all_outputs_off_raises_when_a_channel_is_not_confirmed():
    ind, port = replay([*SAFE_OFF,
                        (b"SOUR1:CURR?\n", b"1.500000E-03\n"), (b"OUTP1?\n", b"0\n"),
                        (b"SOUR2:CURR?\n", b"0.000000E+00\n"), (b"OUTP2?\n", b"0\n"),
                        (b"SOUR1:CURR 0\n", None), (b"OUTP1 OFF\n", None),
                        (b"SOUR1:CURR?\n", b"1.500000E-03\n"), (b"OUTP1?\n", b"0\n")])
    with pytest.raises(DeviceError, match=r"setpoint NOT confirmed 0 \(SOUR1:CURR\? read 1.500000E-03 twice\); "
                       "output confirmed off.*power switch"):
        ind.all_outputs_off()
    port.assert_consumed()


def test_measure():
    ind, port = replay([(b"MEAS1:CURR?;MEAS1:VOLT?\n", b"1.498000E-03;1.497000E+01\n")])
    current, voltage = ind.measure(1)
    assert current == Q_(1.498, "mA") and voltage == Q_(14.97, "V")
    port.assert_consumed()


def test_error_queue_drained():
    ind, port = replay([(b"SYST:ERR?\n", b'-113,"Undefined header"\n'), (b"SYST:ERR?\n", b'+301,"Watchdog"\n'),
                        (b"SYST:ERR?\n", b'0,"No error"\n')])
    assert ind.errors() == [(-113, "Undefined header"), (301, "Watchdog")]
    port.assert_consumed()


def test_stale_reply_is_flushed_before_the_next_query():
    port = TranscriptPort([(b"MEAS1:CURR?;MEAS1:VOLT?\n", b"1.5E-03;15.0\n")])
    port._rx += b"9.99E+00\n"  # a late answer to an earlier command, already in the buffer
    ind = Inducer(port, clock=port.clock)
    assert ind.measure(1) == (Q_(1.5, "mA"), Q_(15.0, "V"))


def test_unexpected_reply_is_a_protocol_error_with_the_bytes():
    ind, port = replay([(b"MEAS1:CURR?;MEAS1:VOLT?\n", b"OK\n")])
    with pytest.raises(ProtocolError) as info:
        ind.measure(1)
    assert info.value.received == b"OK" and info.value.command == "MEAS1:CURR?;MEAS1:VOLT?"


def test_partial_reply_raises_within_the_timeout():
    ind, port = replay([(b"MEAS1:CURR?;MEAS1:VOLT?\n", b"1.5E-0")])
    t0 = port.clock.monotonic()
    with pytest.raises(ProtocolError, match="incomplete reply"):
        ind.measure(1)
    assert port.clock.monotonic() - t0 <= ind.timeout_s + port.timeout
