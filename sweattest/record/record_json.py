"""The run record's JSON document: the one serializer (``record_document``, ``record_json``) and the one parser
(``parse_record``, ``load_record``) of sweattest.record.run_record_model.RunRecord.

The document is version 3 (sweattest.record.run_record describes its fields): keys in a fixed order, times as
ISO 8601 text with their UTC offset, enums as their values. The parser reads a version-3 document written before
the later additions to version 3 (instruments, resumed, performed.signed, the method's measuring range and
balance readability: not recorded); it refuses a document of another version, one missing a field, with a field
of the wrong type or one version 3 does not have, naming the field by its path (``sites[0].chloride.text``): a
record is never guessed, a value never converted.
"""

from __future__ import annotations

import json
import math
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
        doc = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise RecordFormatError(f"{what}: not JSON ({exc})") from None
    except RecursionError:
        raise RecordFormatError(f"{what}: not a run record (nested too deeply to read)") from None
    except ValueError as exc:
        raise RecordFormatError(f"{what}: not JSON ({exc})") from None
    return parse_record(doc, what)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a record holds")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large a number for a record")
    return value


def parse_record(doc: Any, what: str = "run record") -> RunRecord:
    """The record of a version-3 document; RecordFormatError naming the version or the field it cannot read.
    Every field is checked for its type (a text, a whole number, a finite number, true/false, a time with its
    UTC offset, one of the rules' values): a field of the wrong type is refused, never converted; a field
    version 3 does not have is refused, never dropped (what came from outside as a document, the order and the
    QC status, is kept whole)."""
    if not isinstance(doc, Mapping):
        raise RecordFormatError(f"{what}: a run record is a JSON object, not {type(doc).__name__}")
    version = doc.get("record_version")
    if type(version) is not int or version != RECORD_VERSION:
        raise RecordFormatError(f"{what}: record_version {version!r} is not one this version reads "
                                f"(it reads record_version {RECORD_VERSION})")
    opened: list[_Fields] = []
    top = _Fields(doc, what, "", opened)
    top.read.add("record_version")
    record = _parse(top)
    for part in opened:
        part.no_others()
    return record


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 time of a record (None stays None)."""
    return None if text is None else datetime.fromisoformat(text)


def birth_date(record: RunRecord) -> date:
    """The patient's date of birth as the order keeps it (YYYY-MM-DD)."""
    return date.fromisoformat(str(record.patient["dob"]))


_ABSENT = object()


