"""The test order (ORDER.json): patient (with weight and gestational age at birth when known), accession,
method, sites, operator, pilocarpine lot, the patient's conditions and the overrides of eligibility warnings.

Validated completely before anything is written: a bad order leaves no run behind. Format: docs/formats.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sweattest.core.errors import ConfigError, ValidationError
from sweattest.core.fields import SEXES, date_field, field
from sweattest.core.procedure.model import SITES
from sweattest.core.protocol import Protocol, load_protocol
from sweattest.core.rules.eligibility import CONDITIONS
from sweattest.core.units import Quantity, format_quantity, parse_quantity

ACCESSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{2,39}$")


@dataclass(frozen=True)
class Patient:
    mrn: str
    family: str
    given: str
    dob: date
    sex: str
    weight: Quantity | None = None
    gestational_age_at_birth: Quantity | None = None


@dataclass(frozen=True)
class OrderOverride:
    """The reason to proceed despite one eligibility warning (its finding code)."""

    code: str
    reason: str


@dataclass(frozen=True)
class Order:
    accession: str
    patient: Patient
    ordering_provider: str
    method: str
    protocol: Protocol
    sites: tuple[str, ...]
    operator: str
    pilocarpine_lot: str
    pilocarpine_expires: date
    #: the ordering clinician's or lab's comment, printed on the report and sent to the LIMS (NTE)
    comment: str = ""
    #: contraindications present (sweattest.core.rules.eligibility.CONDITIONS keys)
    conditions: tuple[str, ...] = ()
    #: one reason per eligibility warning the tech or clinician decided to proceed despite
    overrides: tuple[OrderOverride, ...] = ()
    #: the CFTR modulator the patient takes (e.g. "elexacaftor/tezacaftor/ivacaftor") and the day it started:
    #: the report shows the change from the last sweat chloride before that day
    cftr_modulator: str = ""
    modulator_start: date | None = None

    def as_dict(self) -> dict[str, Any]:
        p = self.patient
        patient: dict[str, Any] = {"mrn": p.mrn, "family": p.family, "given": p.given, "dob": p.dob.isoformat(),
                                   "sex": p.sex}
        if p.weight is not None:
            patient["weight"] = format_quantity(p.weight)
        if p.gestational_age_at_birth is not None:
            patient["gestational_age_at_birth"] = format_quantity(p.gestational_age_at_birth)
        return {"accession": self.accession,
                "patient": patient,
                "ordering_provider": self.ordering_provider, "method": self.method, "sites": list(self.sites),
                "operator": self.operator,
                "pilocarpine_lot": {"lot": self.pilocarpine_lot, "expires": self.pilocarpine_expires.isoformat()},
                **({"comment": self.comment} if self.comment else {}),
                **({"conditions": list(self.conditions)} if self.conditions else {}),
                **({"overrides": [{"code": o.code, "reason": o.reason} for o in self.overrides]}
                   if self.overrides else {}),
                **({"cftr_modulator": self.cftr_modulator, "modulator_start": self.modulator_start.isoformat()}
                   if self.modulator_start is not None else {})}


def parse_order(doc: Any, protocols: Path | None = None) -> Order:
    """Validate an order; its method is looked up in the lab's ``protocols`` folder first, then the shipped
    methods."""
    if not isinstance(doc, dict):
        raise ValidationError("order: expected a JSON object")
    accession = field(doc, "accession", "order", str)
    if not ACCESSION.match(accession):
        raise ValidationError(f"order.accession: {accession!r} is not an accession number "
                              "(3-40 letters, digits, . _ / -)")
    pdoc = field(doc, "patient", "order", dict)
    patient = Patient(
        mrn=field(pdoc, "mrn", "order.patient", str), family=field(pdoc, "family", "order.patient", str),
        given=field(pdoc, "given", "order.patient", str), dob=date_field(pdoc, "dob", "order.patient"),
        sex=field(pdoc, "sex", "order.patient", str),
        weight=_quantity(pdoc, "weight", "mass", "3.2 kg", (0.2, 300, "kg")),
        gestational_age_at_birth=_quantity(pdoc, "gestational_age_at_birth", "time", "38 weeks", (20, 45, "week")))
    if patient.sex not in SEXES:
        raise ValidationError(f"order.patient.sex: {patient.sex!r}; use one of {', '.join(SEXES)}")
    method = field(doc, "method", "order", str)
    try:
        protocol = load_protocol(method, protocols)
    except ConfigError as exc:
        raise ValidationError(f"order.method: {exc}") from None
    sites = field(doc, "sites", "order", list)
    if not sites:
        raise ValidationError("order.sites: empty; list one or two sites, e.g. [\"left_forearm\", \"right_forearm\"]")
    for i, site in enumerate(sites):
        if not isinstance(site, str) or site not in SITES:
            raise ValidationError(f"order.sites[{i}]: unknown site {site!r}; use one of {', '.join(SITES)}")
    if len(set(sites)) != len(sites):
        raise ValidationError("order.sites: a site is listed twice")
    lot = field(doc, "pilocarpine_lot", "order", dict)
    comment = doc.get("comment", "")
    if not isinstance(comment, str):
        raise ValidationError("order.comment: expected text (line breaks allowed)")
    modulator, started = _modulator(doc, patient.dob)
    return Order(comment=comment.strip(), accession=accession, patient=patient,
                 cftr_modulator=modulator, modulator_start=started,
                 conditions=_conditions(doc), overrides=_overrides(doc),
                 ordering_provider=field(doc, "ordering_provider", "order", str), method=method,
                 protocol=protocol, sites=tuple(sites), operator=field(doc, "operator", "order", str),
                 pilocarpine_lot=field(lot, "lot", "order.pilocarpine_lot", str),
                 pilocarpine_expires=date_field(lot, "expires", "order.pilocarpine_lot"))


def _modulator(doc: dict[str, Any], dob: date) -> tuple[str, date | None]:
    """The CFTR modulator and its start date: both or neither; the start not before birth."""
    name = field(doc, "cftr_modulator", "order", str, required=False, default="").strip()
    started = date_field(doc, "modulator_start", "order", required=False)
    if bool(name) != (started is not None):
        raise ValidationError("order.cftr_modulator and order.modulator_start go together: give the modulator's "
                              "name and the day it was started (YYYY-MM-DD), or neither")
    if started is not None and started < dob:
        raise ValidationError(f"order.modulator_start: {started.isoformat()} is before the patient's birth "
                              f"({dob.isoformat()}); correct it")
    return name, started


def _quantity(pdoc: dict[str, Any], key: str, kind: str, example: str,
              plausible: tuple[float, float, str]) -> Quantity | None:
    """An optional patient quantity written with its unit (``"3.2 kg"``), within what a patient can be."""
    where = f"order.patient.{key}"
    value = pdoc.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{where}: {value!r}: write it as text with its unit, like \"{example}\"")
    q = parse_quantity(value, kind, where)
    low, high, unit = plausible
    if not low <= q.to(unit).magnitude <= high:
        raise ValidationError(f"{where}: {value} is not a possible value ({low}-{high} {unit}); correct it")
    return q


def _conditions(doc: dict[str, Any]) -> tuple[str, ...]:
    conditions = field(doc, "conditions", "order", list, required=False, default=[])
    for i, code in enumerate(conditions):
        if not isinstance(code, str) or code not in CONDITIONS:
            raise ValidationError(f"order.conditions[{i}]: unknown condition {code!r}; use one of "
                                  f"{', '.join(CONDITIONS)}")
    if len(set(conditions)) != len(conditions):
        raise ValidationError("order.conditions: a condition is listed twice")
    return tuple(conditions)


def _overrides(doc: dict[str, Any]) -> tuple[OrderOverride, ...]:
    out: list[OrderOverride] = []
    for i, item in enumerate(field(doc, "overrides", "order", list, required=False, default=[])):
        where = f"order.overrides[{i}]"
        if not isinstance(item, dict) or set(item) != {"code", "reason"}:
            raise ValidationError(f"{where}: expected {{\"code\": \"<finding code>\", \"reason\": \"<why>\"}}")
        code, reason = field(item, "code", where, str).strip(), field(item, "reason", where, str).strip()
        if not code or not reason:
            raise ValidationError(f"{where}: give the warning's code and the reason to proceed; both are recorded")
        if any(o.code == code for o in out):
            raise ValidationError(f"{where}: {code} is overridden twice; give one reason per warning")
        out.append(OrderOverride(code, reason))
    return tuple(out)
