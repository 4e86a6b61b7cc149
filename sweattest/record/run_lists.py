"""Runs as the QA lists read them: the rows of `qa runs`, the QA workspace's newest runs and its free search
(accession, MRN, patient name, operator by part of the user name or full name), and the runs awaiting a user's
signature. Runs are chosen by a ``RunFilter``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from sweattest.record.run_filter import RunFilter
from sweattest.record.store import schema

#: A run row as the lists read it (the method text stays in the store; ``stored_order`` reads ``order_json``).
_COLUMNS = [c for c in schema.runs.c if c.name != "protocol_text"]
#: The columns of ``run_rows``.
RUN_COLUMNS = ("run_id", "accession", "status", "operator", "method", "started_at", "reported_at",
               "patient_mrn", "age_group", "sites_measured", "qns", "purpose")


def run_rows(store, where: RunFilter | None = None) -> list[tuple]:
    """The runs ``where`` chooses, oldest first, as tuples of ``RUN_COLUMNS``."""
    r = schema.runs
    query = sa.select(r.c.run_id, r.c.accession, r.c.state.label("status"), r.c.operator, r.c.method,
                      r.c.created_at.label("started_at"), r.c.reported_at, r.c.patient_mrn, r.c.age_group,
                      r.c.sites_measured, r.c.qns, r.c.purpose).order_by(r.c.created_at, r.c.run_id)
    query = (where or RunFilter()).apply(query)
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query).all()]


def find_runs(store, where: RunFilter, text: str, names: dict[str, str], limit: int,
              matches: Callable[[dict[str, Any], str, dict[str, str]], bool]) -> tuple[list[dict], int]:
    """The newest ``limit`` runs that pass ``where`` (in SQL) and the free search ``text``, and how many match in
    all. Without a search text only ``limit`` rows are read; with one, SQL narrows the runs and ``matches(row,
    text, names)`` decides for those only its order's words brought in. ``names``: user name -> full name."""
    r = schema.runs
    newest = (r.c.created_at.desc(), r.c.run_id.desc())
    with store.engine.connect() as conn:
        if not text.strip():
            total = conn.execute(where.apply(sa.select(sa.func.count()).select_from(r))).scalar_one()
            rows = conn.execute(where.apply(sa.select(*_COLUMNS)).order_by(*newest).limit(limit)).mappings()
            return [dict(row) for row in rows], total
        sure, in_order = _search(text, names)
        query = where.apply(sa.select(r.c.run_id, r.c.accession, r.c.patient_mrn, r.c.operator, sure.label("sure"),
                                      sa.cast(r.c.order_json, sa.Text).label("order_json"))
                            .where(sure | in_order)).order_by(*newest)
        ids = [row["run_id"] for row in conn.execute(query).mappings() if row["sure"] or matches(row, text, names)]
        picked = ids[:limit]
        rows = conn.execute(sa.select(*_COLUMNS).where(r.c.run_id.in_(picked)).order_by(*newest)).mappings()
        return [dict(row) for row in rows], len(ids)


def _search(text: str, names: dict[str, str]) -> tuple[sa.ColumnElement, sa.ColumnElement]:
    """The free search in SQL: (``sure``: the text is in the accession, MRN or operator, or in the operator's
    name; ``in_order``: every word of it is in the order's stored JSON, which ``matches`` then decides).
    Names not in ASCII are stored escaped in the JSON, so each word is looked for as typed and as escaped."""
    r = schema.runs
    text = text.strip().lower()
    people = sorted(u for u, n in names.items() if text in u.lower() or text in n.lower())
    order = sa.cast(r.c.order_json, sa.Text)
    words = re.findall(r"\w+", text) or [text]
    in_order = sa.and_(*(sa.or_(_like(order, w), _like(order, json.dumps(w)[1:-1])) for w in words))
    return (sa.or_(_like(r.c.accession, text), _like(r.c.patient_mrn, text), _like(r.c.operator, text),
                   r.c.operator.in_(people)), in_order)


def _like(column, text: str) -> sa.ColumnElement:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return sa.func.lower(column).like(f"%{escaped}%", escape="\\")


def awaiting_signature(store, username: str, *, reviews: bool, performed_states: frozenset[str],
                       review_states: frozenset[str], limit: int = 500) -> list[dict[str, Any]]:
    """The run rows that need ``username``'s signature, oldest first: "performed" on the runs they operated in
    ``performed_states`` that they have not signed so; when ``reviews``, also other operators' runs in
    ``review_states`` nobody has signed "reviewed"."""
    r, sg = schema.runs, schema.signatures
    performed = sa.exists().where(sg.c.run_id == r.c.run_id, sg.c.username == username, sg.c.meaning == "performed")
    reviewed = sa.exists().where(sg.c.run_id == r.c.run_id, sg.c.meaning == "reviewed")
    wanted = (r.c.operator == username) & r.c.state.in_(sorted(performed_states)) & ~performed
    if reviews:
        wanted = wanted | ((r.c.operator != username) & r.c.state.in_(sorted(review_states)) & ~reviewed)
    query = sa.select(*_COLUMNS).where(wanted).order_by(r.c.created_at, r.c.run_id).limit(limit)
    with store.engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]
