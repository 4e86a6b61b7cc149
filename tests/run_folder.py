"""Reading a run's output folder in tests."""

import json
from pathlib import Path


def record_in(folder: Path) -> dict:
    """The run record (``<accession>_<run_id>.json``) of the one run in ``folder``, not its FHIR file."""
    [path] = [p for p in Path(folder).glob("*.json") if not p.name.endswith(".fhir.json")]
    return json.loads(path.read_text(encoding="utf-8"))
