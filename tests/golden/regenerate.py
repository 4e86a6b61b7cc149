"""Regenerate the golden files: ``python -m tests.golden.regenerate`` (from the repository root).

The demo run and the hostile-name run on the virtual clock with a fixed run id, rendered for a lab in
America/New_York; HL7 with a fixed message control ID; a fixed audit chain head. Review the diff before committing.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from sweattest.core.config import Lab, LabConfig
from sweattest.outputs.lims.csv_file import render_csv
from sweattest.outputs.lims.hl7 import render_oru
from sweattest.outputs.report import render_html
from sweattest.record.run_record_model import RunRecord
from tests.golden.build import demo_order, simulated

FOLDER = Path(__file__).resolve().parent
CONFIG = LabConfig(lab=replace(Lab(), name="Golden City Children's Hospital Sweat Laboratory",
                               timezone="America/New_York", clia="22D0123456"))
CONTROL_ID = "0" * 20
CASES = {"demo": False, "hostile": True}


def outputs(record: RunRecord) -> dict[str, str]:
    sent_at = record.generated_at
    return {"html": render_html(record, CONFIG),
            "hl7": render_oru(record, CONFIG, sent_at=sent_at, control_id=CONTROL_ID),
            "csv": render_csv(record)}


#: The audit chain head printed on the golden reports (the real one depends on the stimulation loop's timing).
AUDIT_HEAD = "ab" * 32


def records() -> dict[str, RunRecord]:
    out = {}
    for name, hostile in CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            result, _ = simulated(Path(tmp), demo_order(hostile=hostile))
            record = result.record
            assert len(record.audit_head.sha256) == 64
            # it hashes the stimulation's poll timing too
            head = replace(record.audit_head, sha256=AUDIT_HEAD)
            out[name] = replace(record, stored=replace(record.stored, audit_head=head))
    return out


def main() -> None:
    for name, record in records().items():
        for ext, text in outputs(record).items():
            path = FOLDER / f"{name}.{ext}"
            path.write_bytes(text.encode("utf-8"))
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
