"""`sweattest simulate ... --option/--fault/--sample`: numbers follow the one grammar; nothing starts otherwise.

A refused option ends the command with exit status 2 and one line naming the option, before any
pseudo-terminal is opened.
"""

from __future__ import annotations

import pytest

from drivers.simulators import pty_server
from sweattest.cli import simulate


@pytest.fixture
def no_terminal(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a simulator was started although its options were refused")
    monkeypatch.setattr(pty_server, "PtyServer", refuse)


@pytest.mark.parametrize("args, words", [
    (["balance", "--option", "settle=nan"], ["settle", "'nan' is not a number"]),
    (["balance", "--option", "settle=inf s"], ["settle", "'inf s' is not a number"]),
    (["balance", "--option", "settle=9**9**9"], ["settle", "cannot read '9**9**9' as a number"]),
    (["balance", "--option", "settle=1e999999"], ["settle", "the exponent is outside -30 to 30"]),
    (["balance", "--option", "settle=1,5s"], ["settle", "1,5: use a decimal point (1.5), not a comma"]),
    (["balance", "--option", "mass=NaN g"], ["mass", "'NaN g' is not a number"]),
    (["balance", "--option", "mass=2*3 g"], ["mass", "cannot read '2*3' as a number"]),
    (["inducer", "--option", "channels=nan"], ["channels", "'nan' is not a number"]),
    (["inducer", "--option", "channels=1_0"], ["channels", "cannot read '1_0' as a number"]),
    (["inducer", "--option", "channels=2.5"], ["channels", "must be a whole number"]),
    (["inducer", "--option", "load=1:inf kohm"], ["load", "'inf kohm' is not a number"]),
    (["inducer", "--option", "load=1:1e999999 kohm"], ["load", "the exponent is outside"]),
    (["inducer", "--option", "watchdog=9**9**6 s"], ["watchdog", "cannot read '9**9**6' as a number"]),
    (["inducer", "--fault", "open_circuit@nan"], ["open_circuit@nan", "'nan' is not a number"]),
    (["inducer", "--fault", "open_circuit@1e999999s"], ["the exponent is outside"]),
    (["inducer", "--fault", "open_circuit@10s:0x1"], ["fault channel", "cannot read '0x1' as a number"]),
    (["chloridometer", "--option", "analysis=-inf"], ["analysis", "'-inf' is not a number"]),
    (["chloridometer", "--sample", "ST1-L=nan mmol/L"], ["--sample", "'nan mmol/L' is not a number"]),
    (["chloridometer", "--sample", "ST1-L=9**9**9 mmol/L"], ["--sample", "cannot read '9**9**9'"]),
    (["chloridometer", "--sample", "ST1-L=45,5 mmol/L"], ["--sample", "45,5: use a decimal point (45.5)"]),
    (["chloridometer", "--results", "normal=nan mmol/L"], ["results 'normal=nan mmol/L'", "is not a number"]),
    (["chloridometer", "--results", "*-1=45,5mmol/L"], ["results", "use a decimal point"]),
    (["chloridometer", "--results", "45mmol/L"], ["results '45mmol/L': write PATTERN=CHLORIDE"]),
    (["chloridometer", "--results", "*-1=900mmol/L"], ["a chloride from 0 to 400 mmol/L"]),
    (["balance", "--results", "*-1=45mmol/L"], ["--results is for the chloridometer only"]),
])
def test_a_bad_number_in_an_option_is_refused_before_anything_starts(no_terminal, capsys, args, words):
    assert simulate.main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "Traceback" not in captured.err
    for w in words:
        assert w in captured.err, captured.err


def test_a_chloridometer_simulator_identifies_itself_and_measures_what_is_loaded_by_itself():
    """``ID?`` is answered as a sweattest simulator; ``LOAD <id>`` and ``CONTROL <level>`` without a value measure
    the first matching pattern of ``results`` (then the defaults), one analysis time later, with its noise."""
    from drivers.chloridometer import Chloridometer
    from drivers.simulators.clocks import set_clock
    from sweattest.core.clock import VirtualClock

    set_clock(VirtualClock(), "measures-by-itself")
    url = "sim://chloridometer?analysis=20s&seed=4&results=*-1:60mmol/L,abnormal:95mmol/L&clock=measures-by-itself"
    with Chloridometer.from_url(url) as analyzer:
        assert analyzer.identify() == ("SWEATTEST", "CL-SIM", "CL000004", "1.0")
        measured = {}
        for line, ident in (("LOAD R1-1", "R1-1"), ("LOAD R1-2", "R1-2"), ("CONTROL abnormal", "abnormal"),
                            ("CONTROL normal QCN-2611", "normal")):
            analyzer.write(line)
            result = analyzer.read_result(timeout_s=30)
            assert result.sample_id == ident
            measured[ident] = result.chloride.to("mmol/L").magnitude
    assert measured == {"R1-1": pytest.approx(60, rel=0.06), "R1-2": pytest.approx(48, rel=0.06),
                        "abnormal": pytest.approx(95, rel=0.06), "normal": pytest.approx(40, rel=0.06)}
