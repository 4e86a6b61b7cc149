"""The chloridometer driver against its simulator over sim:// on an instant virtual clock."""

from __future__ import annotations

import pytest
import serial

from drivers.chloridometer import AnalyzerError, Chloridometer
from sweattest.core.errors import DeviceError, ProtocolError
from sweattest.core.units import Q_


def open_analyzer(vclock, query="") -> Chloridometer:
    url = f"sim://chloridometer?seed=4&clock={vclock.name}" + (f"&{query}" if query else "")
    return Chloridometer(serial.serial_for_url(url, baudrate=9600, timeout=1.0))


def test_sample_result_arrives_after_the_analysis_time(vclock):
    ana = open_analyzer(vclock)
    ana.port.simulator.load_sample("ST-2026-000123-L", Q_(45, "mmol/L"))
    result = ana.read_result(timeout_s=60)
    assert result.record == "sample" and result.sample_id == "ST-2026-000123-L"
    assert result.chloride.units == Q_(1, "mmol/L").units
    assert result.chloride.magnitude == pytest.approx(45, abs=3)
    assert result.flags == () and result.error is None
    assert 20 <= vclock.monotonic() < 21


def test_samples_are_analyzed_one_after_another(vclock):
    ana = open_analyzer(vclock)
    ana.port.simulator.load_sample("A", Q_(30, "mmol/L"))
    ana.port.simulator.load_sample("B", Q_(70, "mmol/L"))
    assert [ana.read_result().sample_id for _ in range(2)] == ["A", "B"]
    assert 40 <= vclock.monotonic() < 41


def test_control_result_carries_level_and_lot(vclock):
    ana = open_analyzer(vclock)
    ana.port.simulator.run_control("NORMAL", "QC2291", Q_(100, "mmol/L"))
    result = ana.read_result()
    assert (result.record, result.level, result.lot) == ("qc", "NORMAL", "QC2291")


def test_calibration_record(vclock):
    ana = open_analyzer(vclock)
    ana.port.simulator.calibrate("STD100", "CAL77")
    assert ana.read_result().record == "calibration"


def test_low_result_is_flagged(vclock):
    ana = open_analyzer(vclock)
    ana.port.simulator.load_sample("S1", Q_(4, "mmol/L"))
    assert ana.read_result().flags == ("LOW",)


def test_error_code_raises_analyzer_error_with_the_action(vclock):
    ana = open_analyzer(vclock, "fault=E01")
    ana.port.simulator.load_sample("S1", Q_(45, "mmol/L"))
    expected = "E01 .no titration end point.*Clean the silver electrodes"
    with pytest.raises(AnalyzerError, match=expected) as info:
        ana.read_result()
    assert info.value.code == "E01" and info.value.sample_id == "S1"
    ana.port.simulator.load_sample("S1", Q_(45, "mmol/L"))  # the rerun succeeds
    assert ana.read_result().sample_id == "S1"


def test_bad_checksum_is_a_protocol_error(vclock):
    ana = open_analyzer(vclock)
    ana.port.simulator.inject("bad_checksum")
    ana.port.simulator.load_sample("S1", Q_(45, "mmol/L"))
    with pytest.raises(ProtocolError, match="checksum"):
        ana.read_result()


def test_silent_analyzer_times_out(vclock):
    ana = open_analyzer(vclock, "fault=silent")
    ana.port.simulator.load_sample("S1", Q_(45, "mmol/L"))
    t0 = vclock.monotonic()
    with pytest.raises(DeviceError, match="nothing received within 60 s"):
        ana.read_result(timeout_s=60)
    assert vclock.monotonic() - t0 < 62


def test_garbled_line_is_a_protocol_error(vclock):
    ana = open_analyzer(vclock, "fault=garbled")
    ana.port.simulator.load_sample("S1", Q_(45, "mmol/L"))
    with pytest.raises(ProtocolError):
        ana.read_result()
