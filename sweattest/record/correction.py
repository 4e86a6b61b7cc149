"""What a corrected result version changed against the version before it, as a clinician reads it: each
changed value with its old and new value (by name, never an internal field), the interpretation change in
words, who corrected it (full name) and when this version was released.

The outputs format it: the report marks the changed values and prints a banner on every page; HL7 sends
OBX-11 = C only on the observations that changed and OBR-22 = this version's release time; FHIR's
``issued`` is this version's release time. Source: CAP laboratory general checklist (corrected reports: the
change and its reason, identified as corrected); HL7 v2.5.1 table 0085 (C: record coming over is a correction).
"""

from __future__ import annotations

from typing import Any

from sweattest.core.procedure.model import SITE_NAMES

FIELD_WORDS = {"chloride": "sweat chloride", "volume": "sample volume", "post_weight": "post-collection weight",
               "comment": "comment", "patient.family": "patient family name", "patient.given": "patient given name",
               "patient.mrn": "patient MRN", "patient.dob": "patient date of birth", "patient.sex": "patient sex"}
#: per site: the observation (as HL7 and the report name it) -> how it is read from the record's site
OBSERVATIONS = {
    "chloride": lambda s: ((s.get("chloride") or {}).get("text"), s["status"]),
    "sample": lambda s: s.get("sample"),
    "adequacy": lambda s: s.get("adequate"),
    "sweat_rate": lambda s: s.get("sweat_rate_g_m2_min"),
}


def field_words(key: str) -> str:
    """``right_forearm.chloride`` -> ``Right forearm sweat chloride``; ``patient.dob`` -> ``patient date of birth``."""
    head, _, name = key.partition(".")
    if head in SITE_NAMES:
        return f"{SITE_NAMES[head]} {FIELD_WORDS.get(name, name.replace('_', ' '))}"
    return FIELD_WORDS.get(key, key.replace("_", " ").replace(".", " "))


def interpretation_words(interp: dict[str, Any]) -> str:
    """The interpretation in a few words: its label ("normal", "intermediate"), or why there is none."""
    if interp.get("label"):
        label = str(interp["label"])
        return label if label.startswith("CF") else label[:1].lower() + label[1:]
    if interp.get("category"):  # a record made before the range set's labels were kept
        return str(interp["category"]).replace("_", " ").replace("cf ", "CF ")
    if interp.get("monitoring"):
        return "a monitoring value on a CFTR modulator (no diagnostic category)"
    if interp.get("withheld"):
        return "no interpretation (withheld)"
    return "no interpretation (" + str(interp.get("wording", "")).rstrip(".").lower() + ")"


def correction_summary(previous: dict[str, Any], current: dict[str, Any],
                       signatures: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``report`` additions of a corrected ``current`` record against the ``previous`` version's record:
    ``released_at`` (this version's), ``first_released_at``, ``corrected_by`` (username and full name),
    ``changed`` (per site the observations that changed; whether the interpretation did),
    ``interpretation_change`` (in words; None when it did not change); per site ``was`` (old values shown)."""
    report = current["report"]
    last = report["corrections"][-1]
    signed = [s for s in signatures if s["meaning"] == "corrected" and s.get("version") == last["version"]]
    name = signed[-1].get("full_name") if signed else None
    before = {s["site"]: s for s in previous["sites"]}
    changed: dict[str, list[str]] = {}
    for site in current["sites"]:
        old = before.get(site["site"])
        if old is None:
            continue
        names = [n for n, read in OBSERVATIONS.items() if read(site) != read(old)]
        if names:
            changed[site["site"]] = names
            site["was"] = {"chloride": (old.get("chloride") or {}).get("text") or old["status"],
                           "sample": old.get("sample"),
                           "adequacy": None if old.get("adequate") is None else
                           ("adequate" if old["adequate"] else "QNS")}
    old_i, new_i = previous["interpretation"], current["interpretation"]
    keys = ("category", "label", "withheld", "monitoring", "wording")
    interp_changed = any(old_i.get(k) != new_i.get(k) for k in keys)
    change = None
    if interp_changed:
        was, now = interpretation_words(old_i), interpretation_words(new_i)
        change = {"from": was, "to": now,
                  "text": f"The interpretation changed from {was} to {now}." if was != now else
                  "The interpretation's wording changed: " + str(new_i.get("wording"))}
    for c in report["corrections"]:
        by = [s for s in signatures if s["meaning"] == "corrected" and s.get("version") == c["version"]]
        c["by_name"] = by[-1].get("full_name") if by else None
        for ch in c["changes"]:
            ch["name"] = field_words(ch["field"])
    return {"released_at": last["at"], "first_released_at": report.get("released_at"),
            "corrected_by": {"username": last["by"], "name": name},
            "changed": {"sites": changed, "interpretation": interp_changed},
            "interpretation_change": change}
