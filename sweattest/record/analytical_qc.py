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

from sweattest.core.rules.findings import Finding
from sweattest.core.rules.qc import ControlLot, ControlResult, QCRun, RunQC, can_release, evaluate_run
from sweattest.core.units import Q_

#: The bench's chloridometer, as QC results name it.
ANALYZER = "chloridometer-1"
#: The control materials in use: normal and abnormal levels (CLSI C34: e.g. ~40 and ~100 mmol/L),
#: each lot with the target mean and SD the lab established for it.
CONTROL_LOTS: tuple[ControlLot, ...] = (
    ControlLot("normal", "QCN-2611", Q_(40.0, "mmol/L"), Q_(1.5, "mmol/L")),
    ControlLot("abnormal", "QCA-2611", Q_(100.0, "mmol/L"), Q_(3.0, "mmol/L")),
)


def qc_run_id(analyzer: str, day: date) -> str:
    """The analytical run: one analyzer on one day of testing."""
    return f"{analyzer}/{day.isoformat()}"


def has_qc(store, analyzer: str, day: date) -> bool:
    run_id = qc_run_id(analyzer, day)
    return any(r["qc_run"] == run_id for lot in CONTROL_LOTS for r in store.qc_results(analyzer, lot.level))


def verdict(store, qc_run: str) -> RunQC | None:
    """The Westgard verdict of one analytical run, with the analyzer's earlier runs as history."""
    analyzer = qc_run.rsplit("/", 1)[0]
    by_run: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for lot in CONTROL_LOTS:
        for row in store.qc_results(analyzer, lot.level):
            by_run[row["qc_run"]].append(row)
    if qc_run not in by_run:
        return None
    targets = {r["lot"]: ControlLot(r["level"], r["lot"], Q_(r["target_mean"], "mmol/L"),
                                    Q_(r["target_sd"], "mmol/L")) for rows in by_run.values() for r in rows}
    runs = {rid: QCRun(rid, analyzer, tuple(ControlResult(r["level"], r["lot"], Q_(r["value"], "mmol/L"))
                                            for r in sorted(rows, key=lambda r: (r["at"], r["id"]))))
            for rid, rows in by_run.items()}
    history = [runs[rid] for rid in sorted(runs, key=lambda rid: min(r["at"] for r in by_run[rid]))
               if rid < qc_run]
    return evaluate_run(runs[qc_run], targets, history)


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
        analyzer = qc_run.rsplit("/", 1)[0]
        for lot in CONTROL_LOTS:
            for row in store.qc_results(analyzer, lot.level):
                if row["qc_run"] == qc_run:
                    lots[f"{row['level']} {row['lot']}"] = None
    return list(lots)
