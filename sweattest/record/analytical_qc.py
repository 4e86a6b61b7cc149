"""QC of the analytical run: two control levels on the chloridometer each day of testing, judged by the
Westgard rules (``sweattest.core.rules.westgard``) when the run's controls are recorded, and the release gate
that keeps patient results from being final while their analytical run's QC is missing or held.

A QC series is one analyzer (its serial number) and one purpose: the controls of simulated, demo, training and
proficiency runs are series of their own and never count in the patient series, its charts or its rules. An
analytical run is named ``<analyzer>/<day>`` (patient) or ``<analyzer>/<purpose>/<day>``; a run measured again
on the same day after a rejection and its corrective action is ``.../<day>#2``, and so on.

Sources: CLSI C34 and CLIA (at least two levels of control, normal and abnormal, each day of testing / each
analytical run; patient results released only when QC is in control; a rejected run: corrective action, QC
passing again before results are released).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa

from sweattest.core.errors import StoreError
from sweattest.core.purpose import PATIENT, PURPOSES
from sweattest.core.rules.findings import Finding, Severity
from sweattest.core.rules.qc import (
    SRC_LEVELS,
    ControlResult,
    QCRun,
    RunQC,
    can_release,
    evaluate_run,
    release_held,
    z_scores,
)
from sweattest.core.rules.westgard import WestgardRules
from sweattest.core.units import Q_
from sweattest.record import qc_verdicts
from sweattest.record.qc_lots import LEVELS, SRC_ESTABLISH, judging
from sweattest.record.store import schema

#: Earlier runs of a series a verdict looks back on: 10x needs ten controls; one level per run at the least.
LOOK_BACK = 10


def qc_run_id(analyzer: str, day: date, purpose: str = PATIENT, n: int = 1) -> str:
    """The analytical run: one analyzer, one purpose, one day of testing (``n``: measured again that day)."""
    middle = "" if purpose == PATIENT else f"{purpose}/"
    return f"{analyzer}/{middle}{day.isoformat()}" + (f"#{n}" if n > 1 else "")


def series_of(qc_run: str) -> tuple[str, str]:
    """(analyzer, purpose) of an analytical run's name."""
    head, _, _day = qc_run.rpartition("/")
    analyzer, _, purpose = head.rpartition("/")
    if analyzer and purpose in PURPOSES:
        return analyzer, purpose
    return head, PATIENT


def recorded_purposes(store) -> dict[str, str]:
    """qc_run -> the purpose its first verdict recorded. Runs named before purposes were part of the name
    (before migration 23) are in the series their verdict says (a demo's controls of then: simulated)."""
    t = schema.qc_verdicts
    out: dict[str, str] = {}
    with store.engine.connect() as conn:
        for qc_run, purpose in conn.execute(sa.select(t.c.qc_run, t.c.purpose).order_by(t.c.id)):
            out.setdefault(qc_run, purpose)
    return out


def series_rows(store, analyzer: str, purpose: str = PATIENT,
                known: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every control result of one series, oldest first. ``known``: qc_run -> purpose (default: as recorded)."""
    qc = schema.qc_results
    query = sa.select(qc).where(qc.c.analyzer == analyzer).order_by(qc.c.at, qc.c.id)
    known = recorded_purposes(store) if known is None else known
    with store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    return [r for r in rows if purpose_of(r["qc_run"], known, r["analyzer"]) == purpose]


def controls_between(store, start: datetime | None, end: datetime | None,
                     purpose: str = PATIENT) -> list[dict[str, Any]]:
    """Every control result of one purpose's series measured in [``start``, ``end``) (None: open), oldest first."""
    qc = schema.qc_results
    query = sa.select(qc).order_by(qc.c.at, qc.c.id)
    if start is not None:
        query = query.where(qc.c.at >= start)
    if end is not None:
        query = query.where(qc.c.at < end)
    with store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    known = recorded_purposes(store)
    return [r for r in rows if purpose_of(r["qc_run"], known, r["analyzer"]) == purpose]


def qc_choices(store, purpose: str = PATIENT) -> dict[str, list[str]]:
    """Analyzer -> its control levels, as recorded in the QC results of one purpose's series (sorted)."""
    qc = schema.qc_results
    out: dict[str, list[str]] = {}
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(qc.c.analyzer, qc.c.level, qc.c.qc_run).distinct()
                            .order_by(qc.c.analyzer, qc.c.level)).all()
    known = recorded_purposes(store)
    for analyzer, level, qc_run in rows:
        if purpose_of(qc_run, known, analyzer) == purpose and level not in out.get(analyzer, []):
            out.setdefault(analyzer, []).append(level)
    return out


