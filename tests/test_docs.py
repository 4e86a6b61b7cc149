"""The README documents every command, and every command line it shows is one the CLI accepts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from sweattest.cli.main import COMMANDS, build_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
USE = README[README.index("## Use"):README.index("## Library use")]
LINES = [ln.split("  #")[0].strip() for ln in USE.splitlines() if ln.startswith("sweattest ")]


def test_every_command_is_in_the_readme_with_help_text():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    helps = {c.dest: c.help for c in sub._choices_actions}
    for command in COMMANDS:
        assert re.search(rf"^sweattest {command}\b", USE, re.M), f"README does not show `sweattest {command}`"
        assert helps.get(command), f"`sweattest {command}` has no help text"


def _concrete(line: str) -> list[str]:
    """A README usage line made concrete: first alternative of a|b, optional [..] parts dropped."""
    line = line.split(" | ")[0]
    line = re.sub(r"\[[^\]]*\]", "", line)
    line = re.sub(r"(\S+?)\|\S+", r"\1", line)
    return shlex.split(line)[1:]


@pytest.mark.parametrize("line", LINES)
def test_readme_command_lines_parse(line):
    argv = _concrete(line)
    parser = build_parser(argv[0])
    parser.parse_args(argv)  # raises SystemExit(2) on an option the CLI does not know


def test_the_library_example_runs_as_printed(capsys):
    block = README[README.index("## Library use"):].split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(block, "README.md", "exec"), {})  # noqa: S102 - the README's own example, as printed
    assert capsys.readouterr().out == "patient_verified [CheckReadiness()]\n"


def test_the_license_the_package_names_is_there():
    root = Path(__file__).resolve().parents[1]
    assert 'license = "Apache-2.0"' in (root / "pyproject.toml").read_text(encoding="utf-8")
    assert "Apache License" in (root / "LICENSE").read_text(encoding="utf-8")[:200]


def test_every_test_the_safety_table_names_exists():
    root = Path(__file__).resolve().parents[1]
    table = (root / "docs" / "safety.md").read_text(encoding="utf-8")
    named = re.findall(r"`?(tests/[\w/]+\.py)(?:::(\w+))?", table)
    assert len(named) > 20
    for path, test in named:
        assert (root / path).is_file(), f"docs/safety.md names {path}, which does not exist"
        if test:
            assert re.search(rf"^def {test}\(", (root / path).read_text(encoding="utf-8"), re.M), \
                f"docs/safety.md names {path}::{test}, which does not exist"


ROOT = Path(__file__).resolve().parents[1]
#: Sources must be ones a reader can look up: guidelines and manuals, never an internal sheet.
CHECKED_FOLDERS = ("sweattest", "protocols", "docs", "templates")


def test_no_source_points_to_an_internal_sheet():
    found = [str(p.relative_to(ROOT)) for folder in CHECKED_FOLDERS for p in (ROOT / folder).rglob("*")
             if p.is_file() and p.suffix in {".py", ".md", ".toml", ".html", ".txt", ".json"}
             and re.search(r"sheet (§|section)", p.read_text(encoding="utf-8"), re.I)]
    assert not found, f"cite the public source (CLSI C34, CFF 2007, CFF 2017, ACB 2014, a manual) in {found}"


def test_rules_without_a_guideline_figure_say_so():
    rules = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    plain = rules[rules.index("## Where no guideline gives the figure"):]
    for rule in ("10 mmol/L", "higher value", "half up", "<10"):
        assert rule in plain, rule
    assert plain.count("no guideline") + plain.count("No guideline") >= 4
