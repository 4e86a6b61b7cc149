"""Run records built through the pure procedure core and the run record, for output tests: every value a
report, HL7 or CSV shows comes from the rules, never from a hand-edited record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sweattest.bench.demo import DEMO_ORDER
from sweattest.core.procedure import apply, new_run
from sweattest.core.procedure.events import Event
from sweattest.core.protocol import load_protocol
from sweattest.core.units import Q_
from sweattest.record.record_json import parse_record, record_document
from sweattest.record.run_record import run_record
from sweattest.record.run_record_model import AuditHead, RunRecord, StoredParts

AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def record_of(sites: dict[str, tuple | str], method: str = "macroduct", dob: str = "2025-06-01",
              ranges: str = "cff_2017", withheld: str | None = None, final: bool = False,
              order: dict | None = None, corrections: tuple = ()) -> RunRecord:
    """``sites``: site -> (sample, chloride as measured) with sample a volume (uL) or the post weight over a
    1000 mg container (mg), chloride None for not analysed; or "abort" (or ("abort", reason)).
    ``final``: reviewed and reported; ``order``: keys that replace the demo order's; ``corrections``: the
    amendments applied (as sweattest.record.amendable lists them)."""
    protocol = load_protocol(method)
    run = new_run("R-TEST", protocol, list(sites))
    clock = {"t": 0.0}

    def ev(kind: str, site: str | None = None, dt: float = 1.0, **data) -> None:
        nonlocal run
        clock["t"] += dt
        run, _ = apply(run, Event(kind=kind, at=AT + timedelta(seconds=clock["t"]), t=clock["t"], site=site,
                                  data=data, actor="tech1"))

    ev("verify_patient")
    ev("check_ready")
    for site, spec in sites.items():
        if spec == "abort" or spec[0] == "abort":
            ev("abort", site, reason="open circuit" if spec == "abort" else spec[1])
            continue
        sample, chloride = spec
        if protocol.gravimetric:
            ev("pre_weigh", site, weight=Q_(1000, "mg"))
        ev("start_stimulation", site)
        ev("finish_stimulation", site, dt=300, charge=Q_(7.5, "mA*min"))
        ev("start_collection", site)
        ev("finish_collection", site, dt=1800)
        if protocol.gravimetric:
            ev("measure_sample", site, weight=Q_(1000 + sample, "mg"))
        else:
            ev("measure_sample", site, volume=Q_(sample, "uL"))
        if chloride is not None and run.site(site).state == "adequate":
            ev("analyze", site, chloride=Q_(chloride, "mmol/L"))
    if final:
        ev("review", reviewer="rev1")
        ev("report")
    order = dict(DEMO_ORDER, method=method, sites=list(sites), patient=dict(DEMO_ORDER["patient"], dob=dob),
                 **(order or {}))
    return run_record(run, order, generated_at=AT + timedelta(hours=1), ranges=ranges, withheld=withheld,
                      corrections=corrections)


def edited(record: RunRecord, change: Callable[[dict], None]) -> RunRecord:
    """``record`` with ``change`` made to its JSON document, read back through the record's parser."""
    doc = record_document(record)
    change(doc)
    return parse_record(doc)


def stored(record: RunRecord, **parts) -> RunRecord:
    """``record`` with parts the store keeps beside a run (``modulator``, ``repeat_of``, ...), the others empty."""
    empty = StoredParts(skin=(), audit_head=AuditHead(None, None), repeat_of=None, earlier_tests=(), modulator=None)
    return replace(record, stored=replace(record.stored or empty, **parts))
