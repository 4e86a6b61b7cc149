"""A finished run's files: the run record (JSON), the report (HTML, PDF) and the LIMS files (HL7 ORU^R01, CSV),
each written atomically into one folder."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from sweattest.core.config import LabConfig, load_config
from sweattest.outputs.files import file_safe, write_atomic
from sweattest.outputs.lims.csv_file import render_csv
from sweattest.outputs.lims.hl7 import render_oru
from sweattest.outputs.report import render_html
from sweattest.outputs.report.pdf import html_to_pdf


def write_outputs(record: dict, out_dir: Path, config: LabConfig | None = None) -> dict[str, Path]:
    """``config`` defaults to the lab configuration from $SWEATTEST_CONFIG (else built-in)."""
    config = config or load_config()
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{file_safe(record['order']['accession'])}_{record['run_id']}"
    html = render_html(record, config)
    sent_at = datetime.fromisoformat(record["generated_at"])
    return {
        "json": write_atomic(out_dir / f"{stem}.json", json.dumps(record, indent=2, ensure_ascii=False) + "\n"),
        "html": write_atomic(out_dir / f"{stem}.html", html),
        "pdf": write_atomic(out_dir / f"{stem}.pdf", html_to_pdf(html)),
        "hl7": write_atomic(out_dir / f"{stem}.hl7", render_oru(record, config, sent_at=sent_at)),
        "csv": write_atomic(out_dir / f"{stem}.csv", render_csv(record)),
    }
