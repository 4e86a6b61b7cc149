"""One complete run on the simulated bench, from a validated order and scenario to the output files.

The same runner, core and drivers as at a real bench; only the instruments are simulators and the tech's
hands are simulated. Used by ``sweattest demo`` and ``sweattest run --simulate``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sweattest.bench.config import LabConfig, load_config
from sweattest.bench.order import Order
from sweattest.bench.runner import Reporter, Runner
from sweattest.bench.simulation.scenario import Scenario
from sweattest.bench.simulation.world import SimulatedOperator, simulated_bench
from sweattest.core.clock import Clock
from sweattest.core.errors import ValidationError
from sweattest.core.procedure import new_run
from sweattest.core.procedure.model import RunState
from sweattest.core.rules.findings import Severity
from sweattest.core.rules.reagents import check_pilocarpine_lot
from sweattest.outputs.files import write_atomic
from sweattest.outputs.lims.csv_file import render_csv
from sweattest.outputs.lims.delivery import file_safe
from sweattest.outputs.lims.hl7 import render_oru
from sweattest.outputs.report import render_html
from sweattest.outputs.report.pdf import html_to_pdf
from sweattest.qa.analytical_qc import qc_status
from sweattest.record.run_record import run_record


@dataclass(frozen=True)
class RunResult:
    run: RunState
    record: dict
    out_dir: Path
    files: dict[str, Path]


def new_run_id(clock: Clock) -> str:
    return f"R{clock.utcnow():%Y%m%d}-{uuid.uuid4().hex[:8].upper()}"


def check_order_now(order: Order, clock: Clock) -> None:
    """Checks that depend on today's date, done before anything is written."""
    findings = check_pilocarpine_lot(order.pilocarpine_lot, order.pilocarpine_expires, clock.utcnow().date())
    for f in findings:
        if f.severity == Severity.BLOCK:
            raise ValidationError(f"order.pilocarpine_lot.expires: {f.message}")


def perform_simulated_run(order: Order, scenario: Scenario, *, store, clock: Clock, out_dir: Path,
                          reporter: Reporter | None = None, run_id: str | None = None,
                          config: LabConfig | None = None) -> RunResult:
    check_order_now(order, clock)
    run_id = run_id or new_run_id(clock)
    run = new_run(run_id, order.protocol, order.sites)
    stored_order = order.as_dict() | {"simulation": scenario.as_dict()}
    bench = simulated_bench(clock, order.protocol, scenario, order.sites)

    def perform() -> RunState:
        bench.inducer.all_outputs_off()  # forced off at start-up, before anything else
        store.create_run(run_id, accession=order.accession, method=order.method, operator=order.operator,
                         patient_mrn=order.patient.mrn, created_at=clock.utcnow(), order=stored_order)
        operator = SimulatedOperator(order.operator, clock, bench, order.protocol, scenario)
        runner = Runner(store=store, clock=clock, bench=bench, operator=operator, run=run, order=stored_order,
                        reporter=reporter)
        runner.feed("verify_patient", data={"mrn": order.patient.mrn, "accession": order.accession})
        return runner.run_until_results()

    return finish(store, on_bench(bench, reporter, perform), stored_order, clock, out_dir, config)


def on_bench(bench, reporter: Reporter | None, body: Callable[[], RunState]) -> RunState:
    """Run ``body``; whatever happens, switch every output off and close the instruments after it."""
    try:
        return body()
    finally:
        warning = bench.shutdown()
        if warning and reporter is not None:
            reporter.alarm(None, warning)


def finish(store, run: RunState, stored_order: dict, clock: Clock, out_dir: Path,
           config: LabConfig | None = None) -> RunResult:
    record = run_record(run, stored_order, generated_at=clock.utcnow(), qc=qc_status(store, run.run_id))
    return RunResult(run=run, record=record, out_dir=out_dir, files=write_outputs(record, out_dir, config))


def write_outputs(record: dict, out_dir: Path, config: LabConfig | None = None) -> dict[str, Path]:
    """The run record (JSON), the report (HTML, PDF) and the LIMS files (HL7 ORU^R01, CSV), each written
    atomically. ``config`` defaults to the lab configuration from $SWEATTEST_CONFIG (else built-in)."""
    config = config or load_config()
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{file_safe(record['order']['accession'])}_{record['run_id']}"
    html = render_html(record, config)
    sent_at = datetime.fromisoformat(record["generated_at"])
    return {
        "json": write_atomic(out_dir / f"{stem}.json", json.dumps(record, indent=2, ensure_ascii=False) + "\n"),
        "html": write_atomic(out_dir / f"{stem}.html", html),
        "pdf": write_atomic(out_dir / f"{stem}.pdf", html_to_pdf(html)),
        "hl7": write_atomic(out_dir / f"{stem}.hl7", render_oru(record, config, sent_at=sent_at)),
        "csv": write_atomic(out_dir / f"{stem}.csv", render_csv(record)),
    }
