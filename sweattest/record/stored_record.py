"""The record of a stored run (sweattest.record.run_record) with what the store keeps beside its events: its QC
status, the instruments its readiness check recorded, the skin of each stimulated site, the audit chain's head,
the run it repeats, the patient's earlier tests and the change on a CFTR modulator; and ``stored_record``, the
run's current result version replayed from its events with its signatures and amendments applied."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sweattest.core.clock import Clock
from sweattest.core.procedure.model import RunState
from sweattest.core.rules.ranges import DEFAULT_RANGE_SET
from sweattest.record.amendable import apply_amendments
from sweattest.record.analytical_qc import qc_status
from sweattest.record.audit import head
from sweattest.record.correction import corrected
from sweattest.record.modulator import modulator_change
from sweattest.record.patient_history import patient_history
from sweattest.record.repeats import repeat_link
from sweattest.record.run_instruments import recorded_instruments
from sweattest.record.run_record import run_record
from sweattest.record.run_record_model import AuditHead, RunRecord, SkinEntry, StoredParts
from sweattest.record.runs import load_run
from sweattest.record.signoff import signatures, versions
from sweattest.record.skin_reactions import run_skin_reactions


def stored_record(store, run_id: str, clock: Clock, ranges: str = DEFAULT_RANGE_SET) -> RunRecord:
    """The run's current result version as a record (corrected when amended), interpreted with the lab's
    range set ``ranges``."""
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
        record = corrected(previous, record, signed)
    return record


def stored_run_record(store, run: RunState, order: dict[str, Any], **kw: Any) -> RunRecord:
    """``run_record`` with what the store keeps beside the run's events: its QC status, the instruments its
    ``check_ready`` event recorded, the skin of each stimulated site (``skin``), and the audit chain's head when
    the record was made (``audit_head``)."""
    record = run_record(run, order, qc=qc_status(store, run.run_id),
                        instruments=recorded_instruments(store, run.run_id), **kw)
    skin = tuple(SkinEntry(r.site, r.grade, r.note, r.adverse, r.who, r.at)
                 for r in run_skin_reactions(store, run.run_id).values())
    last_id, last_hash = head(store)
    repeat_of, earlier, modulator = patient_context(store, record, order, kw.get("ranges", DEFAULT_RANGE_SET))
    # the audit chain's head is kept outside the database on every report
    return replace(record, stored=StoredParts(skin=skin, audit_head=AuditHead(last_id, last_hash), repeat_of=repeat_of,
                                              earlier_tests=tuple(earlier), modulator=modulator))


def patient_context(store, record: RunRecord, order: dict[str, Any], ranges: str) -> tuple[Any, list, Any]:
    """What the store knows beside the run about its patient: the run it repeats (``repeat_of``), the
    patient's earlier tests (``earlier_tests``; none for a simulated run) and, on a CFTR modulator, the change
    from the pre-treatment value (``modulator``)."""
    run_id = record.run_id
    row = store.get_run(run_id)
    earlier: list[dict[str, Any]] = []
    if row is not None and not record.simulated:
        patient = order["patient"]
        earlier = patient_history(store, str(patient["mrn"]), str(patient["dob"]), ranges=ranges,
                                  before=row["created_at"], exclude=run_id).tests
    this_date = (record.first_collection or record.generated_at).isoformat()[:10]
    this_sites = [{"site": s.site, "value_mmol_l": s.chloride.value_mmol_l
                   if s.chloride is not None and s.chloride.status == "reported" else None} for s in record.sites]
    return repeat_link(store, run_id), earlier, modulator_change(order, this_date, this_sites, earlier)
