"""The inducer driver against its simulator over sim:// on an instant virtual clock."""

from __future__ import annotations

import pytest
import serial

from drivers.inducer import Inducer
from sweattest.core.errors import DeviceError, ProtocolError, ValidationError
from sweattest.core.units import Q_


def open_inducer(vclock, query="", channels=2) -> Inducer:
    url = f"sim://inducer?channels={channels}&seed=1&clock={vclock.name}" + (f"&{query}" if query else "")
    return Inducer(serial.serial_for_url(url, baudrate=9600, timeout=0.1), channels=channels)


def start(ind: Inducer, ch: int = 1, ma: float = 1.5, volts: float = 24.0) -> None:
    ind.set_compliance(ch, Q_(volts, "V"))
    ind.set_current(ch, Q_(ma, "mA"))
    ind.output_on(ch)


def test_identify_reset_and_every_output_off(vclock):
    ind = open_inducer(vclock)
    assert ind.identify().startswith("SWEATTEST,IND-2")
    start(ind, 1)
    start(ind, 2)
    ind.all_outputs_off()
    assert [ind.output_state(ch) for ch in (1, 2)] == [False, False]
    ind.reset()
    assert ind.errors() == []


def test_current_is_delivered_into_the_skin_load_and_measured_in_ma(vclock):
    ind = open_inducer(vclock, "load=1:10kohm")
    start(ind)
    current, voltage = ind.measure(1)
    assert current.units == Q_(1, "mA").units and voltage.units == Q_(1, "V").units
    assert current.magnitude == pytest.approx(1.5, rel=0.01)
    assert voltage.magnitude == pytest.approx(15.0, rel=0.02)


def test_skin_hydrates_so_voltage_falls_during_stimulation(vclock):
    ind = open_inducer(vclock, "load=1:10kohm")
    start(ind)
    v0 = ind.measure(1)[1].magnitude
    vclock.advance(1.0)
    for _ in range(300):  # five minutes of host activity, keeping the link alive
        vclock.advance(1.0)
        ind.output_state(1)
    assert ind.measure(1)[1].magnitude < 0.85 * v0


def test_compliance_limits_the_current_into_a_high_resistance(vclock):
    ind = open_inducer(vclock, "load=1:40kohm")
    start(ind, volts=20.0)
    current, voltage = ind.measure(1)
    assert current.magnitude == pytest.approx(0.5, rel=0.01)
    assert voltage.magnitude == pytest.approx(20.0, rel=0.01)


def test_open_circuit_120_s_into_stimulation(vclock):
    ind = open_inducer(vclock, "load=1:10kohm&fault=open_circuit@120s:1")
    start(ind)
    vclock.advance(119.0)
    assert ind.measure(1)[0].magnitude == pytest.approx(1.5, rel=0.02)
    vclock.advance(1.5)
    current, voltage = ind.measure(1)
    assert current.magnitude == 0.0
    assert voltage.magnitude == pytest.approx(24.0, rel=0.01)


def test_high_impedance_drives_the_output_into_compliance(vclock):
    ind = open_inducer(vclock)
    start(ind)
    ind.port.simulator.inject("high_impedance", channel=1)
    current, voltage = ind.measure(1)
    assert current.magnitude < 0.05 and voltage.magnitude == pytest.approx(24.0, rel=0.01)


def test_watchdog_turns_outputs_off_when_the_host_is_silent(vclock):
    ind = open_inducer(vclock)
    ind.set_watchdog(2.0)
    start(ind, 1)
    start(ind, 2)
    vclock.advance(1.5)
    assert ind.output_state(1)
    vclock.advance(2.5)
    assert not ind.output_state(1) and not ind.output_state(2)
    assert ind.errors() == [(301, "Watchdog expired; all outputs off")]


