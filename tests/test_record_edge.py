"""The run record's times are parsed in one place, its JSON edge (sweattest.record.record_json): outputs/
(reports, LIMS files, run files), qa/, web/ and cli/ (which are handed records, e.g. a finished run's, without
importing the record's modules) and every other module that reads a RunRecord take its datetimes as they are,
and never parse a time of the record themselves (``fromisoformat``). A date they parse that is not the
record's is listed below with what it parses."""

import ast
import pathlib
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sweattest"
#: a module that imports one of these reads the run record
RECORD_READERS = {"sweattest.record.run_record_model", "sweattest.record.stored_record", "sweattest.record.run_record"}
#: every module of these packages reads records
READER_PACKAGES = ("outputs", "qa", "web", "cli")
#: the dates readers parse that are not the record's: per module, the argument parsed (its source text)
NOT_RECORD_DATES = {
    "sweattest/qa/pt.py": {'ev["received_on"]'},  # the day a PT event was received, as the provider's list has it
    "sweattest/qa/filters.py": {"text", 'f"{text}-01"'},  # a command line's or a page's --since/--until
    "sweattest/qa/audit_trail.py": {"text", "at"},  # an audit entry's time and the search form's
    "sweattest/qa/validation.py": {'i["born"]', 'i["on"]', 'i["last"]', 'i["expires"]'},  # a validation case's input
    "sweattest/cli/at_station.py": {"at"},  # a refusal's time in a station's frame
}


def parses_times(source: str) -> list[int]:
    """The lines of ``source`` that call ``fromisoformat`` (of datetime or date)."""
    return [line for line, _ in time_parses(source)]


def time_parses(source: str) -> list[tuple[int, str]]:
    """Each call of ``fromisoformat`` in ``source``: its line and its argument's source text."""
    return [(node.lineno, ast.get_source_segment(source, node.args[0]) if node.args else "")
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "fromisoformat"]


def reads_the_record(source: str) -> bool:
    return any(isinstance(node, ast.ImportFrom) and node.module in RECORD_READERS
               for node in ast.walk(ast.parse(source)))


def test_the_check_finds_a_time_parsed_by_hand():
    assert parses_times("from datetime import datetime\nx = datetime.fromisoformat(r['generated_at'])\n") == [2]
    assert parses_times("import datetime as d\ny = d.date.fromisoformat(s)\n") == [2]
    assert parses_times("at = record.generated_at\n") == []
    assert reads_the_record("from sweattest.record.run_record_model import RunRecord\n")


def offenders(root: pathlib.Path = ROOT) -> list[str]:
    """Each time parsed by a reader of the record, not listed as a date that is not the record's."""
    found = []
    package = root / "sweattest"
    for path in sorted(package.rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if path.is_relative_to(package / "record"):
            continue  # the edge; the record's builders (the order's dates as the order keeps them)
        source = path.read_text(encoding="utf-8")
        if any(path.is_relative_to(package / p) for p in READER_PACKAGES) or reads_the_record(source):
            found += [f"{name}:{line} ({arg})" for line, arg in time_parses(source)
                      if arg not in NOT_RECORD_DATES.get(name, ())]
    return found


def test_no_output_and_no_reader_of_the_record_parses_a_time_of_it():
    assert offenders() == [], "parse record times in sweattest.record.record_json (parse_time), not here"


@pytest.mark.parametrize("module", ["sweattest/cli/resume.py", "sweattest/outputs/lims/hl7.py",
                                    "sweattest/qa/validation.py", "sweattest/web/run_views.py"])
def test_the_check_finds_a_time_of_the_record_parsed_in_a_reader(tmp_path, module):
    """A finished run's record parsed where it is handed over (a command that never imports the record's
    modules), or in a module with dates of its own, is found."""
    shutil.copytree(PACKAGE, tmp_path / "sweattest", ignore=shutil.ignore_patterns("__pycache__"))
    with open(tmp_path / module, "a", encoding="utf-8") as f:
        f.write("\n\ndef _at(result):\n    return datetime.fromisoformat(str(result.record.generated_at))\n")
    assert offenders(tmp_path) == [f"{module}:{_last_line(tmp_path / module)} (str(result.record.generated_at))"]


def _last_line(path: pathlib.Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())
