"""Skin reactions after stimulation over a period: counts and rates per operator and per inducer (by the serial
number the run's ``check_ready`` recorded), and the adverse events (blister, burn) for the QA desk.

Counted per stimulated site with a skin check (the latest entry of each run and site counts). Runs are chosen
by ``RunFilter`` (the period, and patient runs only once runs carry their purpose).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sweattest.core.rules.skin import ADVERSE, GRADES, SOURCE
from sweattest.qa.pack_section import PackSection
from sweattest.record.run_filter import RunFilter
from sweattest.record.run_instruments import recorded_instruments
from sweattest.record.skin_reactions import reaction_rows as recorded_reactions

RATE_COLUMNS = ("by", "key", "sites", *GRADES, "reaction_pct", "adverse_pct")
#: The inducer of a run whose instruments were not recorded.
UNKNOWN_INDUCER = "not recorded"


def reaction_rows(store, where: RunFilter | None = None) -> list[dict[str, Any]]:
    """One row per checked site of the runs ``where`` chooses: run, operator, inducer, site, grade, note."""
    rows = recorded_reactions(store, where or RunFilter())
    inducers: dict[str, str] = {}
    for row in rows:
        if row["run_id"] not in inducers:
            inducers[row["run_id"]] = _inducer(store, row["run_id"])
        row["inducer"] = inducers[row["run_id"]]
    return rows


def _inducer(store, run_id: str) -> str:
    inducer = (recorded_instruments(store, run_id) or {}).get("inducer") or {}
    return str(inducer.get("serial_number") or UNKNOWN_INDUCER)


def reaction_rates(rows: list[dict[str, Any]], by: str) -> list[dict[str, Any]]:
    """Per ``by`` ("operator" or "inducer"): sites checked, each grade's count, the rate of any reaction and
    the rate of adverse events (blister or burn), in % of the sites checked."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(GRADES, 0))
    for row in rows:
        counts[row[by]][row["grade"]] += 1
    out = []
    for key in sorted(counts):
        c = counts[key]
        sites = sum(c.values())
        reacted = sites - c["none"]
        adverse = sum(c[g] for g in ADVERSE)
        out.append({"by": by, "key": key, "sites": sites, **c, "reaction_pct": round(100.0 * reacted / sites, 1),
                    "adverse_pct": round(100.0 * adverse / sites, 1)})
    return out


def adverse_events(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if row["grade"] in ADVERSE]


def format_rates(rates: list[dict[str, Any]], events: list[dict[str, Any]]) -> str:
    if not rates:
        return "no skin checks recorded for the runs that match\n"
    lines = [f"Skin reactions per stimulated site ({SOURCE})",
             f"{'by':<9} {'operator / inducer':<20} {'sites':>6} " + " ".join(f"{g:>9}" for g in GRADES)
             + f" {'reaction':>9} {'adverse':>8}"]
    for r in rates:
        lines.append(f"{r['by']:<9} {r['key']:<20} {r['sites']:>6} " + " ".join(f"{r[g]:>9}" for g in GRADES)
                     + f" {r['reaction_pct']:>7.1f} % {r['adverse_pct']:>6.1f} %")
    lines.append(f"adverse events: {len(events)}")
    for e in events:
        lines.append(f"  {e['at']:%Y-%m-%d %H:%M}Z run {e['run_id']} {e['site']}: {e['grade'].upper()} "
                     f"({e['operator']}, inducer {e['inducer']}): {e['note']}")
    return "\n".join(lines) + "\n"


def pack_section(store, where: RunFilter) -> PackSection:
    """The pack's section: rates per operator and per inducer for the period, and each adverse event."""
    rows = reaction_rows(store, where)
    rates = reaction_rates(rows, "operator") + reaction_rates(rows, "inducer")
    notes = [f"Counted per stimulated site with a skin check; a blister or a burn is an adverse event ({SOURCE})."]
    notes += [f"Adverse event: run {e['run_id']}, {e['site']}, {e['grade']} ({e['operator']}, inducer "
              f"{e['inducer']}, {e['at']:%Y-%m-%d}): {e['note']}" for e in adverse_events(rows)]
    if not rows:
        notes.append("No skin checks were recorded for the runs of the period.")
    return PackSection(key="skin_reactions", title="Skin reactions after stimulation", columns=RATE_COLUMNS,
                       rows=tuple(tuple(r[c] for c in RATE_COLUMNS) for r in rates), notes=tuple(notes))
