"""The record of a stored run: replayed from its events, with its signatures and amendments applied."""

from __future__ import annotations

from typing import Any

from sweattest.core.clock import Clock
from sweattest.record.amendable import apply_amendments
from sweattest.record.correction import correction_summary
from sweattest.record.run_record import run_record, stored_run_record
from sweattest.record.runs import load_run


def stored_record(store, run_id: str, clock: Clock, ranges: str = "cff_2017") -> dict[str, Any]:
    """The run's current result version as a record (corrected when amended), interpreted with the lab's
    range set ``ranges``."""
    from sweattest.record.signoff import signatures, versions

    original, original_order = load_run(store, run_id)
    amendments = versions(store, run_id)
    run, order, corrections = apply_amendments(original, original_order, amendments)
    signed = [{"username": s.username, "full_name": s.full_name, "meaning": s.meaning, "at": s.at,
               "version": s.version} for s in signatures(store, run_id)]
    now = clock.utcnow()
    record = stored_run_record(store, run, order, generated_at=now, signatures=signed,
                               corrections=corrections, ranges=ranges)
    if amendments:  # what this version changed against the one before it (the one the clinician last saw)
        before, before_order, earlier = apply_amendments(original, original_order, amendments[:-1])
        previous = run_record(before, before_order, generated_at=now, signatures=signed, corrections=earlier,
                              ranges=ranges)
        record["report"] |= correction_summary(previous, record, signed)
    return record
