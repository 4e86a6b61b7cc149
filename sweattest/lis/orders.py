"""Reading HL7 v2 order messages from the LIS: ORM^O01 and OML^O21, new orders (ORC-1 NW) and cancels (CA),
one or more orders (ORC/OBR groups) per message.

The message (its header, the patient, the visit) is checked first: what makes it unreadable or not for this
installation is ``Rejected`` AR (not an order message, another version, another processing ID), what the LIS
can correct is ``Rejected`` AE (a required field missing, a field longer than HL7 v2.5.1 allows, a date of
birth that cannot be, a code not in its table). Then each order is checked on its own: a group with a
problem is answered UA (unable to accept) while the others are taken (IHE LTW). Text comes through
``hl7_read`` (python-hl7 for the structure, escapes decoded into text); composite fields are kept as
components and subcomponents, so the result echoes them as they came.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sweattest.bench.order import ACCESSION
from sweattest.core.errors import ValidationError
from sweattest.core.lis_config import LisConfig
from sweattest.core.rules.eligibility import DEFAULT_LIMITS, Limits, check_patient
from sweattest.core.rules.findings import Severity
from sweattest.lis import hl7_read as h
from sweattest.lis.ack import (
    DATA_TYPE_ERROR,
    REQUIRED_FIELD_MISSING,
    SEGMENT_SEQUENCE,
    TABLE_VALUE_NOT_FOUND,
    UNSUPPORTED_EVENT,
    UNSUPPORTED_MESSAGE_TYPE,
    UNSUPPORTED_PROCESSING_ID,
    UNSUPPORTED_VERSION,
    Problem,
)

MESSAGE_TYPES = {("ORM", "O01"), ("OML", "O21")}
VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1")
ACTIONS = {"NW": "new", "CA": "cancel"}
#: HL7 table 0001 (administrative sex, v2.5.1)
SEX_CODES = ("F", "M", "O", "U", "A", "N")
#: no patient is older than this (a date of birth before it is a typing error, e.g. 00010101)
OLDEST_YEARS = 130
#: the longest MRN (PID-3.1 of the MR identifier) the worklist keeps (``lis_orders.mrn``)
MRN_LENGTH = 40
#: HL7 v2.5.1 DTM to the day at least: YYYYMMDD[HH[MM[SS[.S[S[S[S]]]]]]][+/-ZZZZ]
_DTM = re.compile(r"\d{8}(?:\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,4})?)?)?)?(?:[+-]\d{4})?")


class Rejected(Exception):
    """The message (or one order of it) is not taken: ``code`` AE or AR, ``problem`` says why."""

    def __init__(self, code: str, problem: Problem):
        super().__init__(problem.text)
        self.code, self.problem = code, problem


@dataclass(frozen=True)
class Header:
    control_id: str  # MSH-10
    sender: str  # MSH-3^MSH-4
    kind: str  # ORM, OML, ADT
    trigger: str  # O01, O21, A08...
    processing_id: str  # MSH-11


@dataclass(frozen=True)
class LisOrder:
    control_id: str  # MSH-10
    sender: str  # MSH-3^MSH-4
    message_type: str  # ORM^O01 or OML^O21
    action: str  # "new" or "cancel"
    placer: str  # ORC-2 (or OBR-2): the accession
    filler: str | None  # ORC-3 (or OBR-3)
    patient: dict[str, Any]  # mrn, authority, identifiers (PID-3), name (PID-5), family, given, middle, dob, sex
    provider: dict[str, Any]  # id, name, xcn (ORC-12, else OBR-16, as sent)
    test_code: str  # OBR-4.1
    visit: dict[str, Any] = field(default_factory=dict)  # class, number, number_cx (PV1-19), location (PV1-3)
    placer_ei: list[str] = field(default_factory=list)  # ORC-2 as sent: entity ID, namespace, ...
    filler_ei: list[str] = field(default_factory=list)
    placer_group: list = field(default_factory=list)  # ORC-4 as sent
    specimen: list = field(default_factory=list)  # SPM-2 of an OML as sent
    comments: list[str] = field(default_factory=list)  # NTE-3 of the order, line breaks kept
    test: list[str] = field(default_factory=list)  # OBR-4 as sent
    #: the order's ask-at-order-entry answers (OBX of the order): code (OBX-3.1), text (OBX-3.2), type (OBX-2),
    #: value (OBX-5's components, as text)
    answers: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"control_id": self.control_id, "sender": self.sender, "message_type": self.message_type,
                "action": self.action, "placer": self.placer, "filler": self.filler, "patient": self.patient,
                "provider": self.provider, "test_code": self.test_code, "visit": self.visit,
                "placer_ei": self.placer_ei, "filler_ei": self.filler_ei, "placer_group": self.placer_group,
                "specimen": self.specimen, "comments": self.comments, "answers": self.answers}


@dataclass(frozen=True)
class Group:
    """One ORC/OBR group: the order, or why it is refused; ``placer``/``filler``/``test`` as sent, for the
    answer."""

    index: int  # 1 for the message's first ORC
    placer: list[str]
    filler: list[str]
    test: list[str]
    action: str
    order: LisOrder | None = None
    refused: Problem | None = None


@dataclass(frozen=True)
class OrderMessage:
    header: Header
    patient: dict[str, Any]
    groups: list[Group]


def read_header(message, processing_id: str, kinds: set[tuple[str, str]]) -> Header:
    """MSH checked: control ID, a message type of ``kinds``, this installation's processing ID, a version read
    here, no field longer than HL7 v2.5.1 allows."""
    msh = h.first(message, "MSH")
    control_id = h.field_text(msh, 10)
    if not control_id:
        raise Rejected("AR", Problem(REQUIRED_FIELD_MISSING, "MSH-10 (message control ID) is empty", ("MSH", 10)))
    kind = [h.component(r, n) for r in h.composite(msh, 9)[:1] for n in (1, 2)] or ["", ""]
    if kind[0] not in {t for t, _ in kinds}:
        names = " and ".join(sorted(f"{t}^{e}" for t, e in kinds))
        raise Rejected("AR", Problem(UNSUPPORTED_MESSAGE_TYPE, f"message type {h.raw(msh, 9)!r}: only {names} are "
                                     "taken", ("MSH", 9)))
    if (kind[0], kind[1]) not in kinds:
        raise Rejected("AR", Problem(UNSUPPORTED_EVENT, f"event {kind[1]!r} of {kind[0]} is not taken", ("MSH", 9)))
    sent_id = h.field_text(msh, 11)
    if sent_id != processing_id:
        raise Rejected("AR", Problem(UNSUPPORTED_PROCESSING_ID, f"processing ID {sent_id!r}: this installation "
                                     f"takes {processing_id} messages only (MSH-11)", ("MSH", 11)))
    if h.field_text(msh, 12) not in VERSIONS:
        raise Rejected("AR", Problem(UNSUPPORTED_VERSION, f"HL7 version {h.raw(msh, 12)!r}: use 2.5.1 (2.3 to 2.5.1 "
                                     "are read)", ("MSH", 12)))
    long = h.too_long(message)
    if long is not None:
        name, where, length, limit = long
        raise Rejected("AE", Problem(DATA_TYPE_ERROR, f"{name}-{where} has {length} characters; HL7 v2.5.1 allows "
                                     f"{limit}", (name, int(where.split(".")[0]))))
    shape = h.misshapen(message)
    if shape is not None:
        raise Rejected("AE", Problem(DATA_TYPE_ERROR, shape[2], shape[:2]))
    return Header(control_id=control_id, sender=f"{h.field_text(msh, 3)}^{h.field_text(msh, 4)}", kind=kind[0],
                  trigger=kind[1], processing_id=sent_id)


def parse_order_message(text: str, lis: LisConfig, *, processing_id: str = "P", today: datetime | None = None,
                        limits: Limits = DEFAULT_LIMITS) -> OrderMessage:
    """The orders in ``text``, or ``Rejected`` with the first problem of the message as a whole."""
    try:
        message = h.read(text)
    except h.Unreadable as exc:
        raise Rejected("AR", Problem(SEGMENT_SEQUENCE, str(exc), None)) from exc
    header = read_header(message, processing_id, MESSAGE_TYPES)
    pid = h.first(message, "PID")
    if pid is None:
        raise Rejected("AE", Problem(SEGMENT_SEQUENCE, "the PID segment is missing", ("PID", 0)))
    if len(h.segments(message, "PID")) > 1:
        raise Rejected("AE", Problem(SEGMENT_SEQUENCE, "one patient (PID) per message: send each patient's orders "
                                     "in a message of their own; nothing was taken", ("PID", 0)))
    if not h.segments(message, "ORC"):
        raise Rejected("AE", Problem(SEGMENT_SEQUENCE, "the ORC segment is missing", ("ORC", 0)))
    actions = {ACTIONS.get(h.field_text(orc, 1)) for orc in h.segments(message, "ORC")}
    patient = read_patient(pid, new="new" in actions, today=today, limits=limits)
    pv1 = h.first(message, "PV1")
    visit = {"class": h.field_text(pv1, 2), "number": h.field_text(pv1, 19), "number_cx": h.composite(pv1, 19)[:1],
             "location": h.composite(pv1, 3)[:1]} if pv1 is not None else {}
    groups = [_group(i, segs, header, patient, visit, lis) for i, segs in enumerate(_order_groups(message), 1)]
    return OrderMessage(header=header, patient=patient, groups=groups)


def read_patient(pid, *, new: bool, today: datetime | None, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """PID: the identifiers (the MR one is the MRN), the name with its repetitions, date of birth and sex,
    checked for a new order (a cancel names the patient by its identifiers only)."""
    ids = [rep for rep in h.composite(pid, 3) if h.component(rep, 1)]
    if not ids:
        raise Rejected("AE", Problem(REQUIRED_FIELD_MISSING, "PID-3 (patient identifier list: the MRN) is empty",
                                     ("PID", 3)))
    chosen = next((i for i in ids if h.component(i, 5) == "MR"), ids[0])
    if len(h.component(chosen, 1)) > MRN_LENGTH:
        raise Rejected("AE", Problem(DATA_TYPE_ERROR, f"PID-3 MRN has {len(h.component(chosen, 1))} characters; "
                                     f"the worklist keeps {MRN_LENGTH}", ("PID", 3)))
    names = h.composite(pid, 5)
    name = names[0] if names else []
    dob, sex = h.field_text(pid, 7), h.field_text(pid, 8)
    born = None
    if new:
        if not h.component(name, 1):
            raise Rejected("AE", Problem(REQUIRED_FIELD_MISSING, "PID-5 (patient name) is empty", ("PID", 5)))
        born = _birth_date(dob, today, limits)
        if sex not in SEX_CODES:
            raise Rejected("AE", Problem(TABLE_VALUE_NOT_FOUND, f"PID-8 (sex) {sex!r}: use one of "
                                         f"{', '.join(SEX_CODES)} (HL7 table 0001)", ("PID", 8)))
    return {"mrn": h.component(chosen, 1), "authority": h.component(chosen, 4), "identifiers": ids,
            "name": names, "family": h.component(name, 1), "given": h.component(name, 2),
            "middle": h.component(name, 3), "dob": born.isoformat() if born else None, "sex": sex}


def _birth_date(dob: str, today: datetime | None, limits: Limits) -> date:
    try:
        born = date(int(dob[:4]), int(dob[4:6]), int(dob[6:8])) if _DTM.fullmatch(dob) else None
    except ValueError:
        born = None
    if born is None:
        raise Rejected("AE", Problem(DATA_TYPE_ERROR, f"PID-7 (date of birth) {dob!r}: write YYYYMMDD", ("PID", 7)))
    if today is None:
        return born
    if born.year < today.year - OLDEST_YEARS:
        raise Rejected("AE", Problem(DATA_TYPE_ERROR, f"PID-7 (date of birth) {dob!r} is more than {OLDEST_YEARS} "
                                     "years ago: correct the date of birth", ("PID", 7)))
    try:
        findings = check_patient(born, today, limits=limits)
    except ValidationError as exc:
        raise Rejected("AE", Problem(DATA_TYPE_ERROR, f"PID-7 (date of birth) {dob!r}: {exc}", ("PID", 7))) from exc
    blocks = [f.message for f in findings if f.severity == Severity.BLOCK]
    if blocks:
        raise Rejected("AE", Problem(DATA_TYPE_ERROR, f"PID-7 (date of birth) {dob!r}: {blocks[0]}", ("PID", 7)))
    return born


def _order_groups(message) -> list[list]:
    """The segments of each order: an ORC and what follows it up to the next ORC (OBR, NTE, SPM...)."""
    groups: list[list] = []
    for segment in message:
        name = str(segment[0])
        if name == "ORC":
            groups.append([segment])
        elif groups and name in ("OBR", "NTE", "SPM", "TQ1", "OBX"):
            groups[-1].append(segment)
    return groups


def _group(index: int, segs: list, header: Header, patient: dict[str, Any], visit: dict[str, Any],
           lis: LisConfig) -> Group:
    orc = segs[0]
    obr = next((s for s in segs if str(s[0]) == "OBR"), None)
    placer_ei = _ei(orc, 2) or _ei(obr, 2)
    filler_ei = _ei(orc, 3) or _ei(obr, 3)
    test = _ei(obr, 4)
    action = ACTIONS.get(h.field_text(orc, 1), "")

    def refuse(code: str, text: str, where: tuple[str, int]) -> Group:
        return Group(index, placer_ei, filler_ei, test, action, refused=Problem(code, text, (*where, index)))

    if not action:
        return refuse(TABLE_VALUE_NOT_FOUND, f"order control {h.field_text(orc, 1)!r}: NW (new order) and CA "
                      "(cancel) are taken", ("ORC", 1))
    placer = placer_ei[0] if placer_ei else ""
    if not placer:
        return refuse(REQUIRED_FIELD_MISSING, "ORC-2 (placer order number: the accession) is empty", ("ORC", 2))
    if not ACCESSION.match(placer):
        return refuse(DATA_TYPE_ERROR, f"placer order number {placer!r} is not an accession (3-40 letters, digits, "
                      ". _ / -)", ("ORC", 2))
    if obr is None:
        return refuse(SEGMENT_SEQUENCE, f"order {placer}: the OBR segment is missing", ("OBR", 0))
    panel = lis.code("panel")
    if (test[0] if test else "") != panel[0]:
        return refuse(TABLE_VALUE_NOT_FOUND, f"test {h.raw(obr, 4)!r} is not performed here; this lab takes "
                      f"{panel[0]} ({panel[1]})", ("OBR", 4))
    provider = h.composite(orc, 12)[:1] or h.composite(obr, 16)[:1]
    xcn = provider[0] if provider else []
    spm = next((s for s in segs if str(s[0]) == "SPM"), None)
    comments = ["\n".join(h.text(rep, lines=True) for rep in h.raw(s, 3).split("~"))  # NTE-3 repeats: lines
                for s in segs if str(s[0]) == "NTE"]
    order = LisOrder(control_id=header.control_id, sender=header.sender,
                     message_type=f"{header.kind}^{header.trigger}", action=action, placer=placer,
                     filler=(filler_ei[0] if filler_ei else "") or None, placer_ei=placer_ei, filler_ei=filler_ei,
                     patient=patient, provider=_provider(xcn, provider), test_code=test[0], test=test, visit=visit,
                     placer_group=h.composite(orc, 4)[:1], specimen=h.composite(spm, 2)[:1],
                     comments=[c for c in comments if c.strip()], answers=_answers(segs))
    return Group(index, placer_ei, filler_ei, test, action, order=order)


def _answers(segs: list) -> list[dict[str, Any]]:
    """The ask-at-order-entry answers of one order: each OBX after its OBR (Epic and Cerner send order
    questions so)."""
    out = []
    for obx in (s for s in segs if str(s[0]) == "OBX"):
        question = h.composite(obx, 3)[:1]
        value = h.composite(obx, 5)[:1]
        out.append({"code": h.component(question[0], 1) if question else "",
                    "text": h.component(question[0], 2) if question else "", "type": h.field_text(obx, 2),
                    "value": [h.component(value[0], n) for n in range(1, len(value[0]) + 1)] if value else []})
    return out


def _provider(xcn: list, as_sent: list) -> dict[str, Any]:
    """XCN: ID (often the NPI), family, given, middle...; the name as a person reads it."""
    parts = [h.component(xcn, n) for n in (1, 2, 3, 4)]
    name = " ".join(p for p in (parts[2], parts[3], parts[1]) if p)
    return {"id": parts[0], "name": name or parts[0], "xcn": as_sent}


def _ei(segment, n: int) -> list[str]:
    """An entity identifier's components (text), without trailing empty ones."""
    value = h.composite(segment, n)
    return [h.component(value[0], i) for i in range(1, len(value[0]) + 1)][:4] if value else []
