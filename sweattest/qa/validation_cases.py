"""The clinical rule cases of ``sweattest validate`` (operational qualification), as data.

Each case names the rule it exercises, the guideline the rule implements (the rule module's own source text),
the inputs (quantities as text with their units, dates as ISO text) and the outcome the guideline asks for.
``sweattest.qa.validation`` runs each against the live rule functions; ``kind`` says which rule call it is.
The cases mirror the rule tests (tests/rules) at the limits a guideline draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sweattest.core.rules import adequacy, chloride, eligibility, interpretation, qc, ranges, reagents, westgard


@dataclass(frozen=True)
class RuleCase:
    id: str
    #: the rule as the report names it, and where it lives
    rule: str
    module: str
    #: the guideline (and section) the rule implements
    source: str
    #: which rule call runs the case (``sweattest.qa.validation.KINDS``)
    kind: str
    inputs: dict[str, Any] = field(default_factory=dict)
    #: the outcome the guideline asks for, as the runner words it
    expected: str = ""


_ADEQ = "sweattest/core/rules/adequacy.py"
_CL = "sweattest/core/rules/chloride.py"
_RANGES = "sweattest/core/rules/ranges.py"
_INTERP = "sweattest/core/rules/interpretation.py"
_QC = "sweattest/core/rules/qc.py"
_WG = "sweattest/core/rules/westgard.py"
_LOT = "sweattest/core/rules/reagents.py"
_ELIG = "sweattest/core/rules/eligibility.py"
_MIN = "Minimum sample for analysis"

#: The rule module -> the test file of the source tree that tests it in depth (every limit, both sides).
RULE_TESTS = {_ADEQ: "tests/rules/test_adequacy.py", _CL: "tests/rules/test_chloride.py",
              _RANGES: "tests/rules/test_interpretation.py", _INTERP: "tests/rules/test_interpretation.py",
              _QC: "tests/rules/test_qc.py", _WG: "tests/rules/test_qc.py", _LOT: "tests/rules/test_reagents.py",
              _ELIG: "tests/rules/test_eligibility.py"}

RULE_CASES: tuple[RuleCase, ...] = (
    RuleCase("ADQ-1", _MIN, _ADEQ, adequacy.SRC_MINIMUM, "volume",
             {"method": "macroduct", "volume": "15 uL", "collection": "30 min"}, "adequate"),
    RuleCase("ADQ-2", _MIN, _ADEQ, adequacy.SRC_MINIMUM, "volume",
             {"method": "macroduct", "volume": "14 uL", "collection": "30 min"}, "QNS"),
    RuleCase("ADQ-3", _MIN, _ADEQ, adequacy.SRC_MINIMUM, "weights",
             {"method": "gibson_cooke", "pre": "1000.04 mg", "post": "1075.04 mg", "collection": "30 min"},
             "adequate"),
    RuleCase("ADQ-4", _MIN, _ADEQ, adequacy.SRC_MINIMUM, "weights",
             {"method": "gibson_cooke", "pre": "1000.04 mg", "post": "1075.03 mg", "collection": "30 min"}, "QNS"),
    RuleCase("ADQ-5", "Collection time at most 30 minutes", _ADEQ, adequacy.SRC_MAX_TIME, "volume",
             {"method": "macroduct", "volume": "20 uL", "collection": "40 min"}, "adequate; collection_too_long"),
    RuleCase("CL-1", "Whole mmol/L, rounded once", _CL, "CLSI C34 (whole mmol/L)", "chloride",
             {"method": "macroduct", "measured": "29.5 mmol/L"}, "reported 30"),
    RuleCase("CL-2", "Below the measuring range", _CL, chloride.SRC_RANGE_LOW, "chloride",
             {"method": "macroduct", "measured": "9.6 mmol/L"}, "below_range <10"),
    RuleCase("CL-3", "Above the measuring range", _CL, chloride.SRC_RANGE_HIGH, "chloride",
             {"method": "macroduct", "measured": "160.4 mmol/L"}, "not_reportable; repeat"),
    RuleCase("RNG-1", "Interpretive ranges (CF unlikely)", _RANGES, ranges.SRC_CFF2017, "category",
             {"ranges": "cff_2017", "chloride": 29}, "cf_unlikely"),
    RuleCase("RNG-2", "Interpretive ranges (intermediate)", _RANGES, ranges.SRC_CFF2017, "category",
             {"ranges": "cff_2017", "chloride": 30}, "intermediate"),
    RuleCase("RNG-3", "Interpretive ranges (intermediate)", _RANGES, ranges.SRC_CFF2017, "category",
             {"ranges": "cff_2017", "chloride": 59}, "intermediate"),
    RuleCase("RNG-4", "Interpretive ranges (CF likely)", _RANGES, ranges.SRC_CFF2017, "category",
             {"ranges": "cff_2017", "chloride": 60}, "cf_likely"),
    RuleCase("RNG-5", "UK ranges, 6 months or over", _RANGES, ranges.SRC_UK2014, "category",
             {"ranges": "uk_2014", "born": "2025-01-10", "on": "2026-01-10", "chloride": 60}, "intermediate"),
    RuleCase("RNG-6", "UK ranges: the day of 6 calendar months is the older group", _RANGES, ranges.SRC_UK2014,
             "category", {"ranges": "uk_2014", "born": "2025-09-01", "on": "2026-03-01", "chloride": 35},
             "cf_unlikely"),
    RuleCase("RNG-7", "C34-A3 ranges: 5 months 30 days is the infant group", _RANGES, ranges.SRC_C34A3,
             "category", {"ranges": "clsi_c34_a3", "born": "2026-05-21", "on": "2026-11-20", "chloride": 35},
             "intermediate"),
    RuleCase("INT-1", "One site QNS: the other is reported", _INTERP, interpretation.SRC_QNS, "interpret",
             {"sites": [["40 uL", "45 mmol/L"], ["5 uL", None]]}, "intermediate; repeat; site_qns"),
    RuleCase("INT-2", "Every site QNS: the test is QNS", _INTERP, interpretation.SRC_QNS, "interpret",
             {"sites": [["5 uL", None], ["4 uL", None]]}, "none; repeat; test_qns"),
    RuleCase("INT-3", "Sites reported separately; the higher value decides", _INTERP, interpretation.SRC_HIGHER,
             "interpret", {"sites": [["40 uL", "25 mmol/L"], ["40 uL", "65 mmol/L"]]},
             "cf_likely; repeat; bilateral_discordant"),
    RuleCase("QC-1", "Westgard 1-3s", _QC, qc.SRC_WESTGARD, "westgard", {"z": [3.1, 0.0]},
             "rejected; westgard_1_3s"),
    RuleCase("QC-2", "Westgard 1-2s warning", _QC, qc.SRC_WESTGARD, "westgard", {"z": [2.1, 0.0]},
             "accepted; westgard_1_2s"),
    RuleCase("QC-3", "Westgard R-4s", _QC, qc.SRC_WESTGARD, "westgard", {"z": [2.1, -2.1]},
             "rejected; westgard_r_4s"),
    RuleCase("QC-4", "Two control levels each run", _QC, qc.SRC_LEVELS, "westgard", {"z": [0.0]},
             "rejected; qc_levels_missing"),
    RuleCase("QC-5", "Results released only with QC in control", _QC, qc.SRC_RELEASE, "release", {"z": [3.1, 0.0]},
             "qc_rejected"),
    RuleCase("QC-6", "Calibration check due", _QC, qc.SRC_CALIBRATION, "calibration",
             {"last": "2026-11-01", "interval": "30 day", "on": "2026-12-02"}, "calibration_overdue"),
    RuleCase("QC-7", "Westgard 2-2s within a run, across lots and levels", _WG, westgard.SRC_WESTGARD, "westgard",
             {"controls": [["normal", 2.5], ["normal", -0.2], ["abnormal", 2.4], ["abnormal", -0.1]]},
             "rejected; westgard_2_2s"),
    RuleCase("QC-8", "Westgard 2-2s across runs, one level", _WG, westgard.SRC_WESTGARD, "westgard",
             {"history": [[2.1, 0.0]], "z": [2.2, 0.0]}, "rejected; westgard_1_2s; westgard_2_2s_across"),
    RuleCase("QC-9", "Westgard 4-1s across runs", _WG, westgard.SRC_WESTGARD, "westgard",
             {"history": [[1.1, 0.0]] * 3, "z": [1.1, 0.0]}, "rejected; westgard_4_1s"),
    RuleCase("QC-10", "Westgard 4-1s: one control at exactly 1 SD breaks the run of four", _WG,
             westgard.SRC_WESTGARD, "westgard", {"history": [[1.1, 0.0], [1.1, 0.0], [1.0, 0.0]], "z": [1.1, 0.0]},
             "accepted"),
    RuleCase("QC-11", "Westgard 10x across runs", _WG, westgard.SRC_WESTGARD, "westgard",
             {"history": [[0.3, 0.0]] * 9, "z": [0.1, 0.0]}, "rejected; westgard_10_x"),
    RuleCase("QC-12", "Westgard 10x: nine on one side do not reject", _WG, westgard.SRC_WESTGARD, "westgard",
             {"history": [[0.3, 0.0]] * 8, "z": [0.1, 0.0]}, "accepted"),
    RuleCase("QC-13", "A held run: corrective action without QC passing again", _QC, qc.SRC_HOLD, "hold",
             {"z": [3.1, 0.0], "corrected": True, "passed_since": False}, "qc_rejected"),
    RuleCase("QC-14", "A held run: QC passing again without a corrective action", _QC, qc.SRC_HOLD, "hold",
             {"z": [3.1, 0.0], "corrected": False, "passed_since": True}, "qc_rejected"),
    RuleCase("QC-15", "A held run: corrective action, then QC passing again", _QC, qc.SRC_HOLD, "hold",
             {"z": [3.1, 0.0], "corrected": True, "passed_since": True}, "released"),
    RuleCase("LOT-1", "Pilocarpine lot within expiry", _LOT, reagents.SRC_LOT, "lot",
             {"lot": "PG1", "expires": "2026-11-20", "on": "2026-11-20"}, "none"),
    RuleCase("LOT-2", "Pilocarpine lot within expiry", _LOT, reagents.SRC_LOT, "lot",
             {"lot": "PG1", "expires": "2026-11-20", "on": "2026-11-21"}, "pilocarpine_lot_expired"),
    RuleCase("ELG-1", "Minimum age at collection", _ELIG, eligibility.SRC_MIN_AGE, "eligibility",
             {"born": "2026-11-19", "on": "2026-11-20T10:00:00+00:00"}, "blocked"),
    RuleCase("ELG-2", "Stimulation site", _ELIG, eligibility.SRC_SITE, "site", {"site": "chest"},
             "site_not_allowed"),
)