def purpose_of(qc_run: str, known: dict[str, str], analyzer: str | None = None) -> str:
    """The series purpose of an analytical run: as its verdict recorded it (``known``), else by its name (after
    its ``analyzer``'s serial number when given: a serial number may hold a '/' and a purpose's word)."""
    found = known.get(qc_run)
    if found:
        return found
    if analyzer is not None and qc_run.startswith(analyzer + "/"):
        middle, _, _day = qc_run[len(analyzer) + 1:].rpartition("/")
        return middle if middle in PURPOSES else PATIENT
    return series_of(qc_run)[1]


def runs_of_day(store, analyzer: str, day: date, purpose: str = PATIENT) -> list[str]:
    """The analytical runs of a series on one day, in the order they were started."""
    base = qc_run_id(analyzer, day, purpose)
    names = {r["qc_run"] for r in series_rows(store, analyzer, purpose) if _measured_again(r["qc_run"], base)}
    return sorted(names, key=lambda name: _measured_again(name, base) or 0)


def _measured_again(name: str, base: str) -> int | None:
    """1 for the day's run ``base`` itself, n for ``base#n`` (a serial number may hold a ``#``), else None."""
    if name == base:
        return 1
    head, hash_, n = name.rpartition("#")
    return int(n) if hash_ and head == base and n.isdigit() else None


def current_run(store, analyzer: str, day: date, purpose: str = PATIENT, *,
                control: bool = False) -> tuple[str, bool]:
    """The analytical run a control or a sample measured now belongs to, and whether it has controls yet: the
    day's latest run, unless it is held and its corrective action is recorded (then a new run, measured again).
    ``control``: a control is about to be recorded: when results measured in the latest run were already
    released on its verdict, the control starts a new run (a verdict results were released on is never
    re-judged by a later control)."""
    names = runs_of_day(store, analyzer, day, purpose)
    if not names:
        return qc_run_id(analyzer, day, purpose), False
    latest = names[-1]
    held = qc_verdicts.standing(qc_verdicts.verdicts(store, latest))
    corrected = any(a.kind == qc_verdicts.CORRECTIVE_ACTION for a in qc_verdicts.actions(store, latest))
    if (held is not None and held.rejected and corrected) or (control and released_in(store, latest, day)):
        return qc_run_id(analyzer, day, purpose, len(names) + 1), False
    return latest, True


def released_in(store, qc_run: str, day: date) -> bool:
    """Whether a patient result measured in the analytical run ``qc_run`` (of ``day``) was released (reported)."""
    ev = schema.events
    since = datetime.combine(day, time.min, tzinfo=UTC)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(ev.c.run_id, ev.c.data).where(
            ev.c.kind == "analyze", ev.c.accepted.is_(True), ev.c.at >= since)).all()
        run_ids = sorted({run_id for run_id, data in rows if (data or {}).get("qc_run") == qc_run})
        if not run_ids:
            return False
        return conn.execute(sa.select(ev.c.id).where(ev.c.kind == "report", ev.c.accepted.is_(True),
                                                     ev.c.run_id.in_(run_ids)).limit(1)).first() is not None


def judge_and_record(store, qc_run: str, *, rules: WestgardRules | None = None, who: str = "system",
                     known: dict[str, str] | None = None) -> RunQC:
    """The Westgard verdict of one analytical run on its controls recorded so far, with the earlier runs of its
    series as history, against the targets of the lot records; recorded with what it was made from. Results on a
    provisional lot are not judged, and do not stand for their level: a level measured only on provisional lots
    keeps the run from releasing results. The rules across runs look back no further than the last held run of
    the series whose corrective action is recorded: the runs measured after it count afresh (else the streak that
    was corrected, e.g. a 10x, would reject every run measured again). ``known``: qc_run -> purpose (default: as
    recorded)."""
    for _ in range(20):
        try:
            return _judge_and_record(store, qc_run, rules=rules or WestgardRules(), who=who, known=known)
        except qc_verdicts.StaleVerdict:
            continue  # a control came in meanwhile: judged again on every control
    raise StoreError(f"analytical run {qc_run}: controls keep coming in while it is judged; judge it again")


