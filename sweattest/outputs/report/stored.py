"""The record of a stored run: replayed from its events, with its signatures and amendments applied."""

from __future__ import annotations

from typing import Any

from sweattest.core.clock import Clock
from sweattest.record.amendable import apply_amendments
from sweattest.record.run_record import stored_run_record
from sweattest.record.runs import load_run


def stored_record(store, run_id: str, clock: Clock, ranges: str = "cff_2017") -> dict[str, Any]:
    """The run's current result version as a record (corrected when amended), interpreted with the lab's
    range set ``ranges``."""
    from sweattest.record.signoff import signatures, versions

    run, order = load_run(store, run_id)
    run, order, corrections = apply_amendments(run, order, versions(store, run_id))
    signed = [{"username": s.username, "full_name": s.full_name, "meaning": s.meaning, "at": s.at}
              for s in signatures(store, run_id)]
    return stored_run_record(store, run, order, generated_at=clock.utcnow(), signatures=signed,
                             corrections=corrections, ranges=ranges)