@pytest.mark.parametrize("bad", [Q_(4.01, "mA"), Q_(-0.1, "mA"), Q_(5, "A")])
def test_current_above_4_ma_or_negative_is_refused_never_clipped(vclock, bad):
    ind = open_inducer(vclock)
    ind.set_current(1, Q_(1.0, "mA"))
    with pytest.raises(ValidationError, match="nothing was sent"):
        ind.set_current(1, bad)
    assert ind.port.simulator.channels[1].setpoint_a == pytest.approx(1.0e-3)


@pytest.mark.parametrize("bad", [4.01, -0.1, float("nan"), float("inf"), True, "1.0", None])
def test_a_plain_setpoint_in_ma_outside_0_to_4_or_not_a_number_is_refused_and_nothing_sent(vclock, bad):
    ind = open_inducer(vclock)
    ind.set_current_ma(1, 1.0)
    sent = len(ind.port.simulator.received_lines)
    with pytest.raises(ValidationError, match="nothing was sent"):
        ind.set_current_ma(1, bad)
    assert len(ind.port.simulator.received_lines) == sent
    assert ind.port.simulator.channels[1].setpoint_a == pytest.approx(1.0e-3)


def test_a_current_in_the_wrong_unit_is_refused(vclock):
    ind = open_inducer(vclock)
    with pytest.raises(ValidationError, match="not a current"):
        ind.set_current(1, Q_(1.0, "mg"))


def test_unknown_channel_is_refused(vclock):
    ind = open_inducer(vclock)
    with pytest.raises(ValidationError, match="channel must be 1 to 2"):
        ind.output_on(3)


def test_device_rejection_lands_in_the_error_queue(vclock):
    ind = open_inducer(vclock)
    ind.write("SOUR1:CURR 0.01")
    ind.write("FOO:BAR")
    assert [code for code, _ in ind.errors()] == [-222, -113]


def test_no_response_raises_within_the_timeout(vclock):
    ind = open_inducer(vclock)
    ind.port.simulator.inject("no_response", channel=1)
    t0 = vclock.monotonic()
    with pytest.raises(DeviceError, match="no reply"):
        ind.measure(1)
    assert vclock.monotonic() - t0 <= ind.timeout_s + 0.2


def test_garbled_reply_is_a_protocol_error(vclock):
    ind = open_inducer(vclock)
    ind.port.simulator.inject("garbled", channel=1)
    with pytest.raises(ProtocolError) as info:
        ind.measure(1)
    assert info.value.received and info.value.device == "inducer"


def test_disconnect_raises_device_error(vclock):
    ind = open_inducer(vclock)
    ind.port.simulator.inject("disconnect", channel=1)
    with pytest.raises(DeviceError, match="lost the connection"):
        ind.identify()


def test_fault_at_a_time_after_output_on(vclock):
    ind = open_inducer(vclock)
    ind.port.simulator.inject("no_response", channel=2, at_s=10)
    start(ind, 2)
    vclock.advance(9)
    ind.measure(2)
    vclock.advance(2)
    with pytest.raises(DeviceError):
        ind.measure(2)


@pytest.mark.parametrize("url, message", [
    ("sim://inducer?colour=red", "unknown option 'colour'"),
    ("sim://inducer?fault=smoke", "unknown fault 'smoke'"),
    ("sim://inducer?load=1:10mg", "not a resistance"),
    ("sim://inducer?load=10kohm", "CHANNEL:RESISTANCE"),
    ("sim://inducer?clock=nosuch", "no simulator clock named 'nosuch'"),
    ("sim://toaster", "unknown device 'toaster'"),
])
def test_bad_url_names_the_expected_form(url, message):
    with pytest.raises(serial.SerialException, match="expected a string in the form") as info:
        serial.serial_for_url(url)
    assert message in str(info.value)


def test_from_url_opens_the_port(vclock):
    ind = Inducer.from_url(f"sim://inducer?clock={vclock.name}")
    assert ind.port.simulator.clock is vclock
    assert ind.identify()
