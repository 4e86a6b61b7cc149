"""A finished run's files: the run record (JSON), the report (HTML, PDF) and a file in each LIMS format
(sweattest.outputs.lims.formats: HL7 ORU^R01, CSV, FHIR), each written atomically into one folder."""

from __future__ import annotations

from pathlib import Path

from sweattest.core.config import LabConfig, load_config
from sweattest.outputs.files import file_safe, write_atomic
from sweattest.outputs.lims.formats import LIMS_FORMATS
from sweattest.outputs.report import render_html
from sweattest.outputs.report.pdf import html_to_pdf
from sweattest.record.record_json import record_json
from sweattest.record.run_record_model import RunRecord


def write_outputs(record: RunRecord, out_dir: Path, config: LabConfig | None = None) -> dict[str, Path]:
    """``config`` defaults to the lab configuration from $SWEATTEST_CONFIG (else built-in). Returns each
    file by its kind: ``json``, ``html``, ``pdf`` and the name of each LIMS format."""
    config = config or load_config()
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{file_safe(record.accession)}_{record.run_id}"
    html = render_html(record, config)
    sent_at = record.generated_at
    files = {
        "json": write_atomic(out_dir / f"{stem}.json", record_json(record)),
        "html": write_atomic(out_dir / f"{stem}.html", html),
        "pdf": write_atomic(out_dir / f"{stem}.pdf", html_to_pdf(html)),
    }
    for fmt in LIMS_FORMATS:  # a control ID of its own for each message (fmt.write makes one when given None)
        files[fmt.name] = write_atomic(out_dir / f"{stem}.{fmt.suffix}", fmt.write(record, config, sent_at, None))
    return files
