"""Reading HL7 v2 order messages from the LIS: ORM^O01 and OML^O21, new orders (ORC-1 NW) and cancels (CA).

Everything is checked before anything is stored; the first problem found is returned as a ``Problem``
(table 0357 code, segment and field, text for a person) and answered AE, or AR when the message cannot
be processed at all (not an order message, another version, a bad processing ID, unreadable).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sweattest.bench.order import ACCESSION, SEXES
from sweattest.core.lis_config import LisConfig
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
from sweattest.outputs.lims.hl7_escape import unescape

MESSAGE_TYPES = {("ORM", "O01"), ("OML", "O21")}
VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1")
ACTIONS = {"NW": "new", "CA": "cancel"}
_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})")
_SEGMENT = re.compile(r"^[A-Z][A-Z0-9]{2}$")


class Rejected(Exception):
    """The message is not taken: ``code`` AE or AR, ``problem`` says why."""

    def __init__(self, code: str, problem: Problem):
        super().__init__(problem.text)
        self.code, self.problem = code, problem


@dataclass(frozen=True)
class LisOrder:
    control_id: str  # MSH-10
    sender: str  # MSH-3^MSH-4
    message_type: str  # ORM^O01 or OML^O21
    action: str  # "new" or "cancel"
    placer: str  # ORC-2 (or OBR-2): the accession
    filler: str | None  # ORC-3 (or OBR-3)
    patient: dict[str, Any]  # mrn, authority, family, given, dob, sex
    provider: dict[str, str]  # id, name
    test_code: str  # OBR-4.1
    visit: dict[str, str] = field(default_factory=dict)  # PV1-2 class, PV1-19 visit number
    placer_ei: list[str] = field(default_factory=list)  # ORC-2 as sent: entity ID, namespace, ...
    filler_ei: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"control_id": self.control_id, "sender": self.sender, "message_type": self.message_type,
                "action": self.action, "placer": self.placer, "filler": self.filler, "patient": self.patient,
                "provider": self.provider, "test_code": self.test_code, "visit": self.visit,
                "placer_ei": self.placer_ei, "filler_ei": self.filler_ei}


def segments(text: str) -> list[list[str]]:
    """The message's segments split into fields (MSH indexed so that MSH-n is ``[n]``). Segments end with
    CR; a file's LF or CR LF line ends are accepted too."""
    out = []
    for line in re.split(r"\r\n|\r|\n", text):
        if not line.strip():
            continue
        if line.startswith("MSH"):
            out.append(["MSH", line[3:4], *line[4:].split(line[3:4])])
        else:
            out.append(line.split("|"))
    return out


def parse_order_message(text: str, lis: LisConfig) -> LisOrder:
    """The order in ``text``, or ``Rejected`` with the first problem found."""
    segs = segments(text)
    if not segs or segs[0][0] != "MSH" or len(segs[0]) < 12:
        raise Rejected("AR", Problem(SEGMENT_SEQUENCE, "the message does not start with a complete MSH segment",
                                     ("MSH", 1)))
    msh = segs[0]
    if msh[1] != "|" or not msh[2].startswith("^~\\&"):
        raise Rejected("AR", Problem(DATA_TYPE_ERROR, "only the standard delimiters |^~\\& are read", ("MSH", 2)))
    for seg in segs:
        if not _SEGMENT.match(seg[0]):
            raise Rejected("AE", Problem(SEGMENT_SEQUENCE, f"{seg[0][:10]!r} is not a segment name (a segment "
                                         "cut in half or a line break inside a field?)", None))
    control_id = _get(msh, 10)
    if not control_id:
        raise Rejected("AR", Problem(REQUIRED_FIELD_MISSING, "MSH-10 (message control ID) is empty", ("MSH", 10)))
    kind = _get(msh, 9).split("^")
    if len(kind) < 2 or kind[0] not in {t for t, _ in MESSAGE_TYPES}:
        raise Rejected("AR", Problem(UNSUPPORTED_MESSAGE_TYPE, f"message type {_get(msh, 9)!r}: only ORM^O01 and "
                                     "OML^O21 orders are taken", ("MSH", 9)))
    if (kind[0], kind[1]) not in MESSAGE_TYPES:
        raise Rejected("AR", Problem(UNSUPPORTED_EVENT, f"event {kind[1]!r}: only ORM^O01 and OML^O21", ("MSH", 9)))
    if _get(msh, 11)[:1] not in ("P", "T", "D") or not _get(msh, 11):
        raise Rejected("AR", Problem(UNSUPPORTED_PROCESSING_ID, f"processing ID {_get(msh, 11)!r}: use P, T or D",
                                     ("MSH", 11)))
    if _get(msh, 12).split("^")[0] not in VERSIONS:
        raise Rejected("AR", Problem(UNSUPPORTED_VERSION, f"HL7 version {_get(msh, 12)!r}: use 2.5.1 (2.3 to 2.5.1 "
                                     "are read)", ("MSH", 12)))
    pid, pv1, orc, obr = (_first(segs, name) for name in ("PID", "PV1", "ORC", "OBR"))
    for name, seg in (("PID", pid), ("ORC", orc), ("OBR", obr)):
        if seg is None:
            raise Rejected("AE", Problem(SEGMENT_SEQUENCE, f"the {name} segment is missing", (name, 0)))
    assert pid is not None and orc is not None and obr is not None
    action = ACTIONS.get(_get(orc, 1))
    if action is None:
        raise Rejected("AE", Problem(TABLE_VALUE_NOT_FOUND, f"order control {_get(orc, 1)!r}: NW (new order) and "
                                     "CA (cancel) are taken", ("ORC", 1)))
    placer_ei = _get(orc, 2) or _get(obr, 2)
    filler_ei = _get(orc, 3) or _get(obr, 3)
    placer = _text(placer_ei.split("^")[0])
    if not placer:
        raise Rejected("AE", Problem(REQUIRED_FIELD_MISSING, "ORC-2 (placer order number: the accession) is empty",
                                     ("ORC", 2)))
    if not ACCESSION.match(placer):
        raise Rejected("AE", Problem(DATA_TYPE_ERROR, f"placer order number {placer!r} is not an accession "
                                     "(3-40 letters, digits, . _ / -)", ("ORC", 2)))
    filler = _text(filler_ei.split("^")[0]) or None
    test_code = _text(_get(obr, 4).split("^")[0])
    panel = lis.code("panel")[0]
    if test_code != panel:
        raise Rejected("AE", Problem(TABLE_VALUE_NOT_FOUND, f"test {_get(obr, 4)!r} is not performed here; this lab "
                                     f"takes {panel} ({lis.code('panel')[1]})", ("OBR", 4)))
    return LisOrder(control_id=_text(control_id), sender=f"{_text(_get(msh, 3))}^{_text(_get(msh, 4))}",
                    message_type=f"{kind[0]}^{kind[1]}", action=action, placer=placer, filler=filler,
                    placer_ei=_ei(placer_ei), filler_ei=_ei(filler_ei),
                    patient=_patient(pid, action), provider=_provider(_get(orc, 12) or _get(obr, 16)),
                    test_code=test_code,
                    visit={"class": _text(_get(pv1, 2)), "number": _text(_get(pv1, 19).split("^")[0])} if pv1 else {})


