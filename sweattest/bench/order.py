"""The test order (ORDER.json): patient, accession, method, sites, operator, pilocarpine lot.

Validated completely before anything is written: a bad order leaves no run behind. Format: docs/formats.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sweattest.core.errors import ConfigError, ValidationError
from sweattest.core.fields import date_field, field
from sweattest.core.procedure.model import SITES
from sweattest.core.protocol import Protocol, load_protocol

SEXES = ("F", "M", "O", "U")
_ACCESSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{2,39}$")


@dataclass(frozen=True)
class Patient:
    mrn: str
    family: str
    given: str
    dob: date
    sex: str


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

    def as_dict(self) -> dict[str, Any]:
        p = self.patient
        return {"accession": self.accession,
                "patient": {"mrn": p.mrn, "family": p.family, "given": p.given, "dob": p.dob.isoformat(),
                            "sex": p.sex},
                "ordering_provider": self.ordering_provider, "method": self.method, "sites": list(self.sites),
                "operator": self.operator,
                "pilocarpine_lot": {"lot": self.pilocarpine_lot, "expires": self.pilocarpine_expires.isoformat()},
                **({"comment": self.comment} if self.comment else {})}


def parse_order(doc: Any, protocols: Path | None = None) -> Order:
    """Validate an order; its method is looked up in the lab's ``protocols`` folder first, then the shipped
    methods."""
    if not isinstance(doc, dict):
        raise ValidationError("order: expected a JSON object")
    accession = field(doc, "accession", "order", str)
    if not _ACCESSION.match(accession):
        raise ValidationError(f"order.accession: {accession!r} is not an accession number "
                              "(3-40 letters, digits, . _ / -)")
    pdoc = field(doc, "patient", "order", dict)
    patient = Patient(
        mrn=field(pdoc, "mrn", "order.patient", str), family=field(pdoc, "family", "order.patient", str),
        given=field(pdoc, "given", "order.patient", str), dob=date_field(pdoc, "dob", "order.patient"),
        sex=field(pdoc, "sex", "order.patient", str))
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
    return Order(comment=comment.strip(), accession=accession, patient=patient,
                 ordering_provider=field(doc, "ordering_provider", "order", str), method=method,
                 protocol=protocol, sites=tuple(sites), operator=field(doc, "operator", "order", str),
                 pilocarpine_lot=field(lot, "lot", "order.pilocarpine_lot", str),
                 pilocarpine_expires=date_field(lot, "expires", "order.pilocarpine_lot"))
