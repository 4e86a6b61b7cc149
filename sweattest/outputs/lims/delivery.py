"""Delivering result files to a LIMS drop folder: atomic, stable names, once per version, audited.

A file is named ``<accession>_<run_id>_v<version>.<hl7|csv>``: unique per run, result version and
format, and the same name every time. It is written to a temp file in the folder, fsynced and renamed
(``write_atomic``) inside the store transaction that records the export in the audit trail: a failed write
leaves no partial file and no audit entry; a failed audit write rolls back before the caller is told.
Exporting a version already delivered to that folder does nothing (the audit trail says it was sent), so
a LIMS that has consumed the file never receives it twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sweattest.core.clock import Clock
from sweattest.core.config import LabConfig
from sweattest.core.errors import SweatTestError, ValidationError
from sweattest.outputs.files import file_safe, write_atomic

FORMATS = ("hl7", "csv")


class DeliveryError(SweatTestError):
    """A signed result could not be delivered to the LIMS drop folder (the signature stands)."""


@dataclass(frozen=True)
class Export:
    path: Path
    created: bool  # False: this version was already delivered to this folder
    control_id: str | None = None


def export_name(record: dict[str, Any], fmt: str) -> str:
    return f"{file_safe(record['order']['accession'])}_{record['run_id']}_v{record['report']['version']}.{fmt}"


def render(record: dict[str, Any], fmt: str, config: LabConfig, clock: Clock) -> tuple[bytes, str | None]:
    if fmt == "hl7":
        from sweattest.outputs.lims.hl7 import new_control_id, render_oru

        control_id = new_control_id()
        return render_oru(record, config, sent_at=clock.utcnow(), control_id=control_id).encode(), control_id
    if fmt == "csv":
        from sweattest.outputs.lims.csv_file import render_csv

        return render_csv(record).encode("utf-8"), None
    raise ValidationError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")


def export_run(store, clock: Clock, run_id: str, fmt: str, folder: Path, *, config: LabConfig,
               actor: str = "system") -> Export:
    """Deliver the run's current result version as ``fmt`` into ``folder``."""
    from sweattest.outputs.report.stored import stored_record
    from sweattest.record.store.chain import append_audit

    if fmt not in FORMATS:
        raise ValidationError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    folder = Path(folder)
    if not folder.is_dir():
        raise ValidationError(f"--to {folder}: not a folder; create it or give the LIMS drop folder")
    record = stored_record(store, run_id, clock, config.ranges)
    name = export_name(record, fmt)
    target = folder / name
    if _already_delivered(store, run_id, name, folder):
        return Export(target, created=False)
    data, control_id = render(record, fmt, config, clock)
    with store.writing() as conn:
        write_atomic(target, data)
        append_audit(conn, run_id=run_id, who=actor, what=f"export {fmt}", at=clock.utcnow(),
                     new={"file": name, "folder": str(folder.resolve()), "format": fmt,
                          "version": record["report"]["version"], "status": record["report"]["status"],
                          "control_id": control_id, "sha256": hashlib.sha256(data).hexdigest()})
    return Export(target, created=True, control_id=control_id)


def deliver_on_signoff(store, clock: Clock, run_id: str, config: LabConfig, actor: str) -> list[Export]:
    """Automatic delivery when a run is signed off or amended: every format into the drop folder, if the
    lab configuration names one."""
    if config.drop_folder is None:
        return []
    try:
        return [export_run(store, clock, run_id, fmt, config.drop_folder, config=config, actor=actor)
                for fmt in FORMATS]
    except (OSError, SweatTestError) as exc:
        raise DeliveryError(f"run {run_id} is signed, but delivery to the LIMS drop folder {config.drop_folder} "
                            f"failed: {exc}; fix the folder and run `sweattest export {run_id} --format hl7` "
                            "(and csv)") from None


def _already_delivered(store, run_id: str, name: str, folder: Path) -> bool:
    from sweattest.record.audit import history

    where = str(folder.resolve())
    return any(e.what.startswith("export ") and isinstance(e.new, dict) and e.new.get("file") == name
               and e.new.get("folder") == where for e in history(store, run_id))
