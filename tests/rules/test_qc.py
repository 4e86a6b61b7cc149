"""QC: two control levels per run (CLSI C34; CLIA), Westgard multirule (as cited by CLSI C34), release
gate and calibration due date. Each Westgard rule has a series that trips it and one that just does not.

Targets: normal lot N1 mean 40, SD 2 mmol/L; abnormal lot A1 mean 100, SD 4 mmol/L; values are given
as z-scores (SDs from the mean) to read the rules directly.
"""

import itertools
from datetime import date

import pytest

from sweattest.core.config import load_config
from sweattest.core.errors import ConfigError, ValidationError
from sweattest.core.rules.findings import Severity, codes
from sweattest.core.rules.qc import (
    ControlLot,
    ControlResult,
    QCRun,
    can_release,
    check_calibration,
    evaluate_run,
)
from sweattest.core.rules.westgard import DEFAULT_REJECT, WestgardRules, parse_rules
from sweattest.core.units import Q_

TARGETS = {"N1": ControlLot("normal", "N1", Q_(40, "mmol/L"), Q_(2, "mmol/L")),
           "A1": ControlLot("abnormal", "A1", Q_(100, "mmol/L"), Q_(4, "mmol/L"))}


def qc_run(run_id, z_normal, z_abnormal=0.0, analyzer="CC3400-1"):
    return QCRun(run_id, analyzer, (
        ControlResult("normal", "N1", Q_(40 + 2 * z_normal, "mmol/L")),
        ControlResult("abnormal", "A1", Q_(100 + 4 * z_abnormal, "mmol/L"))))


def history(pairs):
    return [qc_run(f"r{i}", n, a) for i, (n, a) in enumerate(pairs)]


# (history pairs (z normal, z abnormal), current pair, expected codes, source)
WESTGARD_CASES = [
    ([], (0.5, -0.5), [], "in control"),
    ([], (2.0, 0), [], "Westgard 1-2s: exactly 2 SD does not trip"),
    ([], (2.1, 0), ["westgard_1_2s"], "Westgard 1-2s: beyond 2 SD warns"),
    ([], (3.0, 0), ["westgard_1_2s"], "Westgard 1-3s: exactly 3 SD does not reject"),
    ([], (-3.1, 0), ["westgard_1_3s"], "Westgard 1-3s: beyond 3 SD rejects"),
    ([], (2.1, 2.1), ["westgard_2_2s"], "Westgard 2-2s: both levels beyond +2 SD"),
    ([], (2.1, 2.0), ["westgard_1_2s"], "Westgard 2-2s: second only at 2 SD does not trip"),
    ([], (2.1, -2.1), ["westgard_r_4s"], "Westgard R-4s: +2 SD and -2 SD in one run"),
    ([], (2.1, -2.0), ["westgard_1_2s"], "Westgard R-4s: -2.0 is not beyond -2 SD"),
    ([(1.1, 0), (1.1, 0), (1.1, 0)], (1.1, 0), ["westgard_4_1s"], "Westgard 4-1s: four runs > +1 SD"),
    ([(1.1, 0), (1.1, 0), (1.0, 0)], (1.1, 0), [], "Westgard 4-1s: one at exactly 1 SD breaks it"),
    ([(0.5, 1.5), (0.2, 1.2)], (0.3, 0.1), [], "Westgard 4-1s across levels needs four in a row"),
    ([(-1.2, -1.5)], (-1.1, -1.3), ["westgard_4_1s"], "Westgard 4-1s across levels: two runs x 2"),
    ([(0.3, 0)] * 9, (0.1, 0), ["westgard_10_x"], "Westgard 10-x: ten normal controls above the mean"),
    ([(0.3, 0)] * 8, (0.1, 0), [], "Westgard 10-x: nine do not reject"),
    ([(0.3, -0.2)] * 4 + [(0.4, 0.3)] * 1, (0.2, 0.1), [], "10-x across levels needs ten in a row"),
    ([(-0.1, -0.2)] * 4, (-0.3, -0.4), ["westgard_10_x"], "Westgard 10-x across levels: 5 runs x 2"),
    ([(2.1, 0)], (2.2, 0), ["westgard_1_2s", "westgard_2_2s_across"],
     "Westgard 2-2s across runs within one level"),
    ([(2.1, 0)], (-2.2, 0), ["westgard_1_2s"], "Westgard 2-2s across runs: opposite sides do not trip"),
]


@pytest.mark.parametrize(("past", "current", "expected", "source"), WESTGARD_CASES)
def test_westgard_rules(past, current, expected, source):
    result = evaluate_run(qc_run("now", *current), TARGETS, history(past))
    assert codes(result.findings) == expected, source
    assert result.rejected is any(c != "westgard_1_2s" for c in expected), source


def test_history_of_another_analyzer_is_ignored():
    past = [qc_run(f"r{i}", 1.5, 0, analyzer="CC3400-2") for i in range(3)]
    assert evaluate_run(qc_run("now", 1.5), TARGETS, past).findings == ()


