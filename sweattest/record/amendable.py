"""What an amendment of a final result may change, each new value checked as on entry, and how it applies.

Fields (``changes`` of an amendment maps a field to its new value):

- ``<site>.chloride``: the site's sweat chloride, a number in mmol/L (a JSON number or its text); re-reported
  through the clinical rules (rounding, analytical range) and the interpretation recomputed;
- ``<site>.volume`` (volumetric methods) or ``<site>.post_weight`` (gravimetric): the sample, a number in
  µL or mg, within what the method can yield; adequacy (QNS) is judged again, and a site that becomes QNS
  has no chloride reported. A QNS site was never analysed: it cannot become adequate by amendment;
- ``comment``: the report comment (replaces the order's comment);
- ``patient.family``, ``patient.given``, ``patient.mrn``, ``patient.dob`` (YYYY-MM-DD), ``patient.sex``: the
  patient's demographics, checked as an order's are.

Any other field, and a value that leaves the result as it was, is refused before anything is stored. A
change stored before these checks existed that they refuse (an unknown field, a value that is not a number)
is listed among the corrections as not applied, and never stops the report.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sweattest.core.errors import ValidationError
from sweattest.core.fields import SEXES, date_field, field
from sweattest.core.procedure.model import RunState
from sweattest.core.rules.adequacy import assess_volume, assess_weights
from sweattest.core.rules.chloride import report_chloride, site_chloride
from sweattest.core.units import Q_, format_quantity, magnitude_in, number_in

PATIENT_FIELDS = ("family", "given", "mrn", "dob", "sex")


def fields(run: RunState) -> list[str]:
    """The fields an amendment of ``run`` may change."""
    sample = "post_weight" if run.protocol.gravimetric else "volume"
    per_site = [f"{s.site}.{f}" for s in run.sites if s.state != "aborted" for f in ("chloride", sample)]
    return ["comment", *per_site, *(f"patient.{f}" for f in PATIENT_FIELDS)]


def check_changes(run: RunState, order: dict[str, Any], changes: Any
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``changes`` checked against the current (already amended) ``run`` and ``order``: the plain values to
    store and the old values they replace. Raises ValidationError naming the first bad field."""
    if not isinstance(changes, dict) or not changes or not all(isinstance(k, str) and k for k in changes):
        raise ValidationError("amendment: give the changed fields as a non-empty object of name -> new value")
    allowed = fields(run)
    out: dict[str, Any] = {}
    olds: dict[str, Any] = {}
    for key, new in changes.items():
        if key not in allowed:
            raise ValidationError(f"amendment {key}: not a field that can change; use one of {', '.join(allowed)}")
        value = plain_value(run, key, new)
        changed, olds[key] = apply_change(run, order, key, value)
        if changed == (run, order):
            raise ValidationError(f"amendment {key}: {new!r} changes nothing (it is already so); leave it out")
        run, order = changed
        out[key] = value
    return out, olds


def apply_amendments(run: RunState, order: dict[str, Any], versions: list[Any]
                     ) -> tuple[RunState, dict[str, Any], list[dict[str, Any]]]:
    """The run and order with every amendment applied, and the corrections as the report lists them.

    ``versions``: objects with ``version``, ``changes``, ``reason``, ``by``, ``at`` (oldest first)."""
    corrections: list[dict[str, Any]] = []
    order = dict(order)
    for v in versions:
        changed = []
        for key, new in v.changes.items():
            try:
                if key not in fields(run):
                    raise ValidationError(f"{key} is not a field that can change")
                (run, order), old = apply_change(run, order, key, plain_value(run, key, new))
                changed.append({"field": key, "old": old, "new": new})
            except ValidationError as exc:
                changed.append({"field": key, "old": None, "new": new, "not_applied": str(exc)})
        at = v.at.isoformat() if isinstance(v.at, datetime) else str(v.at)
        corrections.append({"version": v.version, "at": at, "by": v.by, "reason": v.reason,
                            "changes": changed})
    return run, order, corrections


def apply_change(run: RunState, order: dict[str, Any], key: str, value: Any
                 ) -> tuple[tuple[RunState, dict[str, Any]], Any]:
    """``(run, order)`` with one stored change applied, and the old value as the report shows it."""
    head, _, name = key.partition(".")
    if key == "comment":
        return (run, order | {"comment": value}), order.get("comment")
    if head == "patient":
        patient = dict(order["patient"])
        old = patient.get(name)
        return (run, order | {"patient": patient | {name: value}}), old
    site = run.site(head)
    p = run.protocol
    if name == "chloride":
        old = site.chloride.text if site.chloride is not None else None
        return (run.with_site(replace(site, chloride=report_chloride(p, Q_(value, "mmol/L")))), order), old
    minutes = site.collection_time or Q_(0, "min")
    if name == "volume":
        old = None if site.volume is None else format_quantity(site.volume)
        adequacy = assess_volume(p, Q_(value, "uL"), minutes, run.adequacy)
        site = replace(site, volume=Q_(value, "uL"), adequacy=adequacy)
    else:
        old = None if site.post_weight is None else format_quantity(site.post_weight)
        adequacy = assess_weights(p, site.pre_weight, Q_(value, "mg"), minutes, run.adequacy)
        site = replace(site, post_weight=Q_(value, "mg"), adequacy=adequacy)
    if not adequacy.adequate:
        site = replace(site, chloride=None)
    elif p.gravimetric and site.analyzer_chloride is not None:
        site = replace(site, chloride=site_chloride(p, site.analyzer_chloride, sweat_mass=adequacy.sample))
    return (run.with_site(site), order), old


def plain_value(run: RunState, key: str, new: Any) -> Any:
    """The new value of ``key`` as stored (plain JSON), read by the grammar and limits of its entry."""
    head, _, name = key.partition(".")
    where = f"amendment {key}"
    if key == "comment":
        if not isinstance(new, str):
            raise ValidationError(f"{where}: expected text (line breaks allowed)")
        return new.strip()
    if head == "patient":
        if name == "dob":
            return date_field({"dob": new}, "dob", "amendment patient").isoformat()
        value = field({name: new}, name, "amendment patient", str).strip()
        if name == "sex" and value not in SEXES:
            raise ValidationError(f"{where}: {value!r}; use one of {', '.join(SEXES)}")
        return value
    site = run.site(head)
    if name == "chloride":
        q = number_in(new, "mmol/L", "concentration", f"{where} (a number in mmol/L, e.g. 45)")
        if q.magnitude < 0:
            raise ValidationError(f"{where}: {format_quantity(q)} is negative; correct the value")
        if site.chloride is None:
            raise ValidationError(f"{where}: the site has no chloride (its sample was QNS or not analysed)")
        return _number(q.magnitude)
    unit, kind = ("uL", "volume") if name == "volume" else ("mg", "mass")
    q = number_in(new, unit, kind, f"{where} (a number in {unit})")
    if q.magnitude <= 0:
        raise ValidationError(f"{where}: {format_quantity(q)}: enter the sample above 0")
    if site.adequacy is None or not site.adequacy.adequate:
        raise ValidationError(f"{where}: the site was QNS and never analysed; a QNS site cannot become "
                              "adequate by amendment, repeat the test")
    return _number(magnitude_in(q, unit))


def _number(value: float) -> int | float:
    """A stored number as people write it: 62, not 62.0."""
    return int(value) if float(value).is_integer() else float(value)