class _Fields:
    """One object of the document, read field by field: each read checks the field's type and names the field
    (its path in the document) when it is missing or wrong."""

    def __init__(self, doc: Any, what: str, path: str, opened: list[_Fields]):
        self.what, self.path, self.opened = what, path, opened
        if not isinstance(doc, Mapping):
            self._fail(None, f"is {_kind(doc)}, not an object")
        self.doc = doc
        self.read: set[str] | None = set()  # None: an object kept as a document, its other fields its own
        opened.append(self)

    def no_others(self) -> None:
        """Refuses a field this object has that version 3 does not (one never read)."""
        for key in self.doc:
            if self.read is not None and key not in self.read:
                self._fail(key, f"is not a field of record_version {RECORD_VERSION}")

    def _name(self, key: str | int | None) -> str:
        if key is None:
            return self.path or "the document"
        return f"{self.path}[{key}]" if isinstance(key, int) else f"{self.path}.{key}".lstrip(".")

    def _fail(self, key: str | int | None, problem: str):
        raise RecordFormatError(f"{self.what} (record_version {RECORD_VERSION}): {self._name(key)} {problem}")

    def _get(self, key: str, optional: bool, default: Any) -> Any:
        if self.read is not None:
            self.read.add(key)
        value = self.doc.get(key, _ABSENT)
        if value is _ABSENT:
            if default is not _ABSENT:
                return default
            self._fail(key, "is missing")
        if value is None and not optional:
            self._fail(key, "is null")
        return value

    def text(self, key: str, optional: bool = False, default: Any = _ABSENT) -> Any:
        value = self._get(key, optional, default)
        if value is not None and value is not default and not isinstance(value, str):
            self._fail(key, f"is {_kind(value)}, not a text")
        return value

    def whole(self, key: str, optional: bool = False) -> Any:
        value = self._get(key, optional, _ABSENT)
        if value is not None and type(value) is not int:
            self._fail(key, f"is {_kind(value)}, not a whole number")
        return value

    def number(self, key: str, optional: bool = False) -> Any:
        value = self._get(key, optional, _ABSENT)
        if value is not None and (type(value) not in (int, float) or not math.isfinite(value)):
            self._fail(key, f"is {_kind(value)}, not a finite number")
        return value

    def flag(self, key: str, optional: bool = False, default: Any = _ABSENT) -> Any:
        value = self._get(key, optional, default)
        if value is not None and not isinstance(value, bool):
            self._fail(key, f"is {_kind(value)}, not true or false")
        return value

    def time(self, key: str, optional: bool = False) -> datetime | None:
        value = self.text(key, optional)
        if value is None:
            return None
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            self._fail(key, f"is {value!r}, not an ISO 8601 time")
        if at.utcoffset() is None:
            self._fail(key, f"is {value!r}, a time without its UTC offset")
        return at

    def quantity(self, key: str, kind: str, optional: bool = False, default: Any = _ABSENT) -> Shown | None:
        """A quantity's text read by the one grammar (sweattest.core.units), kept beside it as the record shows
        it; ``kind``: what it must be (current, time, volume, ...)."""
        value = self.text(key, optional, default)
        if value is None:
            return None
        try:
            return Shown(parse_quantity(value, kind, self._name(key)), value)
        except UnitError as exc:
            raise RecordFormatError(f"{self.what} (record_version {RECORD_VERSION}): {exc}") from None

    def choice(self, key: str, kind: Any, optional: bool = False) -> Any:
        value = self.text(key, optional)
        if value is None:
            return None
        try:
            return kind(value)
        except ValueError:
            self._fail(key, f"is {value!r}, not one of {', '.join(str(v.value) for v in kind)}")

    def mapping(self, key: str, optional: bool = False, default: Any = _ABSENT) -> Any:
        """An object kept as the document has it (the order, QC status, ...)."""
        value = self._get(key, optional, default)
        if value is not None and value is not default and not isinstance(value, Mapping):
            self._fail(key, f"is {_kind(value)}, not an object")
        return value

    def obj(self, key: str, optional: bool = False) -> _Fields | None:
        value = self._get(key, optional, _ABSENT)
        return None if value is None else _Fields(value, self.what, self._name(key), self.opened)

    def items(self, key: str, default: Any = _ABSENT) -> list[_Fields]:
        return [_Fields(v, self.what, f"{self._name(key)}[{i}]", self.opened)
                for i, v in enumerate(self.array(key, default))]

    def array(self, key: str, default: Any = _ABSENT) -> list[Any]:
        value = self._get(key, False, default)
        if not isinstance(value, list | tuple):
            self._fail(key, f"is {_kind(value)}, not a list")
        return list(value)

    def any(self, key: str, default: Any = _ABSENT) -> Any:
        return self._get(key, True, default)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return {"dict": "an object", "list": "a list"}.get(type(value).__name__, type(value).__name__)


