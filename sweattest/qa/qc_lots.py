"""The control lots section of the accreditation evidence pack: the lots in use in the period with their targets
and how those were set (the Levey-Jennings and Westgard section is built from the QC results themselves)."""

from __future__ import annotations

from sweattest.qa.pack_section import PackSection
from sweattest.record.qc_lots import SRC_ESTABLISH, history, lots
from sweattest.record.run_filter import RunFilter

COLUMNS = ("analyzer", "level", "lot", "material", "state", "target_mean_mmol_l", "target_sd_mmol_l", "expires",
           "targets_set", "added", "by")


def pack_section(store, where: RunFilter) -> PackSection:
    """Every lot that could be used in the period: added by its end, not retired before its start, in date at
    its start."""
    rows = []
    provisional = []
    for lot in lots(store):
        rows_of = history(store, lot.analyzer, lot.lot)
        added = rows_of[0]["at"].date()
        retired = next((r["at"].date() for r in rows_of if r["state"] == "retired"), None)
        if where.date_to and added > where.date_to:
            continue
        if where.date_from and (retired and retired < where.date_from or lot.expires < where.date_from):
            continue
        established = next((r for r in rows_of if r["state"] == "established"), None)
        how = ("not yet (provisional: the manufacturer's values)" if established is None else
               established["reason"] or f"entered {established['at']:%Y-%m-%d} by {established['who']}")
        if established is None:
            provisional.append(lot.lot)
        rows.append((lot.analyzer, lot.level, lot.lot, lot.material, lot.state, lot.mean, lot.sd,
                     lot.expires.isoformat(), how, added.isoformat(), rows_of[0]["who"]))
    notes = [f"A new lot's targets are the lab's own: {SRC_ESTABLISH}. Results on a provisional lot are recorded "
             "but not judged, and do not release patient results on their own."]
    if provisional:
        notes.append(f"Still provisional: {', '.join(provisional)}.")
    if not rows:
        notes.append("No control lot was recorded for this period.")
    return PackSection("qc_lots", "Control lots and their targets", COLUMNS, tuple(rows), tuple(notes))
