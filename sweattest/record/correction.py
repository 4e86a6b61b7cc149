"""What a corrected result version changed against the version before it, as a clinician reads it: each
changed value with its old and new value (by name, never an internal field), the interpretation change in
words, who corrected it (full name) and when this version was released.

The outputs format it: the report marks the changed values and prints a banner on every page; HL7 sends
OBX-11 = C only on the observations that changed and OBR-22 = this version's release time; FHIR's
``issued`` is this version's release time. Source: CAP laboratory general checklist (corrected reports: the
change and its reason, identified as corrected); HL7 v2.5.1 table 0085 (C: record coming over is a correction).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sweattest.core.procedure.model import SITE_NAMES
from sweattest.record.run_record_model import (
    Changed,
    CorrectedBy,
    CorrectionSummary,
    Interpretation,
    InterpretationChange,
    RunRecord,
    Was,
)

FIELD_WORDS = {"chloride": "sweat chloride", "volume": "sample volume", "post_weight": "post-collection weight",
               "comment": "comment", "patient.family": "patient family name", "patient.given": "patient given name",
               "patient.mrn": "patient MRN", "patient.dob": "patient date of birth", "patient.sex": "patient sex"}
#: per site: the observation (as HL7 and the report name it) -> how it is read from the record's site
OBSERVATIONS = {
    "chloride": lambda s: (s.chloride.text if s.chloride else None, s.status),
    "sample": lambda s: s.sample,
    "adequacy": lambda s: s.adequate,
    "sweat_rate": lambda s: s.sweat_rate_g_m2_min,
}


def field_words(key: str) -> str:
    """``right_forearm.chloride`` -> ``Right forearm sweat chloride``; ``patient.dob`` -> ``patient date of birth``."""
    head, _, name = key.partition(".")
    if head in SITE_NAMES:
        return f"{SITE_NAMES[head]} {FIELD_WORDS.get(name, name.replace('_', ' '))}"
    return FIELD_WORDS.get(key, key.replace("_", " ").replace(".", " "))


def interpretation_words(interp: Interpretation) -> str:
    """The interpretation in a few words: its label ("normal", "intermediate"), or why there is none."""
    if interp.label:
        label = str(interp.label)
        return label if label.startswith("CF") else label[:1].lower() + label[1:]
    if interp.category:  # a record made before the range set's labels were kept
        return str(interp.category).replace("_", " ").replace("cf ", "CF ")
    if interp.monitoring:
        return "a monitoring value on a CFTR modulator (no diagnostic category)"
    if interp.withheld:
        return "no interpretation (withheld)"
    return "no interpretation (" + str(interp.wording or "").rstrip(".").lower() + ")"


def corrected(previous: RunRecord, current: RunRecord, signatures: list[dict[str, Any]]) -> RunRecord:
    """``current`` (a corrected version) with what it changed against the ``previous`` version's record: its
    report's ``released_at`` (this version's) and summary (first release, who corrected it with the full name,
    per site the observations that changed, the interpretation change in words), per site ``was`` (the old
    values shown), each correction with its corrector's full name and each change named in words."""
    report = current.report
    last = report.corrections[-1]
    signed = [s for s in signatures if s["meaning"] == "corrected" and s.get("version") == last.version]
    name = signed[-1].get("full_name") if signed else None
    before = {s.site: s for s in previous.sites}
    changed: dict[str, tuple[str, ...]] = {}
    sites = []
    for site in current.sites:
        old = before.get(site.site)
        names = tuple(n for n, read in OBSERVATIONS.items() if old is not None and read(site) != read(old))
        if names:
            changed[site.site] = names
            site = replace(site, was=Was(chloride=(old.chloride.text if old.chloride else None) or str(old.status),
                                         sample=None if old.sample is None else old.sample.text,
                                         adequacy=None if old.adequate is None else
                                         ("adequate" if old.adequate else "QNS")))
        sites.append(site)
    old_i, new_i = previous.interpretation, current.interpretation
    keys = ("category", "label", "withheld", "monitoring", "wording")
    interp_changed = any(getattr(old_i, k) != getattr(new_i, k) for k in keys)
    change = None
    if interp_changed:
        was, now = interpretation_words(old_i), interpretation_words(new_i)
        change = InterpretationChange(was, now, f"The interpretation changed from {was} to {now}." if was != now
                                      else "The interpretation's wording changed: " + str(new_i.wording))
    corrections = []
    for c in report.corrections:
        by = [s for s in signatures if s["meaning"] == "corrected" and s.get("version") == c.version]
        corrections.append(replace(c, by_name=by[-1].get("full_name") if by else None,
                                   changes=tuple(replace(ch, name=field_words(ch.field)) for ch in c.changes)))
    summary = CorrectionSummary(first_released_at=report.released_at, corrected_by=CorrectedBy(last.by, name),
                                changed=Changed(changed, interp_changed), interpretation_change=change)
    return replace(current, sites=tuple(sites),
                   report=replace(report, released_at=last.at, corrections=tuple(corrections), summary=summary))
