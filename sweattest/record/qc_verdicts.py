"""QC verdicts as records, and the acts on a held analytical run.

A verdict is written when it is made (the bench after its controls, ``sweattest qc record`` after each control),
under the hash chain, with what it was made from: the run's controls with their lots, targets and z-scores, the
z-scores of the earlier runs of the series it looked back on, and the rules in use. It is never recomputed: what
the QA desk, the pack and the release gate show is the verdict as recorded. A run once rejected stays held: a
later verdict of the same run, or any later record, does not lift the hold (DESIGN.md principle 17; Westgard:
a rejected run is not accepted by repeating its controls).

A held run releases its patient results only after a corrective action is recorded for it and a later analytical
run of the same series passes QC (CLSI C34), or by an override: a separate act, signed with the password of a
reviewer, QA or admin, with its reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from sweattest.core.errors import ValidationError
from sweattest.core.rules.findings import Finding, Severity
from sweattest.core.rules.qc import RunQC
from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit
from sweattest.record.store.rowhash import range_item

ACCEPTED, REJECTED, INCOMPLETE = "accepted", "rejected", "incomplete"
#: Findings that make a run incomplete rather than rejected: a level not measured yet (or only on a provisional
#: lot). An incomplete run releases nothing, and is not held: its missing controls complete it.
INCOMPLETE_CODES = frozenset({"qc_levels_missing", "qc_lot_provisional"})
CORRECTIVE_ACTION, OVERRIDE = "corrective_action", "override"
#: Roles that may record a corrective action or override a hold.
ACT_ROLES = ("reviewer", "qa", "admin")


@dataclass(frozen=True)
class Verdict:
    """A recorded verdict: the run as judged then, and what it was judged from."""

    id: int
    qc_run: str
    analyzer: str
    purpose: str
    state: str  # accepted, rejected, incomplete
    findings: tuple[Finding, ...]
    made_from: dict[str, Any]
    at: datetime
    who: str

    @property
    def rejected(self) -> bool:
        """Held: a rule in use rejected the run."""
        return self.state == REJECTED

    def run_qc(self) -> RunQC:
        levels = tuple(dict.fromkeys(c["level"] for c in self.made_from.get("controls", [])))
        return RunQC(self.qc_run, levels, self.state != ACCEPTED, self.findings)

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]


@dataclass(frozen=True)
class Action:
    id: int
    qc_run: str
    kind: str
    text: str
    at: datetime
    who: str


class StaleVerdict(Exception):
    """A control of the run was recorded after its verdict was made (by another process): judge it again."""


def record_verdict(store, result: RunQC, *, analyzer: str, purpose: str, made_from: dict[str, Any],
                   who: str) -> Verdict:
    """Append the verdict ``result`` of one analytical run, with what it was made from, under the chain.
    Raises ``StaleVerdict`` (nothing written) when the run has more controls now than the verdict was made from:
    checked under the chain's write lock, so the verdict recorded last is made from every control."""
    at = store.clock.utcnow()
    row = {"qc_run": result.run_id, "analyzer": analyzer, "purpose": purpose,
           "verdict": state_of(result),
           "findings": json.dumps([[f.code, f.severity.value, f.message, f.source] for f in result.findings],
                                  ensure_ascii=False),
           "made_from": json.dumps(made_from, ensure_ascii=False, sort_keys=True), "at": at, "who": who}
    with store.writing() as conn:
        head = schema.audit_head  # the chain's lock first (a row lock on PostgreSQL, the write lock on SQLite)
        conn.execute(head.update().where(head.c.id == 1).values(last_id=head.c.last_id))
        qc = schema.qc_results
        now = conn.execute(sa.select(sa.func.count()).select_from(qc).where(qc.c.qc_run == result.run_id,
                                                                         qc.c.analyzer == analyzer)).scalar()
        if now != len(made_from.get("controls", [])):
            raise StaleVerdict(result.run_id)
        new_id = conn.execute(schema.qc_verdicts.insert().values(**row)).inserted_primary_key[0]
        append_audit(conn, who=who, what="qc_verdict", at=at,
                     new={"qc_run": result.run_id, "verdict": row["verdict"],
                          "rules": [f.code for f in result.findings]},
                     rows=[range_item(conn, "qc_verdicts", new_id, new_id)])
    return _verdict(row | {"id": new_id})


def state_of(result: RunQC) -> str:
    if not result.rejected:
        return ACCEPTED
    blocks = {f.code for f in result.findings if f.severity is Severity.BLOCK}
    return INCOMPLETE if blocks <= INCOMPLETE_CODES else REJECTED


def verdicts(store, qc_run: str | None = None, *, analyzer: str | None = None,
             purpose: str | None = None) -> list[Verdict]:
    """Recorded verdicts, oldest first (of one run, or of one series)."""
    t = schema.qc_verdicts
    query = sa.select(t).order_by(t.c.id)
    if qc_run is not None:
        query = query.where(t.c.qc_run == qc_run)
    if analyzer is not None:
        query = query.where(t.c.analyzer == analyzer)
    if purpose is not None:
        query = query.where(t.c.purpose == purpose)
    with store.engine.connect() as conn:
        return [_verdict(r) for r in conn.execute(query).mappings()]