def _parse(d: _Fields) -> RunRecord:
    stored = None
    if "audit_head" in d.doc:
        head = d.obj("audit_head")
        earlier = d.array("earlier_tests")
        for i, test in enumerate(earlier):
            if not isinstance(test, Mapping):
                d._fail(f"earlier_tests[{i}]", f"is {_kind(test)}, not an object")
        stored = StoredParts(skin=tuple(SkinEntry(k.text("site"), k.text("grade"), k.text("note"), k.flag("adverse"),
                                                  k.text("by"), k.time("at")) for k in d.items("skin")),
                             audit_head=AuditHead(head.whole("entry", True), head.text("sha256", True)),
                             repeat_of=d.mapping("repeat_of", True), earlier_tests=tuple(earlier),
                             modulator=d.mapping("modulator", True))
    performed, reviewed = d.obj("performed"), d.obj("reviewed", True)
    return RunRecord(
        run_id=d.text("run_id"), state=d.text("state"), generated_at=d.time("generated_at"),
        simulated=d.flag("simulated"), timeline=d.text("timeline", True), order=_order(d),
        proficiency=d.mapping("proficiency", True, None), eligibility=d.mapping("eligibility"),
        method=_parse_method(d.obj("method")), instruments=d.mapping("instruments", True, None),
        sites=tuple(_parse_site(s) for s in d.items("sites")),
        interpretation=_parse_interpretation(d.obj("interpretation")), reviewer=d.text("reviewer", True),
        qc=_qc(d),
        performed=Performed(performed.text("by"), performed.text("name", True),
                            performed.flag("signed", default=False), performed.time("at", True)),
        reviewed=None if reviewed is None else Reviewed(reviewed.text("by"), reviewed.text("name", True),
                                                        reviewed.time("at", True)),
        resumed=tuple(Resumption(x.time("at"), x.text("by"), x.text("state_found"))
                      for x in d.items("resumed", default=())),
        report=_parse_report(d.obj("report")), stored=stored)


def _order(d: _Fields) -> Mapping[str, Any]:
    """The order as the run kept it: its accession and the patient's identity, which every output reads, checked."""
    order = d.obj("order")
    order.read = None
    order.text("accession")
    patient = order.obj("patient")
    patient.read = None
    for key in ("mrn", "family", "given", "sex"):
        patient.text(key)
    try:
        date.fromisoformat(patient.text("dob"))
    except ValueError:
        patient._fail("dob", f"is {patient.doc['dob']!r}, not a date (YYYY-MM-DD)")
    return order.doc


def _qc(d: _Fields) -> Mapping[str, Any]:
    """The QC status as the run kept it; its status, which every report shows, checked."""
    qc = d.obj("qc")
    qc.read = None
    qc.text("status")
    return qc.doc


def _parse_method(m: _Fields) -> Method:
    a, kind = m.obj("adequacy"), m.text("collection_kind")
    return Method(m.text("name"), m.text("title"), m.text("collection_device"), kind, m.text("analysis"),
                  m.quantity("current", "current"), m.quantity("duration", "time"),
                  m.quantity("minimum_sample", "mass" if kind == "gravimetric" else "volume"),
                  AdequacyRule(a.text("criterion"), a.text("text"), a.text("source")),
                  m.quantity("max_collection_time", "time"), m.quantity("lower_limit", "concentration", True, None),
                  m.quantity("upper_limit", "concentration", True, None),
                  m.quantity("weight_readability", "mass", True, None))


def _parse_finding(f: _Fields) -> Finding:
    return Finding(f.text("code"), f.choice("severity", Severity), f.text("message"), f.text("source"))


