"""A new range set is one module in sweattest/core/rules/range_sets/ and one line in its list: registered there
(here, in a fresh process, a set that exists only in this test), the lab configuration accepts it and names it
among the known, ``sweattest interpret`` chooses its age group by calendar age with the boundary day where the
set puts it, and the set's adequacy criterion is the default. The docs list every registered set."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from sweattest.core.rules.range_sets import ALL

ROOT = Path(__file__).resolve().parents[2]
#: registers a set split at 12 months ("under 12 months": the boundary day is the older group), then runs the CLI
SCRIPT = """
import contextlib, io, json, sys
import sweattest.core.rules.range_sets as registry
from sweattest.core.rules.age import Cutoff
from sweattest.core.rules.bands import AgeGroup, RangeSetDefinition, bands

registry.ALL = (*registry.ALL, RangeSetDefinition(
    name="example_2030", source="Example 2030", reference="Example 2030 (1st ed.), interpretation",
    cutoff=Cutoff(12, False, "Example 2030: under 12 months"),
    groups=(AgeGroup("age under 12 months", bands(34, 64, ("low", "middle", "high"))),
            AgeGroup("age 12 months or over", bands(24, 54, ("low", "middle", "high")))),
    adequacy="sweat_rate"))

from sweattest.cli.main import main

results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    results.append((code, out.getvalue(), err.getvalue()))
print(json.dumps(results))
"""


def _case(path: Path, dob: str) -> str:
    path.write_text(json.dumps({
        "method": "macroduct", "patient": {"dob": dob}, "collected_at": "2026-11-20T10:00:00Z",
        "sites": [{"site": "left_forearm", "collection_min": 30, "volume_ul": 22, "chloride_mmol_l": 30}]}),
        encoding="utf-8")
    return str(path)


def test_a_registered_range_set_is_configured_and_interprets_by_its_age_groups(tmp_path):
    lab, bad = tmp_path / "lab.toml", tmp_path / "bad.toml"
    lab.write_text('[report]\nranges = "example_2030"\n', encoding="utf-8")
    bad.write_text('[report]\nranges = "example_2031"\n', encoding="utf-8")
    runs = [["interpret", _case(tmp_path / "infant.json", "2025-11-21"), "--config", str(lab)],  # 11 months 30 d
            ["interpret", _case(tmp_path / "boundary.json", "2025-11-20"), "--config", str(lab)],  # 12 months 0 d
            ["interpret", str(tmp_path / "infant.json"), "--config", str(bad)]]
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(runs)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (infant_code, infant, _), (boundary_code, boundary, _), (bad_code, _, bad_err) = json.loads(done.stdout)
    infant, boundary = json.loads(infant), json.loads(boundary)
    assert (infant_code, infant["range_set"]["group"], infant["interpretation"]) == (
        0, "age under 12 months", "cf_unlikely")
    assert (boundary_code, boundary["range_set"]["group"], boundary["interpretation"]) == (
        0, "age 12 months or over", "intermediate")
    assert infant["range_set"]["name"] == "example_2030" and infant["adequacy"]["criterion"] == "sweat_rate"
    assert bad_code == 2
    assert "ranges = 'example_2031': use one of cff_2017, clsi_c34_a3, uk_2014, example_2030" in bad_err


def test_the_docs_list_every_registered_range_set():
    rules = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    table = rules[rules.index("| set | age group |"):]
    table = table[:table.index("\n\n")]
    config = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    listed = re.search(r'^ranges = "cff_2017" +# interpretive ranges: (.*)$', config, re.M).group(1)
    assert listed == ", ".join(f"{d.name}" for d in ALL[:-1]) + f" or {ALL[-1].name}"
    for d in ALL:
        rows = re.findall(rf"^\| `{d.name}`", table, re.M)
        assert len(rows) == len(d.groups), f"docs/rules.md lists {len(rows)} age groups of {d.name}"
        if d.cutoff is not None:
            row = re.search(rf"^\| {d.cutoff.months} months, `{d.name}` \| range set \|.*$", rules, re.M)
            assert row, f"docs/rules.md's age cut-offs do not list {d.name}"
            assert d.reference in row.group(0), f"docs/rules.md cites {d.name} without its edition and section"
