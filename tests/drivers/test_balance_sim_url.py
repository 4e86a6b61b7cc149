"""The MT-SICS balance driver against its simulator over sim:// on an instant virtual clock."""

from __future__ import annotations

import pytest
import serial

from drivers.balance import (
    Balance,
    BalanceNotExecutable,
    BalanceOverload,
    BalanceUnderload,
    BalanceUnstable,
)
from sweattest.core.errors import DeviceError, ProtocolError
from sweattest.core.units import Q_, ureg


def open_balance(vclock, query="") -> Balance:
    url = f"sim://balance?seed=2&clock={vclock.name}" + (f"&{query}" if query else "")
    return Balance(serial.serial_for_url(url, baudrate=9600, timeout=0.1))


def test_identify_reset_zero(vclock):
    bal = open_balance(vclock)
    assert bal.identify() == "XS205 SIM 220.0000 g, SN B100000002"
    bal.reset()
    bal.zero()


def test_stable_weight_waits_for_the_reading_to_settle(vclock):
    bal = open_balance(vclock)
    bal.port.simulator.place(Q_(1012.4, "mg"))
    value, stable = bal.weight()
    assert not stable
    t0 = vclock.monotonic()
    weight = bal.stable_weight()
    assert weight.units == ureg.g and weight.magnitude == pytest.approx(1.0124, abs=0.00015)
    assert 2.5 < vclock.monotonic() - t0 < 3.5
    assert bal.weight()[1] is True


def test_tare_and_clear_tare(vclock):
    bal = open_balance(vclock, "mass=1.0124g")
    tare = bal.tare()
    assert tare.to("g").magnitude == pytest.approx(1.0124, abs=0.00015)
    assert bal.tare_value() == tare
    bal.port.simulator.place(Q_(1.0500, "g"))
    assert bal.stable_weight().magnitude == pytest.approx(1.05 - tare.magnitude, abs=0.00015)
    bal.clear_tare()
    assert bal.stable_weight().magnitude == pytest.approx(1.05, abs=0.00015)


def test_unstable_reading_is_balance_unstable_within_the_timeout(vclock):
    bal = open_balance(vclock, "fault=unstable")
    t0 = vclock.monotonic()
    with pytest.raises(BalanceUnstable, match="did not become stable within 5 s"):
        bal.stable_weight(timeout_s=5)
    assert vclock.monotonic() - t0 < 5 + 2 * bal.timeout_s


def test_unstable_reported_by_the_balance_itself(vclock):
    bal = open_balance(vclock, "fault=unstable")
    with pytest.raises(BalanceUnstable):
        bal.stable_weight(timeout_s=30)


@pytest.mark.parametrize("kind, error", [("overload", BalanceOverload), ("underload", BalanceUnderload)])
def test_overload_and_underload_are_distinct_errors(vclock, kind, error):
    bal = open_balance(vclock, f"fault={kind}")
    with pytest.raises(error) as info:
        bal.stable_weight()
    assert info.value.command == "S" and info.value.received


def test_not_executable(vclock):
    bal = open_balance(vclock)
    bal.port.simulator.place(Q_(1, "g"))
    bal.port.simulator.weighing_faults.add("unstable")
    # a balance that stays busy: S I while SI says the reading is stable
    bal.port.simulator.is_stable = lambda: True
    with pytest.raises(BalanceNotExecutable):
        bal.stable_weight(timeout_s=30)


def test_silent_balance_raises_within_the_timeout(vclock):
    bal = open_balance(vclock, "fault=silent")
    t0 = vclock.monotonic()
    with pytest.raises(DeviceError, match="no reply to 'S'"):
        bal.stable_weight(timeout_s=3)
    assert vclock.monotonic() - t0 < 3 + 3 * bal.timeout_s


def test_garbled_reply_is_a_protocol_error(vclock):
    bal = open_balance(vclock, "fault=garbled")
    with pytest.raises(ProtocolError):
        bal.weight()


def test_unknown_command_is_es(vclock):
    bal = open_balance(vclock)
    with pytest.raises(ProtocolError, match="ES, syntax error"):
        bal.command("XYZ")


def test_bad_url_option():
    with pytest.raises(serial.SerialException, match="unknown option 'colour'"):
        serial.serial_for_url("sim://balance?colour=1")
