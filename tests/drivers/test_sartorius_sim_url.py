"""The Sartorius SBI driver against its simulator over sim://sartorius on an instant virtual clock."""

from __future__ import annotations

import pytest
import serial

from drivers.balance import BalanceOverload, BalanceUnderload, BalanceUnstable
from drivers.sartorius import SartoriusBalance
from sweattest.core.errors import DeviceError, ProtocolError
from sweattest.core.units import Q_, ureg


def open_balance(vclock, query="") -> SartoriusBalance:
    url = f"sim://sartorius?seed=2&clock={vclock.name}" + (f"&{query}" if query else "")
    return SartoriusBalance.from_url(url)


def test_the_port_is_opened_with_the_balance_framing(vclock):
    bal = open_balance(vclock)
    assert (bal.port.baudrate, bal.port.bytesize, bal.port.parity, bal.port.stopbits) == (9600, 7, "O", 1)


def test_identify_says_it_is_the_simulator(vclock):
    bal = open_balance(vclock)
    assert bal.identify() == "SWEATTEST,SIM,0012345680,01-28-03"
    assert bal.serial_number() == "0012345680"


def test_stable_weight_in_mg_after_the_reading_settles(vclock):
    bal = open_balance(vclock)
    bal.port.simulator.place(Q_(1012.4, "mg"))
    assert not bal.reading().stable
    t0 = vclock.monotonic()
    weight = bal.stable_weight()
    assert weight.units == ureg.mg and weight.magnitude == pytest.approx(1012.4, abs=0.15)
    assert 2.8 < vclock.monotonic() - t0 < 3.5
    assert bal.reading().stable


def test_tare_then_weigh_the_sample_alone(vclock):
    bal = open_balance(vclock, "mass=1.0124g")
    bal.tare()
    bal.port.simulator.place(Q_(1.0500, "g"))
    assert bal.stable_weight().magnitude == pytest.approx(37.6, abs=0.25)
    bal.port.simulator.remove()
    assert bal.stable_weight().magnitude == pytest.approx(-1012.4, abs=0.25)
    bal.zero()
    assert bal.stable_weight().magnitude == pytest.approx(0.0, abs=0.15)


def test_unstable_reading_is_balance_unstable_within_the_timeout(vclock):
    bal = open_balance(vclock, "mass=1g&fault=unstable")
    t0 = vclock.monotonic()
    with pytest.raises(BalanceUnstable, match="did not become stable within 5 s") as info:
        bal.stable_weight(timeout_s=5)
    assert 4.7 < vclock.monotonic() - t0 < 5 + bal.timeout_s
    assert "Close the draught shield" in str(info.value)


def test_a_tare_that_never_sees_a_stable_reading_is_balance_unstable(vclock):
    bal = open_balance(vclock, "mass=1g&fault=unstable")
    with pytest.raises(BalanceUnstable):
        bal.tare(timeout_s=3)


@pytest.mark.parametrize("kind, error, display", [("overload", BalanceOverload, "'H'"),
                                                  ("underload", BalanceUnderload, "'L'")])
def test_overload_and_underload_are_distinct_errors(vclock, kind, error, display):
    bal = open_balance(vclock, f"fault={kind}")
    with pytest.raises(error, match=display) as info:
        bal.stable_weight()
    assert info.value.command == "ESC P" and info.value.received.startswith(b"Stat")


def test_more_than_the_capacity_is_an_overload(vclock):
    bal = open_balance(vclock)
    bal.port.simulator.place(Q_(250, "g"))
    with pytest.raises(BalanceOverload, match="Take the load off the pan"):
        bal.stable_weight()


def test_garbled_replies_are_protocol_errors_and_weighing_works_once_the_line_is_clean(vclock):
    bal = open_balance(vclock, "mass=1.0124g&fault=garbled")
    with pytest.raises(ProtocolError, match="garbled"):
        bal.stable_weight()
    bal.port.simulator.clear_faults()
    assert bal.stable_weight().magnitude == pytest.approx(1012.4, abs=0.15)


@pytest.mark.parametrize("kind", ["silent", "no_response"])
def test_a_silent_balance_is_a_device_error_naming_the_command(vclock, kind):
    bal = open_balance(vclock, f"fault={kind}")
    t0 = vclock.monotonic()
    with pytest.raises(DeviceError, match="no reply to 'ESC P' within 2 s. Check that the device is switched on"):
        bal.stable_weight()
    assert vclock.monotonic() - t0 == pytest.approx(bal.timeout_s, abs=0.2)


def test_a_silent_balance_fails_a_tare_instead_of_passing_it(vclock):
    bal = open_balance(vclock, "fault=silent")
    with pytest.raises(DeviceError, match="no reply to 'ESC P'"):
        bal.tare()


def test_an_unplugged_balance_is_a_device_error(vclock):
    bal = open_balance(vclock)
    bal.identify()
    bal.port.simulator.inject("disconnect")
    with pytest.raises(DeviceError, match="lost the connection"):
        bal.stable_weight()


def test_a_fault_that_starts_later(vclock):
    bal = open_balance(vclock, "mass=1g&fault=silent@10s")
    assert bal.stable_weight().magnitude == pytest.approx(1000, abs=0.15)
    vclock.sleep(10)
    with pytest.raises(DeviceError, match="no reply"):
        bal.reading()


def test_the_esc_is_optional_and_unknown_commands_are_ignored(vclock):
    port = serial.serial_for_url(f"sim://sartorius?mass=2g&clock={vclock.name}", timeout=0.1)
    port.write(b"Q\r\nP\r\n")
    assert port.read(22) == b"N     +   2.0000 g  \r\n"


@pytest.mark.parametrize("query, shown", [("fault=smoke", "unknown fault 'smoke'"), ("mass=2ml", "mass"),
                                          ("colour=red", "unknown option 'colour'")])
def test_bad_url_options_name_the_url_form(vclock, query, shown):
    with pytest.raises(DeviceError, match="sim://sartorius\\?mass=") as info:
        open_balance(vclock, query)
    assert shown in str(info.value)
