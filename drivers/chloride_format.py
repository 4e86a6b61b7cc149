"""The chloridometer's result line (docs/protocols/chloridometer.md): build, check and parse.

One line per analysis, sent unsolicited, ASCII, CR LF::

    SAMPLE;0012;2026-11-20;09:41:07;ST123-L;45.2;mmol/L;OK;*25
    QC;0013;2026-11-20;09:43:30;NORMAL;98.7;mmol/L;OK;QC2291*6C
    ERROR;0014;2026-11-20;09:45:55;ST123-R;;;E01;*5D

Fields: record (SAMPLE | QC | CAL | ERROR), sequence number, analyzer date and time, id (sample id; QC
level; calibration standard), chloride, unit, status (``OK``, flags joined by ``,``, or the error code
of an ERROR record), lot (QC and CAL records). After ``*`` two hex digits: the XOR of every byte before
the ``*``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RECORDS = {"SAMPLE": "sample", "QC": "qc", "CAL": "calibration", "ERROR": "error"}
FLAGS = {
    "LOW": "below the measuring range (under 10 mmol/L)",
    "HIGH": "above the measuring range (over 160 mmol/L)",
    "REPEAT": "result of a repeated titration",
}
#: error code -> (what happened, what the tech should do)
ERROR_CODES = {
    "E01": ("no titration end point",
            "Clean the silver electrodes, replace the acid buffer and run the sample again."),
    "E02": ("no sample detected", "Check the sample was pipetted into the vial and run it again."),
    "E03": ("result above the measuring range",
            "Check the sample for contamination or evaporation and run it again."),
    "E04": ("generator electrode open",
            "Check the electrode connections, then run a control before the sample."),
    "E05": ("calibration out of tolerance",
            "Calibrate the analyzer with the standard, then run the controls."),
    "E06": ("titration time exceeded", "Replace the acid buffer and run the sample again."),
}
_FIELD = re.compile(r"[\x20-\x7e]*\Z")
_VALUE = re.compile(r"\d{1,4}(?:\.\d{1,3})?\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_TIME = re.compile(r"\d{2}:\d{2}:\d{2}\Z")


class FormatError(ValueError):
    """The line does not follow the format; the message says which part."""


@dataclass(frozen=True)
class ResultLine:
    record: str  # SAMPLE | QC | CAL | ERROR
    seq: int
    date: str
    time: str
    id: str
    value: str
    unit: str
    status: str
    lot: str


def checksum(body: str) -> str:
    x = 0
    for b in body.encode("ascii"):
        x ^= b
    return f"{x:02X}"


def build(fields: ResultLine) -> str:
    body = ";".join([fields.record, f"{fields.seq:04d}", fields.date, fields.time, fields.id, fields.value,
                     fields.unit, fields.status, fields.lot])
    return f"{body}*{checksum(body)}"


def split(line: str) -> ResultLine:
    """Check framing and checksum and split into fields; FormatError says what is wrong."""
    if not _FIELD.match(line):
        raise FormatError("the line holds bytes that are not printable ASCII")
    body, star, cs = line.rpartition("*")
    if not star:
        raise FormatError("the line has no '*' checksum")
    if cs != checksum(body):
        raise FormatError(f"checksum {cs!r} does not match the line (expected {checksum(body)})")
    parts = body.split(";")
    if len(parts) != 9:
        raise FormatError(f"expected 9 fields separated by ';', found {len(parts)}")
    record, seq, date, time, ident, value, unit, status, lot = parts
    if record not in RECORDS:
        raise FormatError(f"unknown record type {record!r}")
    if not seq.isdigit() or len(seq) != 4:
        raise FormatError(f"sequence number {seq!r} is not 4 digits")
    if not _DATE.match(date) or not _TIME.match(time):
        raise FormatError(f"date/time {date!r} {time!r} are not YYYY-MM-DD hh:mm:ss")
    if record == "ERROR":
        if status not in ERROR_CODES and not re.fullmatch(r"E\d\d", status):
            raise FormatError(f"error record without an error code (status {status!r})")
    else:
        if not _VALUE.match(value) or unit != "mmol/L":
            raise FormatError(f"chloride {value!r} {unit!r} is not a number in mmol/L")
        flags = status.split(",")
        if status != "OK" and not all(f in FLAGS for f in flags):
            raise FormatError(f"unknown status {status!r}")
    if not ident:
        raise FormatError("the id field is empty")
    return ResultLine(record, int(seq), date, time, ident, value, unit, status, lot)


def split_identity(line: str) -> tuple[str, str, str, str]:
    """The answer to ``ID?``: ``ID;<maker>;<model>;<serial>;<firmware>*<checksum>`` -> its four fields."""
    if not _FIELD.match(line):
        raise FormatError("the line holds bytes that are not printable ASCII")
    body, star, cs = line.rpartition("*")
    if not star or cs != checksum(body):
        raise FormatError("the identification has no valid '*' checksum")
    parts = body.split(";")
    if len(parts) != 5 or parts[0] != "ID" or not parts[2]:
        raise FormatError("expected ID;<maker>;<model>;<serial>;<firmware>")
    return parts[1], parts[2], parts[3], parts[4]
