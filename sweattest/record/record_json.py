"""The run record's JSON document: the one serializer (``record_document``, ``record_json``) and the one parser
(``parse_record``, ``load_record``) of sweattest.record.run_record_model.RunRecord.

The document is version 3 (sweattest.record.run_record describes its fields): keys in a fixed order, times as
ISO 8601 text with their UTC offset, enums as their values. The parser reads a version-3 document written before
the later additions to version 3 (instruments, resumed, performed.signed, the method's measuring range and
balance readability: not recorded); it refuses a document of another version, or one missing a field, with the
field it could not read: a record is never guessed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sweattest.core.errors import UnitError, ValidationError
from sweattest.core.procedure.model import Step
from sweattest.core.rules.bands import Band, Category, Flag, RangeSet
from sweattest.core.rules.chloride import ChlorideStatus
from sweattest.core.rules.findings import Finding, Severity
from sweattest.core.rules.result import SiteStatus
from sweattest.core.units import parse_quantity
from sweattest.record.run_record_model import (
    AdequacyRule,
    Amounts,
    Analysis,
    AuditHead,
    Change,
    Changed,
    Chloride,
    Collection,
    CorrectedBy,
    Correction,
    CorrectionSummary,
    Interpretation,
    InterpretationChange,
    Method,
    Performed,
    ReportStatus,
    Resumption,
    Reviewed,
    RunRecord,
    Shown,
    SiteEntry,
    SkinEntry,
    Stimulation,
    StoredParts,
    Was,
)

RECORD_VERSION = 3


class RecordFormatError(ValidationError):
    """A run record document this version cannot read: another record version, or a field missing or wrong."""


# -- serializer -------------------------------------------------------------------------------------------------


def record_json(record: RunRecord) -> str:
    """The record as the run's JSON file: two-space indent, UTF-8 text, one final line end."""
    return json.dumps(record_document(record), indent=2, ensure_ascii=False) + "\n"


def record_document(r: RunRecord) -> dict[str, Any]:
    """The record as its JSON document (plain dicts, lists, texts and numbers)."""
    doc: dict[str, Any] = {
        "record_version": RECORD_VERSION, "run_id": r.run_id, "state": r.state, "generated_at": _iso(r.generated_at),
        "simulated": r.simulated, "timeline": r.timeline, "order": _plain(r.order)}
    if r.proficiency is not None:
        doc["proficiency"] = _plain(r.proficiency)
    doc |= {"eligibility": _plain(r.eligibility), "method": _method(r.method), "instruments": _plain(r.instruments),
            "sites": [_site(s, r.report.summary is not None) for s in r.sites],
            "interpretation": _interpretation(r.interpretation), "reviewer": r.reviewer, "qc": _plain(r.qc),
            "performed": {"by": r.performed.by, "name": r.performed.name, "signed": r.performed.signed,
                          "at": _iso(r.performed.at)},
            "reviewed": None if r.reviewed is None else {"by": r.reviewed.by, "name": r.reviewed.name,
                                                         "at": _iso(r.reviewed.at)},
            "resumed": [{"at": _iso(x.at), "by": x.by, "state_found": x.state_found} for x in r.resumed],
            "report": _report(r.report)}
    if r.stored is not None:
        st = r.stored
        doc |= {"skin": [{"site": k.site, "grade": k.grade, "note": k.note, "adverse": k.adverse, "by": k.by,
                          "at": _iso(k.at)} for k in st.skin],
                "audit_head": {"entry": st.audit_head.entry, "sha256": st.audit_head.sha256},
                "repeat_of": _plain(st.repeat_of), "earlier_tests": [_plain(t) for t in st.earlier_tests],
                "modulator": _plain(st.modulator)}
    return doc


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _plain(value: Any) -> Any:
    """A mapping kept as a document (the order, QC status, ...) as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _text(value: Shown | None) -> str | None:
    """A quantity as the document keeps it: its text at the instrument's precision."""
    return None if value is None else value.text


def _method(m: Method) -> dict[str, Any]:
    return {"name": m.name, "title": m.title, "collection_device": m.collection_device,
            "collection_kind": m.collection_kind, "analysis": m.analysis, "current": _text(m.current),
            "duration": _text(m.duration), "minimum_sample": _text(m.minimum_sample),
            "adequacy": {"criterion": m.adequacy.criterion, "text": m.adequacy.text, "source": m.adequacy.source},
            "max_collection_time": _text(m.max_collection_time), "lower_limit": _text(m.lower_limit),
            "upper_limit": _text(m.upper_limit), "weight_readability": _text(m.weight_readability)}


