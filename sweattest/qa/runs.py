"""`qa runs`: the run list as a DataFrame, filtered, and its export formats."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TextIO

import pandas as pd
import sqlalchemy as sa

from sweattest.errors import ValidationError
from sweattest.store import Store
from sweattest.store.schema import runs

FORMATS = ("table", "csv", "json", "parquet")
COLUMNS = ["run_id", "accession", "status", "operator", "method", "started_at", "finished_at", "qns",
           "result_status", "patient_mrn"]


def run_table(store: Store, *, since: datetime | None = None, until: datetime | None = None,
              operator: str | None = None, status: str | None = None, method: str | None = None) -> pd.DataFrame:
    """Runs in start order; ``since`` inclusive, ``until`` exclusive (aware UTC)."""
    query = sa.select(runs.c.run_id, runs.c.accession, runs.c.state.label("status"), runs.c.operator,
                      runs.c.method, runs.c.created_at.label("started_at"), runs.c.finished_at, runs.c.qns,
                      runs.c.result_status, runs.c.patient_mrn).order_by(runs.c.created_at, runs.c.run_id)
    for column, value in ((runs.c.operator, operator), (runs.c.state, status), (runs.c.method, method)):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(runs.c.created_at >= since)
    if until is not None:
        query = query.where(runs.c.created_at < until)
    with store.read() as conn:
        rows = conn.execute(query).mappings().all()
    frame = pd.DataFrame([dict(r) for r in rows], columns=COLUMNS)
    frame["qns"] = frame["qns"].astype("boolean")
    return frame


def export(frame: pd.DataFrame, fmt: str, out: Path | None, stream: TextIO | None = None) -> None:
    """Write ``frame`` as a table, CSV, JSON lines or Parquet (to ``out``, or ``stream``)."""
    if fmt not in FORMATS:
        raise ValidationError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        _parquet(frame, out)
        return
    text = {"table": _table, "csv": _csv, "json": json_lines}[fmt](frame)
    if out is None:
        (stream or sys.stdout).write(text)
    else:
        out.write_text(text, encoding="utf-8")


def json_lines(frame: pd.DataFrame) -> str:
    """One JSON object per run; times as ISO 8601 UTC, missing values as null."""
    lines = []
    for record in frame.to_dict(orient="records"):
        lines.append(json.dumps({k: _plain(v) for k, v in record.items()}, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)


def _plain(value):  # noqa: ANN001, ANN202 - pandas cell
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if hasattr(value, "item"):
        return value.item()
    return value


def _table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "no runs match\n"
    shown = frame.drop(columns=["patient_mrn"]).copy()
    for column in ("started_at", "finished_at"):
        shown[column] = [_minute(v) for v in shown[column]]
    return shown.to_string(index=False, na_rep="-") + "\n"


def _minute(value) -> str:  # noqa: ANN001
    return "-" if value is None or value is pd.NaT else f"{value:%Y-%m-%d %H:%M}Z"


def _csv(frame: pd.DataFrame) -> str:
    out = frame.copy()
    for column in ("started_at", "finished_at"):
        out[column] = [_plain(v) for v in out[column]]
    return out.to_csv(index=False, lineterminator="\n")


def _parquet(frame: pd.DataFrame, out: Path | None) -> None:
    if out is None:
        raise ValidationError("--format parquet writes a file: add --out FILE.parquet")
    try:
        frame.to_parquet(out, index=False)
    except ImportError:
        raise ValidationError("--format parquet needs pyarrow (pip install 'sweattest[parquet]'); "
                              "use --format csv or json meanwhile; nothing was written") from None
