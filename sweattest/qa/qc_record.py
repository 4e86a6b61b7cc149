"""The QC record as the QA desk reads it: each analytical run with its recorded verdict and what was done about a
hold; each day with patient tests and whether both control levels were run that day; cumulative statistics per
lot and month (n, mean, SD, CV). Patient series only unless a purpose is asked for.

Sources: CLSI C34 and CLIA 42 CFR 493.1256 (two levels of control each day of patient testing); CLSI C24
(cumulative control statistics per lot: mean, SD and CV, reviewed monthly).
"""

from __future__ import annotations

import statistics
from datetime import UTC, date
from typing import Any

from sweattest.core.purpose import PATIENT
from sweattest.core.rules.qc import SRC_HOLD
from sweattest.qa.pack_section import PackSection
from sweattest.record.analytical_qc import controls_between
from sweattest.record.qc_lots import LEVELS
from sweattest.record.qc_verdicts import actions, standing_verdicts
from sweattest.record.run_counts import patient_test_times
from sweattest.record.run_filter import day_bounds

SRC_DAILY = "CLSI C34; CLIA 42 CFR 493.1256 (two levels of control each day of patient testing)"
SRC_CUMULATIVE = "CLSI C24 (cumulative QC statistics per control lot: n, mean, SD, CV)"


def _controls(store, date_from: date | None, date_to: date | None, purpose: str) -> list[dict[str, Any]]:
    return controls_between(store, *day_bounds(date_from, date_to), purpose)


def patient_controls(store, date_from: date | None = None, date_to: date | None = None) -> list[dict[str, Any]]:
    """Every control result of the patient series in the period, oldest first."""
    return _controls(store, date_from, date_to, PATIENT)


def qc_runs(store, date_from: date | None = None, date_to: date | None = None, *, analyzer: str | None = None,
            purpose: str = PATIENT) -> list[dict[str, Any]]:
    """Each analytical run of the period: its verdict as recorded, the rules it broke, the corrective actions
    and override of a held run."""
    controls = _controls(store, date_from, date_to, purpose)
    names = list(dict.fromkeys(r["qc_run"] for r in controls if analyzer in (None, r["analyzer"])))
    verdicts = standing_verdicts(store, names) if names else {}
    acts: dict[str, list] = {}
    for act in actions(store):
        acts.setdefault(act.qc_run, []).append(act)
    out = []
    for name in names:
        mine = [r for r in controls if r["qc_run"] == name]
        found = verdicts.get(name)
        done = acts.get(name, [])
        out.append({
            "qc_run": name, "analyzer": mine[0]["analyzer"], "purpose": purpose,
            "first_control_at": mine[0]["at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M"), "controls": len(mine),
            "verdict": "not judged" if found is None else found.state,
            "rules": ", ".join(f.code for f in found.findings) if found else "",
            "judged_at": found.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if found else "",
            "corrective_action": "; ".join(f"{a.at:%Y-%m-%d} {a.who}: {a.text}" for a in done
                                           if a.kind == "corrective_action"),
            "override": "; ".join(f"{a.at:%Y-%m-%d} {a.who}: {a.text}" for a in done if a.kind == "override")})
    return out


def qc_days(store, date_from: date | None = None, date_to: date | None = None) -> list[dict[str, Any]]:
    """Each day (UTC) with patient tests: how many, and the control levels each analyzer ran that day; both
    levels run is ``yes`` only when one analyzer ran every level."""
    tests: dict[date, int] = {}
    for created in patient_test_times(store, date_from, date_to):
        day = created.astimezone(UTC).date()
        tests[day] = tests.get(day, 0) + 1
    levels: dict[date, dict[str, set[str]]] = {}
    for r in _controls(store, min(tests, default=None), max(tests, default=None), PATIENT) if tests else []:
        levels.setdefault(r["at"].astimezone(UTC).date(), {}).setdefault(r["analyzer"], set()).add(r["level"])
    out = []
    for day in sorted(tests):
        ran = levels.get(day, {})
        both = any(all(level in got for level in LEVELS) for got in ran.values())
        text = "; ".join(f"{a}: {', '.join(lv for lv in LEVELS if lv in got)}" for a, got in sorted(ran.items()))
        out.append({"day": day.isoformat(), "patient_tests": tests[day], "controls_run": text or "none",
                    "both_levels": "yes" if both else "NO"})
    return out


