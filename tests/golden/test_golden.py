"""Golden files of the demo run and the hostile-name run: HTML report, HL7 ORU^R01, LIMS CSV.

After an intended change: ``python -m tests.golden.regenerate``, review the diff, commit.
"""

import re

import pytest

from sweattest.outputs.run_files import write_outputs
from tests.golden.regenerate import CASES, CONFIG, FOLDER, outputs, records
from tests.lims.hl7_oracle import strict

HINT = "output differs from its golden file; if intended, run `python -m tests.golden.regenerate` and review"


@pytest.fixture(scope="module")
def rendered():
    return {name: outputs(record) for name, record in records().items()}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("ext", ["html", "hl7", "csv"])
def test_matches_golden(rendered, name, ext):
    golden = (FOLDER / f"{name}.{ext}").read_bytes().decode("utf-8")
    assert rendered[name][ext] == golden, f"{name}.{ext}: {HINT}"


def test_golden_hl7_is_valid_and_hostile_text_is_escaped():
    for name in CASES:
        strict((FOLDER / f"{name}.hl7").read_bytes().decode("utf-8"))
    hostile = {ext: (FOLDER / f"hostile.{ext}").read_bytes().decode("utf-8") for ext in ("html", "hl7", "csv")}
    assert "<script>" not in hostile["html"] and "&lt;script&gt;" in hostile["html"]
    assert "O'Brien\\F\\Smith\\S\\<script>alert(1)</script>\\T\\\\R\\\\E\\^" in hostile["hl7"]
    assert "\n" not in hostile["hl7"] and "\\.br\\second line" in hostile["hl7"]
    assert "\"'=cmd|' /C calc'!A0 patient anxious\nsecond line: see ~ & \\ | ^\"" in hostile["csv"]


def test_demo_output_folder_matches_golden_but_for_the_control_id(tmp_path):
    record = records()["demo"]
    files = write_outputs(record, tmp_path, CONFIG)
    written = files["hl7"].read_bytes().decode("utf-8")
    assert re.sub(r"\|[0-9A-F]{20}\|", "|" + "0" * 20 + "|", written, count=1) == (
        FOLDER / "demo.hl7").read_bytes().decode("utf-8")
    assert files["html"].read_bytes() == (FOLDER / "demo.html").read_bytes()
    assert files["pdf"].read_bytes().startswith(b"%PDF")
