"""The LIMS file formats, in one list: ``sweattest export --format``, the drop-folder delivery on sign-off and a
run's own output folder all take their formats from ``LIMS_FORMATS``. A new format is its module (the writer)
and one line here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sweattest.core.config import LabConfig
from sweattest.core.errors import ValidationError
from sweattest.outputs.lims.csv_file import render_csv
from sweattest.outputs.lims.hl7 import render_oru
from sweattest.record.run_record_model import RunRecord

#: (record, lab configuration, time sent, control ID or None) -> the file's text
Writer = Callable[[RunRecord, LabConfig, datetime, "str | None"], str]


@dataclass(frozen=True)
class LimsFormat:
    name: str  #: as ``--format`` and the outbox name it
    suffix: str  #: the file name ending (``<accession>_<run_id>_v<version>.<suffix>``)
    write: Writer
    control_ids: bool = False  #: each message carries a new control ID (HL7 MSH-10), kept with it in the outbox
    on_signoff: bool = True  #: delivered into the lab's drop folder when a result is released


LIMS_FORMATS = (
    LimsFormat("hl7", "hl7", lambda r, config, at, cid: render_oru(r, config, sent_at=at, control_id=cid), True),
    LimsFormat("csv", "csv", lambda r, config, at, cid: render_csv(r)),
    LimsFormat("fhir", "fhir.json", lambda r, config, at, cid: _fhir(r, config), on_signoff=False),
)
#: the names, for ``--format``
FORMATS = tuple(f.name for f in LIMS_FORMATS)


def _fhir(record: RunRecord, config: LabConfig) -> str:
    from sweattest.outputs.lims.fhir import render_fhir  # fhir.resources' models take 1.5 s to import

    return render_fhir(record, config)


def lims_format(name: str) -> LimsFormat:
    for fmt in LIMS_FORMATS:
        if fmt.name == name:
            return fmt
    raise ValidationError(f"--format {name!r}: use one of {', '.join(FORMATS)}")
