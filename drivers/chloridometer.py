"""Coulometric chloride analyzer: reads the result line it sends after each analysis.

The analyzer talks, the host listens (docs/protocols/chloridometer.md): no commands, so no input is
flushed. An ERROR record raises ``AnalyzerError`` naming the code and what to do (the sample must be run
again; no result exists to record). A bad checksum, a garbled or incomplete line raises ProtocolError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pint

from drivers import chloride_format as fmt
from drivers.base import LineDevice, Silent
from sweattest.core.errors import DeviceError, ProtocolError, UnitError
from sweattest.core.units import Q_, parse_number

RESULT_TIMEOUT_S = 120.0
#: Seconds an analyzer is given to answer ``ID?`` before it is taken as one that only talks.
IDENTIFY_TIMEOUT_S = 1.0
UNREADABLE = ("Check the cable and the baud rate; then run the sample again or enter the result from the "
              "analyzer's display with a second tech's check.")


class AnalyzerError(DeviceError):
    """The analyzer could not measure a sample or control; ``code`` is its error code (E01...)."""

    def __init__(self, message: str, *, code: str, sample_id: str, **kw: Any):
        super().__init__(message, **kw)
        self.code = code
        self.sample_id = sample_id


@dataclass(frozen=True)
class AnalyzerResult:
    record: str  # "sample" | "qc" | "calibration"
    sample_id: str  # sample id; QC level; calibration standard
    chloride: pint.Quantity | None
    flags: tuple[str, ...] = ()
    error: str | None = None
    level: str | None = None
    lot: str | None = None
    seq: int = 0
    analyzed_at: str = ""  # the analyzer's own date and time, as sent


def parse_result(line: str) -> AnalyzerResult:
    """One result line -> AnalyzerResult; ProtocolError if malformed, AnalyzerError for ERROR records."""
    raw = line.encode("ascii", "backslashreplace")
    try:
        f = fmt.split(line)
    except fmt.FormatError as exc:
        raise ProtocolError(f"chloridometer: unreadable result line ({exc}).", device="chloridometer",
                            received=raw, action=UNREADABLE) from None
    if f.record == "ERROR":
        what, action = fmt.ERROR_CODES.get(f.status, ("unknown error code", "See the analyzer's manual."))
        raise AnalyzerError(f"chloridometer: analysis of {f.id!r} failed with {f.status} ({what}).",
                            code=f.status, sample_id=f.id, device="chloridometer", received=raw,
                            action=action)
    record = fmt.RECORDS[f.record]
    flags = () if f.status == "OK" else tuple(f.status.split(","))
    try:
        chloride = Q_(float(parse_number(f.value, f"chloride of {f.id!r}")), "mmol/L")
    except UnitError as exc:
        raise ProtocolError(f"chloridometer: unreadable result line ({exc}).", device="chloridometer",
                            received=raw, action=UNREADABLE) from None
    return AnalyzerResult(record=record, sample_id=f.id, chloride=chloride, flags=flags,
                          level=f.id if record == "qc" else None, lot=f.lot or None, seq=f.seq,
                          analyzed_at=f"{f.date}T{f.time}")


class Chloridometer(LineDevice):
    """A chloridometer that sends one line per analysis."""

    device = "chloridometer"
    write_terminator = b"\r\n"
    read_terminator = b"\r\n"
    timeout_s = RESULT_TIMEOUT_S

    def __init__(self, port: Any, **kw: Any):
        super().__init__(port, **kw)

    def identify(self, timeout_s: float = IDENTIFY_TIMEOUT_S) -> tuple[str, str, str, str] | None:
        """Ask ``ID?`` (optional in the format): (maker, model, serial, firmware), or None from an analyzer that
        only talks. Anything it sent before is dropped: no result was asked for yet."""
        try:
            reply = self.query("ID?", timeout_s)
        except Silent:
            return None  # an analyzer that only talks does not identify itself
        try:
            return fmt.split_identity(reply)
        except fmt.FormatError as exc:
            raise ProtocolError(f"chloridometer: unreadable answer to 'ID?' ({exc}).", device="chloridometer",
                                command="ID?", received=reply.encode("ascii", "backslashreplace"),
                                action="Check the cable and the baud rate.") from None

    def read_result(self, timeout_s: float = RESULT_TIMEOUT_S) -> AnalyzerResult:
        """The next result the analyzer sends, within ``timeout_s``."""
        line = self.read_line("", timeout_s)
        return parse_result(line)