def _enum(value: Any) -> Any:
    return None if value is None else str(value)


def _finding(f: Finding) -> dict[str, str]:
    return f.to_dict()


def _site(s: SiteEntry, summarised: bool) -> dict[str, Any]:
    a, st, c = s.amounts, s.stimulation, s.collection
    out = {
        "site": s.site, "state": s.state, "abort_reason": s.abort_reason, "sample_id": s.sample_id,
        "status": _enum(s.status), "category": _enum(s.category), "flag": _enum(s.flag),
        "amounts": {"sample": a.sample, "sample_unit": a.sample_unit, "collection_min": a.collection_min,
                    "current_ma": a.current_ma, "charge_ma_min": a.charge_ma_min,
                    "analyzer_chloride_mmol_l": a.analyzer_chloride_mmol_l, "sodium_mmol_l": a.sodium_mmol_l},
        "stimulation": {"current": _text(st.current), "charge": _text(st.charge), "trace": st.trace,
                        "duration_s": st.duration_s, "started_at": _iso(st.started_at), "ended_at": _iso(st.ended_at)},
        "collection": {"started_at": _iso(c.started_at), "ended_at": _iso(c.ended_at), "minutes": _text(c.minutes)},
        "pre_weight": _text(s.pre_weight), "post_weight": _text(s.post_weight), "sample": _text(s.sample),
        "adequate": s.adequate, "sweat_rate_g_m2_min": s.sweat_rate_g_m2_min,
        "analyzer_chloride": _text(s.analyzer_chloride), "sodium": _text(s.sodium),
        "chloride": None if s.chloride is None else {
            "status": _enum(s.chloride.status), "value_mmol_l": s.chloride.value_mmol_l,
            "comparator": s.chloride.comparator, "text": s.chloride.text,
            "repeat_required": s.chloride.repeat_required},
        "analysis": None if s.analysis is None else {"at": _iso(s.analysis.at), "delay_min": s.analysis.delay_min,
                                                     "limit": _plain(s.analysis.limit)},
        "findings": [_finding(f) for f in s.findings],
        "steps": [{"from": x.source, "event": x.event, "to": x.target, "at": _iso(x.at), "t": x.t} for x in s.steps],
    }
    if s.was is not None:
        out["was"] = {"chloride": s.was.chloride, "sample": s.was.sample, "adequacy": s.was.adequacy}
    return out


def _interpretation(i: Interpretation) -> dict[str, Any]:
    rs = i.ranges
    return {"category": _enum(i.category), "wording": i.wording, "repeat_recommended": i.repeat_recommended,
            "withheld": i.withheld, "findings": [_finding(f) for f in i.findings], "label": i.label, "code": i.code,
            "monitoring": i.monitoring, "current_guideline": i.current_guideline,
            "ranges": {"name": rs.name, "group": rs.group, "source": rs.source, "superseded": rs.superseded,
                       "bands": [{"category": _enum(b.category), "low": b.low, "high": b.high, "wording": b.wording,
                                  "label": b.label, "code": b.code} for b in rs.bands]}}


def _report(r: ReportStatus) -> dict[str, Any]:
    summarised = r.summary is not None
    out: dict[str, Any] = {"status": r.status, "version": r.version, "released_at": _iso(r.released_at),
                           "corrections": [_correction(c, summarised) for c in r.corrections]}
    if r.summary is not None:
        s = r.summary
        change = s.interpretation_change
        out |= {"first_released_at": _iso(s.first_released_at),
                "corrected_by": {"username": s.corrected_by.username, "name": s.corrected_by.name},
                "changed": {"sites": {k: list(v) for k, v in s.changed.sites.items()},
                            "interpretation": s.changed.interpretation},
                "interpretation_change": None if change is None else {"from": change.was, "to": change.now,
                                                                      "text": change.text}}
    return out


def _correction(c: Correction, summarised: bool) -> dict[str, Any]:
    changes = []
    for ch in c.changes:
        item = {"field": ch.field, "old": ch.old, "new": ch.new}
        if ch.not_applied is not None:
            item["not_applied"] = ch.not_applied
        if summarised:
            item["name"] = ch.name
        changes.append(item)
    out = {"version": c.version, "at": _iso(c.at), "by": c.by, "reason": c.reason, "changes": changes}
    if summarised:
        out["by_name"] = c.by_name
    return out