def cumulative(store, date_from: date | None = None, date_to: date | None = None,
               purpose: str = PATIENT) -> list[dict[str, Any]]:
    """n, mean, SD and CV of each lot per month, and of each lot over the whole period (month ``all``)."""
    groups: dict[tuple[str, str, str, str], list[float]] = {}
    for r in _controls(store, date_from, date_to, purpose):
        month = r["at"].astimezone(UTC).strftime("%Y-%m")
        for key in ((r["analyzer"], r["level"], r["lot"], month), (r["analyzer"], r["level"], r["lot"], "all")):
            groups.setdefault(key, []).append(r["value"])
    order = {level: i for i, level in enumerate(LEVELS)}
    out = []
    for (analyzer, level, lot, month), values in sorted(groups.items(), key=lambda kv: (
            kv[0][0], order.get(kv[0][1], 9), kv[0][2], kv[0][3] == "all", kv[0][3])):
        mean = statistics.fmean(values)
        sd = statistics.stdev(values) if len(values) > 1 else None
        out.append({"analyzer": analyzer, "level": level, "lot": lot, "month": month, "n": len(values),
                    "mean": round(mean, 2), "sd": None if sd is None else round(sd, 2),
                    "cv_pct": None if sd is None or mean == 0 else round(100 * sd / mean, 1)})
    return out


def runs_section(store, where) -> PackSection:
    """QC per analyzer: how many analytical runs, and every run rejected or incomplete with its corrective
    actions and override (patient series)."""
    runs = qc_runs(store, where.date_from, where.date_to)
    held = [r for r in runs if r["verdict"] != "accepted"]
    rows = tuple((r["analyzer"], r["qc_run"], r["judged_at"], r["verdict"], r["rules"],
                  r["corrective_action"] or ("NONE RECORDED" if r["verdict"] == "rejected" else ""), r["override"])
                 for r in held)
    notes = []
    for analyzer in dict.fromkeys(r["analyzer"] for r in runs):
        mine = [r for r in runs if r["analyzer"] == analyzer]
        rejected = [r for r in mine if r["verdict"] == "rejected"]
        open_ = [r["qc_run"] for r in rejected if not r["corrective_action"] and not r["override"]]
        notes.append(f"Analyzer {analyzer}: {len(mine)} analytical run(s), {len(rejected)} rejected"
                     + (f"; without a corrective action: {', '.join(open_)}" if open_ else "") + ".")
    notes.append(f"A rejected run releases no patient result until a corrective action is recorded and QC passes "
                 f"again, or a reviewer or QA overrides the hold with a signed reason ({SRC_HOLD}).")
    return PackSection("qc_runs", "QC per analyzer: rejected runs and their corrective actions",
                       ("analyzer", "qc_run", "judged_at_utc", "verdict", "rules", "corrective_action", "override"),
                       rows, tuple(notes))


def days_section(store, where) -> PackSection:
    """Each day with patient tests on which both control levels were not run (all days counted in the notes)."""
    days = qc_days(store, where.date_from, where.date_to)
    missing = [d for d in days if d["both_levels"] != "yes"]
    rows = tuple((d["day"], d["patient_tests"], d["controls_run"]) for d in missing)
    notes = [f"{len(days)} day(s) with patient tests; both control levels run on {len(days) - len(missing)}"
             f"{'' if not missing else f', not on {len(missing)} (listed)'}. {SRC_DAILY}."] if days else []
    return PackSection("qc_days", "Days with patient tests without both control levels",
                       ("day", "patient_tests", "controls_run"), rows, tuple(notes))


def stats_section(store, where) -> PackSection:
    """Cumulative statistics of each control lot per month and for the period (patient series)."""
    rows = tuple((r["analyzer"], r["level"], r["lot"], r["month"], r["n"], r["mean"], r["sd"] if r["sd"] is not None
                  else "", r["cv_pct"] if r["cv_pct"] is not None else "")
                 for r in cumulative(store, where.date_from, where.date_to))
    return PackSection("qc_stats", "Cumulative QC statistics per lot and month",
                       ("analyzer", "level", "lot", "month", "n", "mean", "sd", "cv_pct"), rows,
                       (f"{SRC_CUMULATIVE}. Month 'all': the lot over the whole period. Values in mmol/L.",))
