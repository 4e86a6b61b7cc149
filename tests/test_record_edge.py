"""The run record's times are parsed in one place, its JSON edge (sweattest.record.record_json): outputs/
(reports, LIMS files, run files) and every module that reads a RunRecord take its datetimes as they are, and
never parse a time of the record themselves (``fromisoformat``)."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sweattest"
EDGE = PACKAGE / "record" / "record_json.py"
#: a module that imports one of these reads the run record
RECORD_READERS = {"sweattest.record.run_record_model", "sweattest.record.stored_record", "sweattest.record.run_record"}
#: readers of the record that parse a date that is not the record's, and which date
NOT_RECORD_DATES = {"sweattest/qa/pt.py": "the day a proficiency-testing event was received, as the provider's list "
                                          "keeps it"}


def parses_times(source: str) -> list[int]:
    """The lines of ``source`` that call ``fromisoformat`` (of datetime or date)."""
    return [node.lineno for node in ast.walk(ast.parse(source))
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


def test_no_output_and_no_reader_of_the_record_parses_a_time_of_it():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = str(path.relative_to(ROOT))
        if path == EDGE or path.is_relative_to(PACKAGE / "record") or name in NOT_RECORD_DATES:
            continue  # the edge; the record's builders (the order's dates as the order keeps them)
        source = path.read_text(encoding="utf-8")
        if path.is_relative_to(PACKAGE / "outputs") or reads_the_record(source):
            offenders += [f"{name}:{line}" for line in parses_times(source)]
    assert offenders == [], "parse record times in sweattest.record.record_json (parse_time), not here"