# -- parser -----------------------------------------------------------------------------------------------------


def load_record(text: str, what: str = "run record") -> RunRecord:
    """A record from its JSON file's text; RecordFormatError when it is not JSON or not a record."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordFormatError(f"{what}: not JSON ({exc})") from None
    return parse_record(doc, what)


def parse_record(doc: Any, what: str = "run record") -> RunRecord:
    """The record of a version-3 document; RecordFormatError naming the version or the field it cannot read."""
    if not isinstance(doc, Mapping):
        raise RecordFormatError(f"{what}: a run record is a JSON object, not {type(doc).__name__}")
    version = doc.get("record_version")
    if version != RECORD_VERSION:
        raise RecordFormatError(f"{what}: record_version {version!r} is not one this version reads "
                                f"(it reads record_version {RECORD_VERSION})")
    try:
        return _parse(doc)
    except UnitError as exc:  # a quantity's text, the field named
        raise RecordFormatError(f"{what} (record_version {RECORD_VERSION}): {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RecordFormatError(f"{what} (record_version {RECORD_VERSION}): cannot read it: "
                                f"{type(exc).__name__} {exc}") from None


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 time of a record (None stays None)."""
    return None if text is None else datetime.fromisoformat(text)


def birth_date(record: RunRecord) -> date:
    """The patient's date of birth as the order keeps it (YYYY-MM-DD)."""
    return date.fromisoformat(str(record.patient["dob"]))


def _parse(d: Mapping[str, Any]) -> RunRecord:
    stored = None
    if "audit_head" in d:
        head = d["audit_head"]
        stored = StoredParts(skin=tuple(SkinEntry(k["site"], k["grade"], k["note"], k["adverse"], k["by"],
                                                  parse_time(k["at"])) for k in d["skin"]),
                             audit_head=AuditHead(head["entry"], head["sha256"]), repeat_of=d["repeat_of"],
                             earlier_tests=tuple(d["earlier_tests"]), modulator=d["modulator"])
    performed, reviewed = d["performed"], d["reviewed"]
    return RunRecord(
        run_id=d["run_id"], state=d["state"], generated_at=parse_time(d["generated_at"]), simulated=d["simulated"],
        timeline=d["timeline"], order=d["order"], proficiency=d.get("proficiency"), eligibility=d["eligibility"],
        method=_parse_method(d["method"]), instruments=d.get("instruments"),
        sites=tuple(_parse_site(s) for s in d["sites"]), interpretation=_parse_interpretation(d["interpretation"]),
        reviewer=d["reviewer"], qc=d["qc"],
        performed=Performed(performed["by"], performed["name"], performed.get("signed", False),
                            parse_time(performed["at"])),
        reviewed=None if reviewed is None else Reviewed(reviewed["by"], reviewed["name"], parse_time(reviewed["at"])),
        resumed=tuple(Resumption(parse_time(x["at"]), x["by"], x["state_found"]) for x in d.get("resumed", ())),
        report=_parse_report(d["report"]), stored=stored)


