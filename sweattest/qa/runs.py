"""`qa runs`: the runs as a pandas DataFrame, and its export as a table, CSV, JSON lines or Parquet."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from sweattest.core.errors import ValidationError
from sweattest.outputs.files import write_atomic
from sweattest.record.run_filter import RunFilter
from sweattest.record.run_lists import RUN_COLUMNS, run_rows

FORMATS = ("table", "csv", "json", "parquet")


def runs_frame(store, where: RunFilter | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(run_rows(store, where), columns=list(RUN_COLUMNS))
    for column in ("started_at", "reported_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["qns"] = frame["qns"].astype("boolean")
    frame["sites_measured"] = frame["sites_measured"].astype("Int64")
    return frame


def write_frame(frame: pd.DataFrame, fmt: str, out: Path | None) -> str | None:
    """Write ``frame`` to ``out`` (atomically) or return the text for stdout."""
    if fmt not in FORMATS:
        raise ValidationError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        return _parquet(frame, out)
    text = _text(frame, fmt)
    if out is None:
        return text
    write_atomic(out, text)
    return None


def _text(frame: pd.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        return frame.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    if fmt == "json":
        return "".join(json.dumps(_plain(rec), ensure_ascii=False) + "\n" for rec in frame.to_dict("records"))
    if frame.empty:
        return "no runs match\n"
    shown = frame.copy()
    for column in ("started_at", "reported_at"):
        shown[column] = shown[column].dt.strftime("%Y-%m-%d %H:%MZ").fillna("")
    return shown.to_string(index=False, na_rep="") + "\n"


def _plain(record: dict) -> dict:
    out = {}
    for key, value in record.items():
        if value is pd.NaT or value is None or (not isinstance(value, str) and pd.isna(value)):
            out[key] = None
        elif isinstance(value, pd.Timestamp):
            out[key] = value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        elif hasattr(value, "item"):
            out[key] = value.item()
        else:
            out[key] = value
    return out


def _parquet(frame: pd.DataFrame, out: Path | None) -> None:
    if out is None:
        raise ValidationError("--format parquet writes a file: give --out FILE.parquet")
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ValidationError("--format parquet needs pyarrow, which is not installed "
                              "(pip install 'sweattest[parquet]'); use --format csv or json instead") from None
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    write_atomic(out, buffer.getvalue())
    return None