def _judge_and_record(store, qc_run: str, *, rules: WestgardRules, who: str,
                      known: dict[str, str] | None) -> RunQC:
    qc = schema.qc_results
    with store.engine.connect() as conn:
        analyzer = conn.execute(sa.select(qc.c.analyzer).where(qc.c.qc_run == qc_run).limit(1)).scalar()
    if analyzer is None:
        raise ValueError(f"analytical run {qc_run} has no control recorded")
    known = recorded_purposes(store) if known is None else known
    purpose = purpose_of(qc_run, known, analyzer)
    judge = judging(store, analyzer)
    by_run: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in series_rows(store, analyzer, purpose, known):
        by_run[row["qc_run"]].append(row)
    order = list(by_run)  # by each run's first control
    before = order[:order.index(qc_run)]
    corrected = {a.qc_run for a in qc_verdicts.actions(store) if a.kind == qc_verdicts.CORRECTIVE_ACTION}
    last_fix = max((i for i, name in enumerate(before) if name in corrected), default=-1)
    earlier = before[last_fix + 1:][-LOOK_BACK:]  # a corrective action ends the streaks it corrected
    targets = {r["lot"]: judge.target(r) for name in [*earlier, qc_run] for r in by_run[name] if judge.judged(r)}

    def as_run(name: str) -> QCRun:
        return QCRun(name, analyzer, tuple(ControlResult(r["level"], r["lot"], Q_(r["value"], "mmol/L"))
                                           for r in by_run[name] if judge.judged(r)))

    history = [as_run(name) for name in earlier]
    current = as_run(qc_run)
    result = evaluate_run(current, targets, history, rules)
    provisional = _provisional_only(by_run[qc_run], judge)
    if provisional:
        extra = tuple(Finding("qc_lot_provisional", Severity.BLOCK, f"QC run {qc_run}: the {level} control was "
                              f"measured only on provisional lot {', '.join(lots)}, whose targets are not "
                              "established yet; run the established lot of that level too", SRC_ESTABLISH)
                      for level, lots in provisional.items())
        result = RunQC(result.run_id, result.levels, True, result.findings + extra)
    made_from = {"controls": [_control(r, targets, judge) for r in by_run[qc_run]],
                 "history": [{"qc_run": run.run_id, "z": [[lv, z] for lv, z in z_scores(run, targets)]}
                             for run in history],
                 "rules": rules.as_dict()}
    qc_verdicts.record_verdict(store, result, analyzer=analyzer, purpose=purpose, made_from=made_from, who=who)
    return result


def _control(row: dict[str, Any], targets, judge) -> dict[str, Any]:
    out = {"level": row["level"], "lot": row["lot"], "value": row["value"], "at": row["at"].isoformat()}
    if judge.judged(row):
        target = targets[row["lot"]]
        mean, sd = target.mean.to("mmol/L").magnitude, target.sd.to("mmol/L").magnitude
        out |= {"mean": mean, "sd": sd, "z": round((row["value"] - mean) / sd, 3)}
    else:
        out["judged"] = False  # provisional lot: recorded, not judged
    return out


def _provisional_only(rows: list[dict[str, Any]], judge) -> dict[str, list[str]]:
    """Level -> its provisional lots, for the levels of the run measured on provisional lots alone."""
    judged = {r["level"] for r in rows if judge.judged(r)}
    out: dict[str, list[str]] = {}
    for r in rows:
        if r["level"] not in judged and r["lot"] not in out.get(r["level"], []):
            out.setdefault(r["level"], []).append(r["lot"])
    return out


def verdict(store, qc_run: str) -> RunQC | None:
    """The recorded verdict an analytical run stands on (None: no verdict recorded)."""
    found = qc_verdicts.standing(qc_verdicts.verdicts(store, qc_run))
    return None if found is None else found.run_qc()


def run_qc_runs(store, run_id: str) -> list[str]:
    """The analytical runs a patient run's chloride results were measured in."""
    return list(dict.fromkeys(e.data["qc_run"] for e in store.events(run_id)
                              if e.kind == "analyze" and e.accepted and e.data.get("qc_run")))


def hold_lifted(store, qc_run: str) -> tuple[str, str] | None:
    """How a held run's hold was lifted: ("override", reason) or ("corrected", what), else None."""
    override, fix, passed = _hold_acts(store, qc_run)
    if override is not None:
        return "override", f"hold overridden by {override.who} on {override.at:%Y-%m-%d}: {override.text}"
    if fix is None or passed is None:
        return None
    return "corrected", (f"corrective action by {fix.who} on {fix.at:%Y-%m-%d}: {fix.text}; QC in control again in "
                         f"{passed.qc_run}")


