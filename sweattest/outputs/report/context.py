"""What a report template receives: the run record, the lab, and display helpers (lab time zone).

No clinical rule lives in a template: flags, ranges and wording come from the record and the rules.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from sweattest.core.config import LabConfig
from sweattest.core.procedure.model import SITE_NAMES
from sweattest.core.rules.bands import Band
from sweattest.core.rules.findings import Severity
from sweattest.outputs.report.clinical_text import clinical_text
from sweattest.outputs.report.facts import (
    age_text,
    change_text,
    indication,
    instrument_text,
    quantity_text,
    reporting_limits,
)
from sweattest.record.record_json import RECORD_VERSION
from sweattest.record.run_record_model import RunRecord

CATEGORY_NAMES = {"cf_unlikely": "CF unlikely", "intermediate": "Intermediate", "cf_likely": "CF likely"}
QC_NAMES = {"in_control": "QC in control (two levels) for this analytical run",
            "simulated": "Simulated analyzer: no control material was run",
            "not_recorded": "QC not recorded for this analytical run",
            "rejected": "QC REJECTED: results must not be released",
            "incomplete": "QC incomplete for this analytical run: results must not be released",
            "released_after_hold": "QC rejected, then corrective action and QC in control again (or the hold "
                                   "overridden, signed with its reason)"}


def local_time(at: datetime | None, zone: ZoneInfo) -> str:
    """A time shown in the lab's time zone, e.g. ``2026-03-08 09:30 EDT``."""
    if not at:
        return "—"
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def local_clock(at: datetime | None, zone: ZoneInfo) -> str:
    """Only the time of day in the lab's zone, e.g. ``09:30``: the end of a span whose start gives the date."""
    if not at:
        return "—"
    return at.astimezone(zone).strftime("%H:%M")


def nl2br(text: Any) -> Markup:
    """Text with its line breaks kept, everything else escaped."""
    lines = str(text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return Markup("<br>\n").join(escape(line) for line in lines)


def report_context(record: RunRecord, config: LabConfig) -> dict[str, Any]:
    """The record's fields by name (the template reads their attributes), the lab, and display helpers."""
    zone = config.zone
    return {
        **{f.name: getattr(record, f.name) for f in fields(record) if f.name != "proficiency"},
        # only a proficiency-testing sample's record has one, as its document (``proficiency is defined``)
        **({"proficiency": record.proficiency} if record.proficiency is not None else {}),
        "record_version": RECORD_VERSION,
        "skin": record.skin,
        "audit_head": record.audit_head,  # the chain head, when the record was made from the store
        "lab": config.lab,
        "zone_name": config.lab.timezone,
        "ranges": interpretive_ranges(record),
        "flags": flags(record) + [
            f"Run interrupted (its process stopped) and resumed at {local_time(r.at, zone)} by {r.by}: "
            f"found {r.state_found.replace('_', ' ')}, inducer outputs confirmed off"
            for r in record.resumed],
        "qc_text": QC_NAMES.get(record.qc["status"], record.qc["status"]),
        "collected_at": record.first_collection,
        "age": age_text(record, record.first_collection, zone),
        "indication": indication(record.order),
        "analyzer": instrument_text(record, "analyzer"),
        "balance": instrument_text(record, "balance"),
        "reporting_limits": reporting_limits(record.method),
        "qc_lots": ", ".join(record.qc.get("lots") or []) or None,
        # from the store: the run this one repeats, the patient's earlier tests, the change on a CFTR modulator
        "repeat_of": record.repeat_of,
        "earlier_tests": record.earlier_tests,
        "modulator": record.modulator,
        "change_text": change_text,
        "quantity": quantity_text,
        "signed": lambda n: f"+{n}" if n > 0 else (f"−{-n}" if n < 0 else "0"),
        "site_name": lambda site: SITE_NAMES.get(site, site.replace("_", " ")),
        "category_name": lambda c: CATEGORY_NAMES.get(c, c or "—"),
        "local": lambda value: local_time(value, zone),
        "clock": lambda value: local_clock(value, zone),
    }


def band_text(band: Band) -> str:
    """A band of whole mmol/L as the report prints it: ``≤ 29``, ``30–59``, ``≥ 60`` mmol/L."""
    if band.low == 0:
        return f"≤ {band.high} mmol/L"
    if band.high is None:
        return f"≥ {band.low} mmol/L"
    return f"{band.low}–{band.high} mmol/L"


def interpretive_ranges(record: RunRecord) -> dict[str, Any]:
    """The range set the record's interpretation used, as rows for the report."""
    rs = record.interpretation.ranges
    return {"name": rs.name, "group": rs.group, "source": rs.source,
            "rows": [{"range": band_text(b), "wording": b.wording} for b in rs.bands]}


def flags(record: RunRecord) -> list[str]:
    """Flags and comments the report prints: QNS, repeat, aborts, rule findings (warnings and blocks), with
    device commands summarised (sweattest.outputs.report.clinical_text)."""
    out: list[str] = []
    for s in record.sites:
        name = SITE_NAMES.get(s.site, s.site)
        if s.state == "aborted":
            out.append(f"{name}: site aborted — {clinical_text(s.abort_reason or 'no reason recorded')}")
        elif s.adequate is False:
            out.append(f"{name}: QNS — quantity not sufficient (sample {s.sample}); no chloride reported")
        for f in s.findings:
            if f.severity is not Severity.INFO:
                out.append(f"{name}: {clinical_text(f.message)}")
    interp = record.interpretation
    for f in interp.findings:
        message = clinical_text(f.message)
        for s in record.sites:  # test-level messages name sites by id; the report by their names
            message = message.replace(s.site, SITE_NAMES.get(s.site, s.site))
        if f.severity is not Severity.INFO and message not in out:
            out.append(message)
    if interp.repeat_recommended:
        out.append("Repeat sweat test recommended.")
    for r in record.skin:
        if r.adverse:
            name = SITE_NAMES.get(r.site, r.site)
            out.append(f"{name}: adverse event — {r.grade} after stimulation, recorded by {r.by}: {r.note}. "
                       "The requesting clinician is to be informed.")
    return out
