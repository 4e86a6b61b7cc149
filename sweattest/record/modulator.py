"""The change of sweat chloride on a CFTR modulator: this test against the patient's previous result (their
latest earlier test with a value) and against their last test before the modulator was started (the order's
``cftr_modulator`` and ``modulator_start``). On treatment the value is a monitoring value, not a diagnosis
(sweattest.core.rules.interpretation: no diagnostic category).

The clinical rules this laboratory works to (``domain/sweat-testing.md``: CLSI C34, CFF 2007, CFF 2017,
UK 2014) give no threshold for a response to a modulator, so the change is shown in mmol/L per site,
without interpretation, and the report says so. Sites are compared like for like (left forearm with left
forearm), each value as reported (whole mmol/L); sites are never averaged (CFF 2007, one value per site). When
the two tests share no site, the higher reportable value of each is compared (the value the interpretation
follows).
"""

from __future__ import annotations

from typing import Any

NO_INTERPRETATION = ("No guideline this laboratory works to (CLSI C34, CFF 2007, CFF 2017, UK 2014) states what "
                     "change of sweat chloride shows a response to a CFTR modulator: the change is shown in mmol/L, "
                     "without interpretation.")


def _values(sites: list[dict[str, Any]]) -> dict[str, int]:
    return {s["site"]: s["value_mmol_l"] for s in sites if s.get("value_mmol_l") is not None}


def modulator_change(order: dict[str, Any], this_date: str, this_sites: list[dict[str, Any]],
                     earlier: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The change from the pre-treatment value, or None when the order names no modulator. ``this_date``:
    this test's collection date (YYYY-MM-DD); ``this_sites``: its sites as ``test_summary`` lists them;
    ``earlier``: the patient's earlier tests (``test_summary``), oldest first."""
    start = order.get("modulator_start")
    if not start:
        return None
    out: dict[str, Any] = {"modulator": order.get("cftr_modulator"), "started": start, "baseline": None,
                           "rows": [], "previous": None, "previous_rows": [], "note": NO_INTERPRETATION}
    if this_date < start:
        out["note"] = "This test was collected before the modulator was started: it is itself a pre-treatment value."
        return out
    with_values = [t for t in earlier if _values(t["sites"])]
    if with_values:
        last = with_values[-1]
        out["previous"] = {"run_id": last["run_id"], "accession": last["accession"], "date": last["date"]}
        out["previous_rows"] = _rows(_values(last["sites"]), _values(this_sites))
    before = [t for t in earlier if t["date"] < start and _values(t["sites"])]
    if not before:
        out["note"] = "No sweat chloride of this patient before the modulator was started is stored: no change " \
                      "can be shown."
        return out
    baseline = before[-1]
    out["baseline"] = {"run_id": baseline["run_id"], "accession": baseline["accession"], "date": baseline["date"]}
    out["rows"] = _rows(_values(baseline["sites"]), _values(this_sites))
    return out


def _rows(then: dict[str, int], now: dict[str, int]) -> list[dict[str, Any]]:
    """Site by site (like for like); without a common site, the higher value of each."""
    common = [site for site in now if site in then]
    if common:
        return [{"site": site, "before": then[site], "now": now[site], "change": now[site] - then[site]}
                for site in common]
    if now:
        return [{"site": "higher site", "before": max(then.values()), "now": max(now.values()),
                 "change": max(now.values()) - max(then.values())}]
    return []
