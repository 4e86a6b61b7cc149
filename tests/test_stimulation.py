"""The pure stimulation plan and fault monitor (Webster 3700 / Macroduct 3710: 1.5 mA, 5 min, 20 s ramp)."""

import pytest

from sweattest.core.protocol import load_protocol
from sweattest.core.stimulation import MonitorState, StimulationPlan, check
from sweattest.core.units import Q_

PLAN = StimulationPlan.from_protocol(load_protocol("macroduct"))


def test_profile_ramps_up_holds_and_ramps_down():
    assert PLAN.setpoint_ma(0) == 0
    assert PLAN.setpoint_ma(10) == pytest.approx(0.75)
    assert PLAN.setpoint_ma(20) == pytest.approx(1.5)
    assert PLAN.setpoint_ma(150) == 1.5
    assert PLAN.setpoint_ma(290) == pytest.approx(0.75)
    assert PLAN.setpoint_ma(300) == 0
    assert [PLAN.phase(t) for t in (5, 100, 290, 300)] == ["ramp_up", "hold", "ramp_down", "done"]


def test_expected_charge_of_the_ideal_profile():
    assert PLAN.expected_charge() == Q_(1.5 * 280 / 60, "mA*min")


def test_a_reading_within_tolerance_is_no_fault():
    assert check(PLAN, MonitorState(), 100, 1.5, 1.4, 12.0) == (MonitorState(None), None)


def test_open_circuit_is_immediate():
    _, fault = check(PLAN, MonitorState(), 100, 1.5, 0.0, 24.0)
    assert fault.code == "open_circuit" and "no current flows (0.000 mA)" in fault.message
    # the monitor does not know whether the output went off: the loop adds what the inducer confirmed
    assert "output is off" not in fault.message.lower()


@pytest.mark.parametrize("current_ma", [1.0, 0.012])  # rising skin resistance; 2 MOhm at 24 V passes 12 uA
def test_high_skin_impedance_at_the_compliance_limit_is_not_an_open_circuit(current_ma):
    _, fault = check(PLAN, MonitorState(), 100, 1.5, current_ma, 23.6)
    assert fault.code == "compliance_voltage"
    assert fault.message.startswith("high skin impedance 100.0 s into stimulation: compliance limit reached "
                                    f"(23.6 V of 24.0 V) with {current_ma:.3f} mA flowing instead of 1.50 mA")


def test_no_current_at_the_compliance_voltage_is_an_open_circuit_even_on_the_ramp():
    _, fault = check(PLAN, MonitorState(), 0.1, 0.0075, 0.0, 24.0)
    assert fault.code == "open_circuit"


def test_over_current_is_immediate():
    _, fault = check(PLAN, MonitorState(), 100, 1.5, 1.7, 12.0)
    assert fault.code == "over_current"


def test_deviation_is_a_fault_only_after_the_grace_time():
    state, fault = check(PLAN, MonitorState(), 100.0, 1.5, 1.2, 12.0)
    assert fault is None and state.deviating_since == 100.0
    state, fault = check(PLAN, state, 101.9, 1.5, 1.2, 12.0)
    assert fault is None
    state, fault = check(PLAN, state, 102.0, 1.5, 1.2, 12.0)
    assert fault.code == "current_deviation"


def test_a_deviation_that_recovers_resets_the_grace_time():
    state, _ = check(PLAN, MonitorState(), 100.0, 1.5, 1.2, 12.0)
    state, _ = check(PLAN, state, 101.0, 1.5, 1.5, 12.0)
    state, fault = check(PLAN, state, 102.5, 1.5, 1.2, 12.0)
    assert fault is None and state.deviating_since == 102.5
