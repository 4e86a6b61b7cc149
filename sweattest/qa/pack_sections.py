"""The evidence pack's sections built from the run store: QNS rate per operator and age group against the CFF
targets, QC with Levey-Jennings charts and Westgard violations, turnaround time, amendments with their reasons,
and the audit chain's head and verification. Each is ``(store, where: RunFilter) -> PackSection``; ``where``
holds the pack's period (UTC dates, inclusive)."""

from __future__ import annotations

from datetime import UTC

import pandas as pd

from sweattest.core.rules.qc import SRC_WESTGARD
from sweattest.qa.pack_section import PackSection
from sweattest.qa.qc_chart import chart_png, chart_points, rule_name
from sweattest.qa.qc_record import patient_controls
from sweattest.qa.qns import QNS_TARGETS, UNKNOWN_AGE, qns_rate
from sweattest.qa.qns import SOURCE as QNS_SOURCE
from sweattest.qa.runs import runs_frame
from sweattest.qa.trend import turnaround_figures
from sweattest.record.audit import amendments, head, verify
from sweattest.record.run_filter import RunFilter

TIME_FORMAT = "%Y-%m-%d %H:%M:%SZ"


def qns_section(store, where: RunFilter) -> PackSection:
    """Tests with a measured sample, QNS tests and the rate over the whole period: first the lab's, per age group,
    against the CFF targets (which apply to the lab); then each operator's, with its counts."""
    frame = qns_rate(store, where)
    rows = []
    if not frame.empty:
        lab = frame.groupby(["age_group"], sort=True)[["tests", "qns"]].sum().reset_index()
        rows += [_qns_row("lab", "all operators", r.age_group, r.tests, r.qns) for r in lab.itertuples(index=False)]
        totals = frame.groupby(["operator", "age_group"], sort=True)[["tests", "qns"]].sum().reset_index()
        rows += [_qns_row("operator", r.operator, r.age_group, r.tests, r.qns) for r in totals.itertuples(index=False)]
    lab_breaches = [f"{r[2]}: {r[5]:.1f} % ({r[4]} of {r[3]}) against {r[6]:g} %" for r in rows
                    if r[0] == "lab" and r[7] == "yes"]
    breaches = [f"{r[1]} ({r[2]}): {r[5]:.1f} % ({r[4]} of {r[3]})" for r in rows
                if r[0] == "operator" and r[7] == "yes"]
    notes = [f"A test is QNS when every site with a measured sample was QNS. Targets: {QNS_SOURCE}: at most "
             "5 % of tests over 3 months of age (>3m), at most 10 % up to 3 months (<=3m), for the lab over the "
             f"period; patients without a date of birth are counted as '{UNKNOWN_AGE}', without a target. The "
             "lab's rows come first; each operator's rows follow with their counts (a rate on a few tests is "
             "shown with its counts, not judged alone)."]
    if rows:
        notes.append("The lab breached a CFF target: " + "; ".join(lab_breaches) + "." if lab_breaches else
                     "The lab met the CFF targets in this period.")
        if breaches:
            notes.append("Operators above the CFF target (with their counts): " + "; ".join(breaches) + ".")
    return PackSection("qns_rate", "QNS rate of the lab per age group, then per operator",
                       ("scope", "who", "age_group", "tests", "qns", "rate_pct", "target_pct", "breach"),
                       tuple(rows), tuple(notes))


def _qns_row(scope: str, who: str, age_group: str, tests, qns) -> tuple:
    rate = round(100.0 * int(qns) / int(tests), 1)
    target = QNS_TARGETS.get(age_group)
    return (scope, who, age_group, int(tests), int(qns), rate, "" if target is None else target,
            "" if target is None else ("yes" if rate > target else "no"))


