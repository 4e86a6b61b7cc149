"""Amendments of a final result, applied to the run for a corrected report and a corrected LIMS message.

An amendment (sweattest.record.signoff.amend) is a new result version: ``changes`` maps a field to its new value,
with the reason, who and when. Fields the report applies:

- ``<site>.chloride``: the site's chloride in mmol/L (a number); re-reported through the clinical rules
  (rounding, analytical range) and the interpretation recomputed;
- ``comment``: the report comment (replaces the order's comment).

Any other field is listed among the corrections (what changed, old and new) without changing a value.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sweattest.core.errors import ValidationError
from sweattest.core.procedure.model import RunState
from sweattest.core.rules.chloride import report_chloride
from sweattest.core.units import number_in


def apply_amendments(run: RunState, order: dict[str, Any], versions: list[Any]
                     ) -> tuple[RunState, dict[str, Any], list[dict[str, Any]]]:
    """The run and order with every amendment applied, and the corrections as the report lists them.

    ``versions``: objects with ``version``, ``changes``, ``reason``, ``by``, ``at`` (oldest first)."""
    corrections: list[dict[str, Any]] = []
    order = dict(order)
    for v in versions:
        changed = []
        for key, new in v.changes.items():
            run, order, old = _apply(run, order, key, new)
            changed.append({"field": key, "old": old, "new": new})
        at = v.at.isoformat() if isinstance(v.at, datetime) else str(v.at)
        corrections.append({"version": v.version, "at": at, "by": v.by, "reason": v.reason,
                            "changes": changed})
    return run, order, corrections


def amended_chloride(key: str, new: Any):
    """The new chloride of an amendment: a finite number in mmol/L (a JSON number or its text)."""
    try:
        return number_in(new, "mmol/L", "concentration", f"amendment {key}")
    except ValidationError as exc:
        raise ValidationError(f"{exc}; give the chloride as a number in mmol/L, e.g. 45") from None


def _apply(run: RunState, order: dict[str, Any], key: str, new: Any):
    if key == "comment":
        old = order.get("comment")
        return run, order | {"comment": str(new)}, old
    site_name, _, field = key.partition(".")
    if field == "chloride" and site_name in {s.site for s in run.sites}:
        site = run.site(site_name)
        old = site.chloride.text if site.chloride is not None else None
        value = amended_chloride(key, new)
        return run.with_site(replace(site, chloride=report_chloride(run.protocol, value))), order, old
    return run, order, None