def _hold_acts(store, qc_run: str):
    """The override of a held run, its first corrective action, and the first run of its series whose verdict
    stands accepted after that corrective action (each None when there is none): accepted, every level in
    control, not a run still incomplete (CLSI C34)."""
    acts = qc_verdicts.actions(store, qc_run)
    override = next((a for a in acts if a.kind == qc_verdicts.OVERRIDE), None)
    fix = next((a for a in acts if a.kind == qc_verdicts.CORRECTIVE_ACTION), None)
    if fix is None:
        return override, None, None
    standing = qc_verdicts.standing_verdicts(store, None)
    held = standing[qc_run]
    passed = min((v for v in standing.values() if v.analyzer == held.analyzer and v.purpose == held.purpose
                  and v.state == qc_verdicts.ACCEPTED and v.at > fix.at), key=lambda v: v.at, default=None)
    return override, fix, passed


def gate(store, qc_run: str) -> list[Finding]:
    """What keeps the results measured in one analytical run from being final (empty: nothing)."""
    found = qc_verdicts.standing(qc_verdicts.verdicts(store, qc_run))
    if found is None or found.state == qc_verdicts.ACCEPTED:
        return can_release(None if found is None else found.run_qc())
    if found.state == qc_verdicts.INCOMPLETE:
        missing = "; ".join(f.message for f in found.findings if f.code in qc_verdicts.INCOMPLETE_CODES)
        return [Finding("qc_incomplete", Severity.BLOCK, f"QC of run {qc_run} is incomplete: {missing}; results "
                        "cannot be final until every level is measured", SRC_LEVELS)]
    override, fix, passed = _hold_acts(store, qc_run)
    return release_held(found.run_qc(), corrected=fix is not None, passed_since=passed is not None,
                        overridden=override is not None)


def release_findings(store, run_id: str) -> list[Finding]:
    """What keeps the run's results from being final (empty: nothing). A run without a chloride result
    (every site QNS or aborted) needs no QC."""
    if not any(e.kind == "analyze" and e.accepted for e in store.events(run_id)):
        return []
    qc_runs = run_qc_runs(store, run_id)
    if not qc_runs:
        return can_release(None)
    return [f for qc_run in qc_runs for f in gate(store, qc_run)]


def qc_status(store, run_id: str) -> dict[str, Any] | None:
    """The QC status a report prints for the run: in_control, rejected, released_after_hold, incomplete or
    not_recorded."""
    qc_runs = run_qc_runs(store, run_id)
    if not qc_runs:
        return None
    standing = qc_verdicts.standing_verdicts(store, qc_runs)
    if any(q not in standing for q in qc_runs):
        return {"status": "not_recorded", "detail": f"no QC recorded for {', '.join(qc_runs)}"}
    verdicts = [standing[q] for q in qc_runs]
    lots = control_lots(store, qc_runs)
    codes = sorted({f.code for v in verdicts for f in v.findings if f.severity is Severity.BLOCK})
    detail = f"{', '.join(qc_runs)}: {', '.join(codes)}"
    if any(v.state == qc_verdicts.INCOMPLETE for v in verdicts):
        return {"status": "incomplete", "detail": detail, "lots": lots}
    if any(v.rejected for v in verdicts):
        lifted = [hold_lifted(store, v.qc_run) for v in verdicts if v.rejected]
        if all(lifted):
            return {"status": "released_after_hold", "lots": lots,
                    "detail": detail + "; " + "; ".join(text for _, text in lifted if text)}
        return {"status": "rejected", "detail": detail, "lots": lots}
    warnings = sorted({f.code for v in verdicts for f in v.findings})
    detail = f"analytical run {', '.join(qc_runs)}" + (f"; warning {', '.join(warnings)}" if warnings else "")
    return {"status": "in_control", "detail": detail, "lots": lots}


def control_lots(store, qc_runs: list[str]) -> list[str]:
    """The control lots measured in the analytical runs, e.g. ``normal QCN-2611``."""
    qc = schema.qc_results
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(qc.c.level, qc.c.lot).where(qc.c.qc_run.in_(qc_runs))
                            .order_by(qc.c.at, qc.c.id)).all()
    order = {level: i for i, level in enumerate(LEVELS)}
    return list(dict.fromkeys(f"{level} {lot}" for level, lot in sorted(rows, key=lambda r: order.get(r[0], 9))))
