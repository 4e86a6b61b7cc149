"""The skin reaction recorded for each stimulated site (``skin_reactions``), chained with its audit entry.

Rows are only added: a second entry for the same run and site corrects the first (the latest counts), and the
first stays in the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sweattest.core.errors import ValidationError
from sweattest.core.rules.skin import ADVERSE, SkinCheck, skin_check
from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit
from sweattest.record.store.rowhash import range_item


@dataclass(frozen=True)
class SkinReaction:
    run_id: str
    site: str
    grade: str
    note: str
    who: str
    at: datetime

    @property
    def adverse(self) -> bool:
        return self.grade in ADVERSE


def record_skin_reaction(store, run_id: str, site: str, check: SkinCheck | tuple[str, str], *, who: str,
                         at: datetime) -> SkinReaction:
    """Record one site's skin (checked again here, so no caller stores an unknown grade or a burn without a
    note); audited in the same transaction. Nothing is written if the entry is refused."""
    grade, note = (check.grade, check.note) if isinstance(check, SkinCheck) else check
    checked = skin_check(grade, note, f"run {run_id}, {site.replace('_', ' ')}")
    if store.get_run(run_id) is None:
        raise ValidationError(f"run {run_id}: no such run; check the run id")
    with store.writing() as conn:
        return insert_skin_reaction(conn, run_id, site, checked, who=who, at=at)


def insert_skin_reaction(conn: sa.Connection, run_id: str, site: str, checked: SkinCheck, *, who: str,
                         at: datetime) -> SkinReaction:
    """Write one checked skin reaction and its audit entry in the caller's transaction."""
    row = {"run_id": run_id, "site": site, "grade": checked.grade, "note": checked.note, "who": who, "at": at}
    new_id = conn.execute(schema.skin_reactions.insert().values(**row)).inserted_primary_key[0]
    append_audit(conn, run_id=run_id, who=who, what="skin_reaction", at=at,
                 why="adverse event" if checked.adverse else None,
                 new={"site": site, "grade": checked.grade, "note": checked.note},
                 rows=[range_item(conn, "skin_reactions", new_id, new_id)])
    return SkinReaction(**row)


def run_skin_reactions(store, run_id: str) -> dict[str, SkinReaction]:
    """Site -> the latest skin reaction recorded for the run."""
    sr = schema.skin_reactions
    query = sa.select(sr).where(sr.c.run_id == run_id).order_by(sr.c.id)
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return {r["site"]: _reaction(r) for r in rows}


def latest_reactions_query() -> sa.Select:
    """The latest reaction of each run and site (ids of the rows that count), for the QA figures."""
    sr = schema.skin_reactions
    return sa.select(sa.func.max(sr.c.id).label("id")).group_by(sr.c.run_id, sr.c.site)


def reaction_rows(store, where) -> list[dict[str, Any]]:
    """One row per checked site (its latest entry) of the runs ``where`` (a ``RunFilter``) chooses, oldest run
    first: run_id, created_at, operator, accession, site, grade, note, who, at."""
    r, sr = schema.runs, schema.skin_reactions
    query = (sa.select(r.c.run_id, r.c.created_at, r.c.operator, r.c.accession, sr.c.site, sr.c.grade, sr.c.note,
                       sr.c.who, sr.c.at)
             .join(sr, sr.c.run_id == r.c.run_id).where(sr.c.id.in_(latest_reactions_query()))
             .order_by(r.c.created_at, sr.c.id))
    with store.engine.connect() as conn:
        return [dict(row) for row in conn.execute(where.apply(query)).mappings()]


def _reaction(r) -> SkinReaction:
    return SkinReaction(r["run_id"], r["site"], r["grade"], r["note"], r["who"], r["at"])
