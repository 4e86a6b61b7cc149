"""QC of the analytical run: two control levels on the chloridometer each day of testing, judged by the
Westgard rules (``sweattest.core.rules.qc``), and the release gate that keeps patient results from being final
while their analytical run's QC is missing or rejected.

Sources: CLSI C34 and CLIA (at least two levels of control, normal and abnormal, each day of testing / each
analytical run; patient results released only when QC is in control).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sweattest.core.rules.findings import Finding, Severity
from sweattest.core.rules.qc import ControlResult, QCRun, RunQC, can_release, evaluate_run
from sweattest.core.units import Q_
from sweattest.record.qc_lots import DEFAULT_ANALYZER, LEVELS, SRC_ESTABLISH, judging

#: The bench's chloridometer, as QC results name it. Its control lots and their targets are records
#: (``sweattest.record.qc_lots``).
ANALYZER = DEFAULT_ANALYZER


def qc_run_id(analyzer: str, day: date) -> str:
    """The analytical run: one analyzer on one day of testing."""
    return f"{analyzer}/{day.isoformat()}"


def _rows(store, analyzer: str) -> list[dict[str, Any]]:
    return [r for level in LEVELS for r in store.qc_results(analyzer, level)]


def has_qc(store, analyzer: str, day: date) -> bool:
    run_id = qc_run_id(analyzer, day)
    return any(r["qc_run"] == run_id for r in _rows(store, analyzer))


def verdict(store, qc_run: str) -> RunQC | None:
    """The Westgard verdict of one analytical run, with the analyzer's earlier runs as history, against the
    targets of the lot records. Results on a provisional lot are not judged, and do not stand for their level:
    a level measured only on provisional lots keeps the run from releasing results."""
    analyzer = qc_run.rsplit("/", 1)[0]
    judge = judging(store, analyzer)
    by_run: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in _rows(store, analyzer):
        by_run[row["qc_run"]].append(row)
    if qc_run not in by_run:
        return None
    targets = {r["lot"]: judge.target(r) for rows in by_run.values() for r in rows if judge.judged(r)}
    runs = {rid: QCRun(rid, analyzer, tuple(ControlResult(r["level"], r["lot"], Q_(r["value"], "mmol/L"))
                                            for r in sorted(rows, key=lambda r: (r["at"], r["id"]))
                                            if judge.judged(r)))
            for rid, rows in by_run.items()}
    history = [runs[rid] for rid in sorted(runs, key=lambda rid: min(r["at"] for r in by_run[rid]))
               if rid < qc_run]
    result = evaluate_run(runs[qc_run], targets, history)
    provisional = _provisional_only(by_run[qc_run], judge)
    if not provisional:
        return result
    extra = tuple(Finding("qc_lot_provisional", Severity.BLOCK, f"QC run {qc_run}: the {level} control was "
                          f"measured only on provisional lot {', '.join(lots)}, whose targets are not established "
                          "yet; run the established lot of that level too", SRC_ESTABLISH)
                  for level, lots in provisional.items())
    return RunQC(result.run_id, result.levels, True, result.findings + extra)


def _provisional_only(rows: list[dict[str, Any]], judge) -> dict[str, list[str]]:
    """Level -> its provisional lots, for the levels of the run measured on provisional lots alone."""
    judged = {r["level"] for r in rows if judge.judged(r)}
    out: dict[str, list[str]] = {}
    for r in rows:
        if r["level"] not in judged and r["lot"] not in out.get(r["level"], []):
            out.setdefault(r["level"], []).append(r["lot"])
    return out


def run_qc_runs(store, run_id: str) -> list[str]:
    """The analytical runs a patient run's chloride results were measured in."""
    return list(dict.fromkeys(e.data["qc_run"] for e in store.events(run_id)
                              if e.kind == "analyze" and e.accepted and e.data.get("qc_run")))


def release_findings(store, run_id: str) -> list[Finding]:
    """What keeps the run's results from being final (empty: nothing). A run without a chloride result
    (every site QNS or aborted) needs no QC."""
    if not any(e.kind == "analyze" and e.accepted for e in store.events(run_id)):
        return []
    qc_runs = run_qc_runs(store, run_id)
    if not qc_runs:
        return can_release(None)
    return [f for qc_run in qc_runs for f in can_release(verdict(store, qc_run))]


def qc_status(store, run_id: str) -> dict[str, Any] | None:
    """The QC status a report prints for the run: in_control, rejected or not_recorded."""
    qc_runs = run_qc_runs(store, run_id)
    if not qc_runs:
        return None
    verdicts = [verdict(store, q) for q in qc_runs]
    if any(v is None for v in verdicts):
        return {"status": "not_recorded", "detail": f"no QC recorded for {', '.join(qc_runs)}"}
    if any(v.rejected for v in verdicts):
        codes = sorted({f.code for v in verdicts for f in v.findings if f.severity.value == "block"})
        return {"status": "rejected", "detail": f"{', '.join(qc_runs)}: {', '.join(codes)}",
                "lots": control_lots(store, qc_runs)}
    warnings = sorted({f.code for v in verdicts for f in v.findings})
    detail = f"analytical run {', '.join(qc_runs)}" + (f"; warning {', '.join(warnings)}" if warnings else "")
    return {"status": "in_control", "detail": detail, "lots": control_lots(store, qc_runs)}


def control_lots(store, qc_runs: list[str]) -> list[str]:
    """The control lots measured in the analytical runs, e.g. ``normal QCN-2611``."""
    lots: dict[str, None] = {}
    for qc_run in qc_runs:
        for row in _rows(store, qc_run.rsplit("/", 1)[0]):
            if row["qc_run"] == qc_run:
                lots[f"{row['level']} {row['lot']}"] = None
    return list(lots)