def _parse_site(s: _Fields) -> SiteEntry:
    a, st, c, cl, an, was = (s.obj("amounts"), s.obj("stimulation"), s.obj("collection"), s.obj("chloride", True),
                             s.obj("analysis", True), s.obj("was", True) if "was" in s.doc else None)
    unit = a.text("sample_unit")
    sample = "mass" if unit == "mg" else "volume"  # the amounts' unit of the sample: a weight or a volume
    return SiteEntry(
        site=s.text("site"), state=s.text("state"), abort_reason=s.text("abort_reason", True),
        sample_id=s.text("sample_id"), status=s.choice("status", SiteStatus),
        category=s.choice("category", Category, True), flag=s.choice("flag", Flag, True),
        amounts=Amounts(a.number("sample", True), unit, a.number("collection_min", True),
                        a.number("current_ma", True), a.number("charge_ma_min", True),
                        a.number("analyzer_chloride_mmol_l", True), a.number("sodium_mmol_l", True)),
        stimulation=Stimulation(st.quantity("current", "current"), st.quantity("charge", "charge", True),
                                st.text("trace"), st.number("duration_s", True), st.time("started_at", True),
                                st.time("ended_at", True)),
        collection=Collection(c.time("started_at", True), c.time("ended_at", True),
                              c.quantity("minutes", "time", True)),
        pre_weight=s.quantity("pre_weight", sample, True), post_weight=s.quantity("post_weight", sample, True),
        sample=s.quantity("sample", sample, True), adequate=s.flag("adequate", True),
        sweat_rate_g_m2_min=s.number("sweat_rate_g_m2_min", True),
        analyzer_chloride=s.quantity("analyzer_chloride", "concentration", True),
        sodium=s.quantity("sodium", "concentration", True),
        chloride=None if cl is None else Chloride(cl.choice("status", ChlorideStatus), cl.whole("value_mmol_l", True),
                                                  cl.text("comparator"), cl.text("text"), cl.flag("repeat_required")),
        analysis=None if an is None else Analysis(an.time("at"), an.whole("delay_min"), an.mapping("limit")),
        findings=tuple(_parse_finding(f) for f in s.items("findings")),
        steps=tuple(Step(x.text("from"), x.text("event"), x.text("to"), x.time("at"), x.number("t"))
                    for x in s.items("steps")),
        was=None if was is None else Was(was.text("chloride", True), was.text("sample", True),
                                         was.text("adequacy", True)))


def _parse_interpretation(i: _Fields) -> Interpretation:
    rs = i.obj("ranges")
    bands = tuple(Band(b.choice("category", Category), b.whole("low"), b.whole("high", True), b.text("wording"),
                       b.text("label"), b.text("code")) for b in rs.items("bands"))
    return Interpretation(
        category=i.choice("category", Category, True), wording=i.text("wording"),
        repeat_recommended=i.flag("repeat_recommended"), withheld=i.text("withheld", True),
        findings=tuple(_parse_finding(f) for f in i.items("findings")), label=i.text("label", True),
        code=i.text("code", True), monitoring=i.text("monitoring", True),
        current_guideline=i.text("current_guideline", True),
        ranges=RangeSet(rs.text("name"), rs.text("group"), bands, rs.text("source"), rs.flag("superseded")))


REPORT_STATES = ("preliminary", "final", "corrected")


def _parse_report(r: _Fields) -> ReportStatus:
    summary = None
    if "corrected_by" in r.doc:
        by, changed, change = r.obj("corrected_by"), r.obj("changed"), r.obj("interpretation_change", True)
        sites = changed.mapping("sites")
        for site, names in sites.items():
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                changed._fail(f"sites.{site}", "is not a list of texts")
        summary = CorrectionSummary(
            first_released_at=r.time("first_released_at", True),
            corrected_by=CorrectedBy(by.text("username"), by.text("name", True)),
            changed=Changed({k: tuple(v) for k, v in sites.items()}, changed.flag("interpretation")),
            interpretation_change=None if change is None else InterpretationChange(
                change.text("from"), change.text("to"), change.text("text")))
    corrections = tuple(
        Correction(c.whole("version"), c.time("at"), c.text("by"), c.text("reason"),
                   tuple(Change(ch.text("field"), ch.any("old"), ch.any("new"), ch.text("not_applied", True, None),
                                ch.text("name", True, None)) for ch in c.items("changes")),
                   c.text("by_name", True, None))
        for c in r.items("corrections"))
    status = r.text("status")
    if status not in REPORT_STATES:
        r._fail("status", f"is {status!r}, not one of {', '.join(REPORT_STATES)}")
    return ReportStatus(status, r.whole("version"), r.time("released_at", True), corrections, summary)
