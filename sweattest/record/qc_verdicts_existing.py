"""Migration 23: a verdict for each analytical run stored before verdicts were records, judged once, at the
upgrade, by the default Westgard rules, with the values it was made from; recorded under the chain by
``system``. From then on those runs stand on that verdict like any other.

Each such run is put in the series of the runs measured in it: patient if any patient run was, else the purpose
of those runs (a demo or training day's controls, written then under the analyzer's name alone, leave the patient
series); a run no patient run used is patient (a day's QC run before its first patient).
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime

import sqlalchemy as sa

from sweattest.core.purpose import PATIENT
from sweattest.record.analytical_qc import judge_and_record
from sweattest.record.store import schema

WHO = "system"


class _Migrating:
    """The store's face that the QC functions use, over the migration's connection."""

    def __init__(self, conn: sa.Connection):
        self.engine = self
        self._conn = conn
        self.clock = self
        self._at: datetime = conn.info["migrating_at"]

    def connect(self):
        return contextlib.nullcontext(self._conn)

    def writing(self):
        return contextlib.nullcontext(self._conn)

    def utcnow(self) -> datetime:
        return self._at


def judge_existing(conn: sa.Connection) -> int:
    """Record a verdict for every stored analytical run that has none; returns how many."""
    qc = schema.qc_results
    firsts: dict[str, datetime] = {}
    for qc_run, at in conn.execute(sa.select(qc.c.qc_run, qc.c.at).order_by(qc.c.at, qc.c.id)):
        firsts.setdefault(qc_run, at)
    if not firsts:
        return 0
    known = _purposes(conn, set(firsts))
    store = _Migrating(conn)
    for qc_run in firsts:  # oldest first: each judged with the runs before it as history
        judge_and_record(store, qc_run, who=WHO, known=known)
    return len(firsts)


def _purposes(conn: sa.Connection, names: set[str]) -> dict[str, str]:
    """qc_run -> the series it belongs to, from the purposes of the runs whose analyses name it."""
    ev, runs = schema.events, schema.runs
    used: dict[str, set[str]] = {}
    query = sa.select(ev.c.data, runs.c.purpose).join(runs, runs.c.run_id == ev.c.run_id).where(ev.c.kind == "analyze")
    for data, purpose in conn.execute(query):
        doc = json.loads(data) if isinstance(data, str) else data
        qc_run = (doc or {}).get("qc_run")
        if qc_run in names:
            used.setdefault(qc_run, set()).add(purpose or PATIENT)
    return {name: PATIENT if not used.get(name) or PATIENT in used[name] else sorted(used[name])[0]
            for name in names}