def _patient(pid: list[str], action: str) -> dict[str, Any]:
    ids = [r.split("^") for r in _get(pid, 3).split("~") if r.split("^")[0]]
    if not ids:
        raise Rejected("AE", Problem(REQUIRED_FIELD_MISSING, "PID-3 (patient identifier list: the MRN) is empty",
                                     ("PID", 3)))
    chosen = next((i for i in ids if len(i) > 4 and i[4] == "MR"), ids[0])
    name = _get(pid, 5).split("~")[0].split("^")
    family, given = _text(name[0]), _text(name[1]) if len(name) > 1 else ""
    dob, sex = _get(pid, 7), _get(pid, 8)
    if action == "new":
        if not family:
            raise Rejected("AE", Problem(REQUIRED_FIELD_MISSING, "PID-5 (patient name) is empty", ("PID", 5)))
        m = _DATE.match(dob)
        try:
            born = date(int(m[1]), int(m[2]), int(m[3])) if m else None
        except ValueError:
            born = None
        if born is None:
            raise Rejected("AE", Problem(DATA_TYPE_ERROR, f"PID-7 (date of birth) {dob!r}: write YYYYMMDD",
                                         ("PID", 7)))
        if sex not in SEXES:
            raise Rejected("AE", Problem(TABLE_VALUE_NOT_FOUND, f"PID-8 (sex) {sex!r}: use one of "
                                         f"{', '.join(SEXES)}", ("PID", 8)))
    else:
        born = None
    return {"mrn": _text(chosen[0]), "authority": _text(chosen[3]) if len(chosen) > 3 else "",
            "identifiers": ["^".join(_text(p) for p in i[:5]) for i in ids], "family": family, "given": given,
            "dob": born.isoformat() if born else None, "sex": sex}


def _provider(xcn: str) -> dict[str, str]:
    parts = [_text(p) for p in xcn.split("~")[0].split("^")]
    parts += [""] * (4 - len(parts))
    name = " ".join(p for p in (parts[2], parts[1]) if p)
    return {"id": parts[0], "name": name or parts[0]}


def _ei(value: str) -> list[str]:
    """An entity identifier's components (unescaped), without trailing empty ones."""
    parts = [_text(p) for p in value.split("^")[:4]] if value else []
    while parts and not parts[-1]:
        parts.pop()
    return parts


def _first(segs: list[list[str]], name: str) -> list[str] | None:
    return next((s for s in segs if s[0] == name), None)


def _get(seg: list[str] | None, n: int) -> str:
    return seg[n] if seg is not None and len(seg) > n else ""


def _text(value: str) -> str:
    return unescape(value).strip()
