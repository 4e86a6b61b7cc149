"""Replay of recorded chloridometer output.

Wire quirks: the analyzer never answers a command; it sends one line per analysis, CR LF, whenever the
analysis ends, so the driver does not flush input. ``*`` then two hex digits (XOR of every byte before
``*``) end each line. An ERROR record has empty value and unit fields and its code in the status field.
"""

from __future__ import annotations

import pytest

from drivers.chloridometer import AnalyzerError, Chloridometer
from sweattest.core.errors import ProtocolError
from sweattest.core.units import Q_
from tests.drivers.transcript import TranscriptPort

LINES = [
    b"SAMPLE;0012;2026-11-20;09:41:07;ST123-L;45.2;mmol/L;OK;*25\r\n",
    b"QC;0013;2026-11-20;09:43:30;NORMAL;98.7;mmol/L;OK;QC2291*6C\r\n",
    b"ERROR;0014;2026-11-20;09:45:55;ST123-R;;;E01;*5D\r\n",
]


def analyzer(*lines):
    port = TranscriptPort([(None, line) for line in lines])
    return Chloridometer(port, clock=port.clock), port


def test_sample_then_control_then_error():
    ana, port = analyzer(*LINES)
    sample = ana.read_result()
    assert (sample.record, sample.sample_id, sample.chloride, sample.flags) == (
        "sample", "ST123-L", Q_(45.2, "mmol/L"), ())
    qc = ana.read_result()
    assert (qc.record, qc.level, qc.lot, qc.chloride) == ("qc", "NORMAL", "QC2291", Q_(98.7, "mmol/L"))
    with pytest.raises(AnalyzerError, match="E01") as info:
        ana.read_result()
    assert info.value.sample_id == "ST123-R"
    port.assert_consumed()


def test_corrupted_checksum():
    ana, _ = analyzer(LINES[0].replace(b"45.2", b"46.2"))
    with pytest.raises(ProtocolError, match="checksum"):
        ana.read_result()