def _quantity(text: Any, kind: str, where: str) -> Shown | None:
    """A quantity's text read by the one grammar (sweattest.core.units), kept beside it as the record shows it."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise UnitError(f"{where}: {text!r} is not a quantity's text (a number and a unit)")
    return Shown(parse_quantity(text, kind, where), text)


def _sample_kind(unit: str) -> str:
    return "mass" if unit == "mg" else "volume"


def _parse_method(m: Mapping[str, Any]) -> Method:
    a = m["adequacy"]
    sample = "mass" if m["collection_kind"] == "gravimetric" else "volume"
    return Method(m["name"], m["title"], m["collection_device"], m["collection_kind"], m["analysis"],
                  _quantity(m["current"], "current", "method.current"),
                  _quantity(m["duration"], "time", "method.duration"),
                  _quantity(m["minimum_sample"], sample, "method.minimum_sample"),
                  AdequacyRule(a["criterion"], a["text"], a["source"]),
                  _quantity(m["max_collection_time"], "time", "method.max_collection_time"),
                  _quantity(m.get("lower_limit"), "concentration", "method.lower_limit"),
                  _quantity(m.get("upper_limit"), "concentration", "method.upper_limit"),
                  _quantity(m.get("weight_readability"), "mass", "method.weight_readability"))


def _parse_finding(f: Mapping[str, Any]) -> Finding:
    return Finding(f["code"], Severity(f["severity"]), f["message"], f["source"])


def _maybe(kind, value):
    return None if value is None else kind(value)


def _parse_site(s: Mapping[str, Any]) -> SiteEntry:
    a, st, c, cl, an, was = s["amounts"], s["stimulation"], s["collection"], s["chloride"], s["analysis"], s.get("was")
    where, sample = f"sites.{s['site']}", _sample_kind(a["sample_unit"])
    return SiteEntry(
        site=s["site"], state=s["state"], abort_reason=s["abort_reason"], sample_id=s["sample_id"],
        status=SiteStatus(s["status"]), category=_maybe(Category, s["category"]), flag=_maybe(Flag, s["flag"]),
        amounts=Amounts(a["sample"], a["sample_unit"], a["collection_min"], a["current_ma"], a["charge_ma_min"],
                        a["analyzer_chloride_mmol_l"], a["sodium_mmol_l"]),
        stimulation=Stimulation(_quantity(st["current"], "current", f"{where}.stimulation.current"),
                                _quantity(st["charge"], "charge", f"{where}.stimulation.charge"), st["trace"],
                                st["duration_s"], parse_time(st["started_at"]), parse_time(st["ended_at"])),
        collection=Collection(parse_time(c["started_at"]), parse_time(c["ended_at"]),
                              _quantity(c["minutes"], "time", f"{where}.collection.minutes")),
        pre_weight=_quantity(s["pre_weight"], sample, f"{where}.pre_weight"),
        post_weight=_quantity(s["post_weight"], sample, f"{where}.post_weight"),
        sample=_quantity(s["sample"], sample, f"{where}.sample"), adequate=s["adequate"],
        sweat_rate_g_m2_min=s["sweat_rate_g_m2_min"],
        analyzer_chloride=_quantity(s["analyzer_chloride"], "concentration", f"{where}.analyzer_chloride"),
        sodium=_quantity(s["sodium"], "concentration", f"{where}.sodium"),
        chloride=None if cl is None else Chloride(ChlorideStatus(cl["status"]), cl["value_mmol_l"], cl["comparator"],
                                                  cl["text"], cl["repeat_required"]),
        analysis=None if an is None else Analysis(parse_time(an["at"]), an["delay_min"], an["limit"]),
        findings=tuple(_parse_finding(f) for f in s["findings"]),
        steps=tuple(Step(x["from"], x["event"], x["to"], parse_time(x["at"]), x["t"]) for x in s["steps"]),
        was=None if was is None else Was(was["chloride"], was["sample"], was["adequacy"]))


def _parse_interpretation(i: Mapping[str, Any]) -> Interpretation:
    rs = i["ranges"]
    bands = tuple(Band(Category(b["category"]), b["low"], b["high"], b["wording"], b["label"], b["code"])
                  for b in rs["bands"])
    return Interpretation(
        category=_maybe(Category, i["category"]), wording=i["wording"], repeat_recommended=i["repeat_recommended"],
        withheld=i["withheld"], findings=tuple(_parse_finding(f) for f in i["findings"]), label=i["label"],
        code=i["code"], monitoring=i["monitoring"], current_guideline=i["current_guideline"],
        ranges=RangeSet(rs["name"], rs["group"], bands, rs["source"], rs["superseded"]))


def _parse_report(r: Mapping[str, Any]) -> ReportStatus:
    summary = None
    if "corrected_by" in r:
        by, changed, change = r["corrected_by"], r["changed"], r["interpretation_change"]
        summary = CorrectionSummary(
            first_released_at=parse_time(r["first_released_at"]), corrected_by=CorrectedBy(by["username"], by["name"]),
            changed=Changed({k: tuple(v) for k, v in changed["sites"].items()}, changed["interpretation"]),
            interpretation_change=None if change is None else InterpretationChange(change["from"], change["to"],
                                                                                   change["text"]))
    corrections = tuple(
        Correction(c["version"], parse_time(c["at"]), c["by"], c["reason"],
                   tuple(Change(ch["field"], ch["old"], ch["new"], ch.get("not_applied"), ch.get("name"))
                         for ch in c["changes"]), c.get("by_name"))
        for c in r["corrections"])
    return ReportStatus(r["status"], r["version"], parse_time(r["released_at"]), corrections, summary)