def test_release_gate():
    # CLSI C34: results released only when QC is in control
    assert [(f.code, f.severity) for f in can_release(None)] == [("qc_missing", Severity.BLOCK)]
    rejected = evaluate_run(qc_run("now", 3.5), TARGETS)
    assert codes(can_release(rejected)) == ["qc_rejected"]
    assert "westgard_1_3s" in can_release(rejected)[0].message
    assert can_release(evaluate_run(qc_run("now", 2.5), TARGETS)) == []  # 1-2s warning only
    one_level = QCRun("now", "CC3400-1", (ControlResult("normal", "N1", Q_(40, "mmol/L")),))
    assert codes(can_release(evaluate_run(one_level, TARGETS))) == ["qc_rejected"]
    assert codes(evaluate_run(one_level, TARGETS).findings) == ["qc_levels_missing"]


@pytest.mark.parametrize(("result", "match"), [
    (ControlResult("normal", "N9", Q_(40, "mmol/L")), "no target"),
    (ControlResult("abnormal", "N1", Q_(40, "mmol/L")), "normal control"),
    (ControlResult("normal", "N1", Q_(40, "mg")), "normal control"),
])
def test_qc_bad_input(result, match):
    with pytest.raises(ValidationError, match=match):
        evaluate_run(QCRun("now", "CC3400-1", (result,)), TARGETS)


# (last calibrated, on, expected codes, source)
CALIBRATION_CASES = [
    (date(2026, 11, 1), date(2026, 11, 29), [], "CLSI C34: within a 30-day interval"),
    (date(2026, 11, 1), date(2026, 12, 1), ["calibration_due"], "due on last + interval"),
    (date(2026, 11, 1), date(2026, 12, 2), ["calibration_overdue"], "overdue blocks analysis"),
]


@pytest.mark.parametrize(("last", "on", "expected", "source"), CALIBRATION_CASES)
def test_calibration_due_per_analyzer(last, on, expected, source):
    findings = check_calibration("CC3400-1", last, Q_(30, "day"), on)
    assert codes(findings) == expected, source


LOTS_2X2 = TARGETS | {"N2": ControlLot("normal", "N2", Q_(40, "mmol/L"), Q_(2, "mmol/L")),
                      "A2": ControlLot("abnormal", "A2", Q_(100, "mmol/L"), Q_(4, "mmol/L"))}
#: Two lots per level, the run the QA desk was tried with: QCN-A +2.5, QCN-B -0.2, QCA-A +2.4, QCA-B -0.1.
FOUR = [ControlResult("normal", "N1", Q_(45.0, "mmol/L")), ControlResult("normal", "N2", Q_(39.6, "mmol/L")),
        ControlResult("abnormal", "A1", Q_(109.6, "mmol/L")), ControlResult("abnormal", "A2", Q_(99.6, "mmol/L"))]


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_two_controls_beyond_2sd_reject_the_run_in_any_order(order):
    # Westgard 2-2s within a run: any two of its controls (any lots, any levels) beyond the same 2 SD limit
    run = QCRun("now", "CC3400-1", tuple(FOUR[i] for i in order))
    result = evaluate_run(run, LOTS_2X2)
    assert result.rejected and codes(result.findings) == ["westgard_2_2s"]
    assert codes(can_release(result)) == ["qc_rejected"]


def test_four_controls_beyond_1sd_reject_within_one_run():
    # Westgard 4-1s across materials within a run (four controls, two lots per level)
    run = QCRun("now", "CC3400-1", tuple(ControlResult(c.level, c.lot, Q_(v, "mmol/L")) for c, v in
                                         zip(FOUR, (42.4, 42.3, 104.5, 104.2), strict=True)))
    assert codes(evaluate_run(run, LOTS_2X2).findings) == ["westgard_4_1s"]


def test_the_labs_rules_decide_what_rejects_and_what_warns():
    rules = WestgardRules(reject=("1-3s", "R-4s", "10x"), warn=("1-2s", "4-1s"))
    result = evaluate_run(qc_run("now", 1.1), TARGETS, history([(1.1, 0)] * 3), rules)
    assert not result.rejected and codes(result.findings) == ["westgard_4_1s"]
    assert result.findings[0].severity is Severity.WARN
    off = evaluate_run(QCRun("now", "CC3400-1", tuple(FOUR)), LOTS_2X2, (), rules)  # 2-2s not in use
    assert not off.rejected and codes(off.findings) == ["westgard_1_2s"]


@pytest.mark.parametrize(("section", "words"), [
    ({"reject": ["1-3s", "3-1s"]}, "unknown rule '3-1s'"),
    ({"reject": "1-3s"}, "a list of rules in quotes"),
    ({"reject": ["1-3s"], "warn": ["1-3s"]}, "both in reject and in warn"),
    ({"reject": []}, "reject is empty"),
])
def test_qc_rules_configuration_refused(section, words):
    with pytest.raises(ConfigError, match=words):
        parse_rules(section, "lab.toml")


def test_qc_rules_configuration_defaults_and_file(tmp_path):
    assert parse_rules({}, "x") == WestgardRules(DEFAULT_REJECT, ("1-2s",))
    file = tmp_path / "lab.toml"
    file.write_text('[qc]\nestablish_runs = 20\nreject = ["1-3s", "R-4s"]\nwarn = ["1-2s", "2-2s"]\n')
    config = load_config(file)
    assert config.qc_rules == WestgardRules(("1-3s", "R-4s"), ("1-2s", "2-2s")) and config.establish_runs == 20
