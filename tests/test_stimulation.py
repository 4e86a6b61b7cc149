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
    assert fault.code == "open_circuit" and "Output is off" in fault.message


def test_compliance_voltage_is_immediate():
    _, fault = check(PLAN, MonitorState(), 100, 1.5, 1.0, 23.6)
    assert fault.code == "compliance_voltage"


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