def qc_section(store, where: RunFilter) -> PackSection:
    """Every control result of the period with its z-score and the Westgard rules its analytical run broke,
    and one Levey-Jennings chart per analyzer, level and lot."""
    start, end = where.bounds
    series = sorted({(r["analyzer"], r["level"], r["lot"])  # the patient series only
                     for r in patient_controls(store, where.date_from, where.date_to)})
    rows, figures, rejected = [], [], set()
    for analyzer, level, lot in series:
        points, target = chart_points(store, analyzer, level, lot)
        points = [p for p in points if (start is None or p.at >= start) and (end is None or p.at < end)]
        for p in points:
            z = round((p.value - target["mean"]) / target["sd"], 2)
            rows.append((p.at.astimezone(UTC).strftime(TIME_FORMAT), analyzer, level, lot, p.qc_run, p.value,
                         target["mean"], target["sd"], z, ", ".join(rule_name(c) for c in p.violations),
                         "yes" if p.rejected else "no"))
            if p.rejected:
                rejected.add(p.qc_run)
        title = (f"{analyzer}, {level} control, lot {lot} (mean {target['mean']:g}, SD {target['sd']:g} mmol/L)")
        figures.append(chart_png(points, target, title))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    notes = [f"Westgard multirule, evaluated per analytical run over every control measured in it, with the "
             f"earlier runs of its series (one analyzer, patient controls only) as history: {SRC_WESTGARD}. Each "
             "run's verdict is the one recorded when it was made. The rules broken and the rejection belong to "
             "the analytical run: every control of that run shows them; its z-scores show which control broke "
             "them. Values in mmol/L; z = (value - mean) / SD."]
    if rows:
        notes.append(f"{len(rejected)} analytical run(s) rejected: {', '.join(sorted(rejected))}." if rejected
                     else "No analytical run was rejected.")
    return PackSection("qc", "Analytical QC: Levey-Jennings and Westgard",
                       ("at_utc", "analyzer", "level", "lot", "qc_run", "value", "target_mean", "target_sd", "z",
                        "westgard", "rejected"), tuple(rows), tuple(notes), tuple(figures))


def turnaround_section(store, where: RunFilter) -> PackSection:
    """Hours from the start of a run to its report: per month of the start, and the whole period."""
    runs = runs_frame(store, where)
    rows = []
    if not runs.empty:
        runs["month"] = runs["started_at"].dt.strftime("%Y-%m")
        for month, part in runs.groupby("month", sort=True):
            rows.append(_turnaround_row(month, part))
        rows.append(_turnaround_row("whole period", runs))
    return PackSection("turnaround", "Turnaround time (start to report)",
                       ("month", "runs", "reported", "median_h", "p90_h"), tuple(rows),
                       ("Hours from the start of the run to its report, by the month the run started (UTC); "
                        "runs not reported are counted in 'runs' only.",))


def _turnaround_row(label: str, runs: pd.DataFrame) -> tuple:
    figures = turnaround_figures(runs)
    return (label, figures["runs"], figures["reported"], _blank(figures["median_h"]), _blank(figures["p90_h"]))


def amendments_section(store, where: RunFilter) -> PackSection:
    """Every amendment of a final result made in the period: which run, which fields changed, by whom, why."""
    rows = []
    for entry, accession in amendments(store, where):  # the run's kind; the period is the amendment's
        old, new = entry.old or {}, dict(entry.new or {})
        version = new.pop("version", "")
        changes = "; ".join(f"{k}: {_plain(old.get(k))} -> {_plain(v)}" for k, v in new.items())
        rows.append((entry.at.astimezone(UTC).strftime(TIME_FORMAT), entry.run_id, accession, version, entry.who,
                     changes, entry.why or ""))
    return PackSection("amendments", "Amendments of final results", ("amended_at_utc", "run_id", "accession",
                       "version", "by", "changes", "reason"), tuple(rows),
                       ("Each amendment is a new result version signed 'corrected'; the original stays in the "
                        "record.",))


def audit_section(store, where: RunFilter) -> PackSection:
    """The audit chain's head (keep it outside the database) and the result of verifying the whole record."""
    last_id, last_hash = head(store)
    result = verify(store)
    rows = (("head entry", str(last_id)), ("head SHA-256", last_hash),
            ("verification", "intact" if result.intact else "BROKEN"), ("verification detail", result.message()))
    return PackSection("audit_chain", "Audit trail: chain head and verification", ("item", "value"), rows,
                       ("The verification walks the whole chain and checks every chained row of the record, not "
                        "only the period. Compare the head with the one noted on earlier packs: an earlier head "
                        "must still be an entry of the chain (`sweattest audit show`).",))


def _plain(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict) and set(value) == {"value", "unit"}:
        return f"{value['value']} {value['unit']}"
    return str(value)


def _blank(value):
    return "" if value is None else value