def standing(rows: list[Verdict]) -> Verdict | None:
    """The verdict a run stands on, from its recorded verdicts (oldest first): its first rejection (a hold is
    never lifted by a later verdict), else its latest."""
    if not rows:
        return None
    return next((v for v in rows if v.rejected), rows[-1])


def standing_verdicts(store, qc_runs: list[str] | None = None) -> dict[str, Verdict]:
    """qc_run -> the verdict it stands on, for ``qc_runs`` (every run when None)."""
    by_run: dict[str, list[Verdict]] = {}
    t = schema.qc_verdicts
    query = sa.select(t).order_by(t.c.id)
    if qc_runs is not None:
        query = query.where(t.c.qc_run.in_(qc_runs))
    with store.engine.connect() as conn:
        for r in conn.execute(query).mappings():
            by_run.setdefault(r["qc_run"], []).append(_verdict(r))
    return {k: v for k, v in ((k, standing(rows)) for k, rows in by_run.items()) if v is not None}


def actions(store, qc_run: str | None = None) -> list[Action]:
    t = schema.qc_actions
    query = sa.select(t).order_by(t.c.id)
    if qc_run is not None:
        query = query.where(t.c.qc_run == qc_run)
    with store.engine.connect() as conn:
        return [Action(r["id"], r["qc_run"], r["kind"], r["text"], r["at"], r["who"])
                for r in conn.execute(query).mappings()]


def add_action(store, qc_run: str, kind: str, text: str, *, who: str) -> Action:
    """A corrective action or an override of a held (rejected) analytical run, by ``who``."""
    if kind not in (CORRECTIVE_ACTION, OVERRIDE):
        raise ValidationError(f"QC action {kind!r}: use {CORRECTIVE_ACTION} or {OVERRIDE}")
    text = (text or "").strip()
    if len(text) < 5 or len(text) > 2000:
        what = "the corrective action (what was found and done)" if kind == CORRECTIVE_ACTION else "the reason"
        raise ValidationError(f"give {what} in 5 to 2000 characters; nothing was recorded")
    held = standing(verdicts(store, qc_run))
    if held is None:
        raise ValidationError(f"analytical run {qc_run!r} has no QC verdict: nothing was recorded; "
                              "`sweattest qc runs` lists the analytical runs")
    if not held.rejected:
        raise ValidationError(f"analytical run {qc_run} was {held.state} ({held.at:%Y-%m-%d %H:%M}Z): it is not held; "
                              "nothing was recorded")
    if kind == OVERRIDE and who in hands(store, qc_run):
        raise ValidationError(f"{who} measured controls of analytical run {qc_run} or performed a run measured in "
                              "it: the override of its hold is another reviewer's, QA's or admin's act; nothing "
                              "was recorded")
    at = store.clock.utcnow()
    row = {"qc_run": qc_run, "kind": kind, "text": text, "at": at, "who": who}
    with store.writing() as conn:
        new_id = conn.execute(schema.qc_actions.insert().values(**row)).inserted_primary_key[0]
        append_audit(conn, who=who, what=f"qc_{kind}", at=at, why=text, new={"qc_run": qc_run},
                     rows=[range_item(conn, "qc_actions", new_id, new_id)])
    return Action(new_id, qc_run, kind, text, at, who)


def hands(store, qc_run: str) -> set[str]:
    """Who measured the controls of an analytical run, and the operators of the runs whose results were measured
    in it: an override of its hold is not theirs to sign (a second person's act, as a release is)."""
    qc, ev, runs = schema.qc_results, schema.events, schema.runs
    with store.engine.connect() as conn:
        measured = conn.execute(sa.select(qc.c.who, qc.c.at).where(qc.c.qc_run == qc_run)).all()
        out = {who for who, _ in measured}
        if not measured:
            return out
        since = min(at for _, at in measured) - timedelta(days=1)
        rows = conn.execute(sa.select(ev.c.run_id, ev.c.data).where(ev.c.kind == "analyze", ev.c.at >= since)).all()
        run_ids = sorted({run_id for run_id, data in rows if (data or {}).get("qc_run") == qc_run})
        if run_ids:
            out |= set(conn.execute(sa.select(runs.c.operator).where(runs.c.run_id.in_(run_ids))).scalars())
    return out


def _verdict(row) -> Verdict:
    findings = tuple(Finding(code, Severity(severity), message, source)
                     for code, severity, message, source in json.loads(row["findings"]))
    return Verdict(row["id"], row["qc_run"], row["analyzer"], row["purpose"], row["verdict"], findings,
                   json.loads(row["made_from"]), row["at"], row["who"])
