"""The operational qualification's checks that perform (``sweattest validate``): a simulated run from order to
files, and the instruments. Each check is (name, passed, detail)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import drivers  # noqa: F401 - registers sim://
from drivers.simulators.clocks import set_clock
from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.bench.instruments.check import check_all
from sweattest.bench.order import parse_order
from sweattest.bench.service import perform_simulated_run
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.bench.simulation.simulators import simulated_instruments
from sweattest.core.clock import Clock, VirtualClock
from sweattest.core.config import LabConfig
from sweattest.core.errors import SweatTestError
from sweattest.record.audit import verify
from sweattest.record.store.store import Store

CheckRow = tuple[str, bool, str]


def bench_checks(config: LabConfig, clock: Clock) -> Callable[[Callable[[str], None]], list[CheckRow]]:
    """The checks as ``sweattest.qa.validation.run_validation`` takes them."""
    def run(say: Callable[[str], None]) -> list[CheckRow]:
        say("operational: a simulated run from order to files, in a temporary store")
        rows = [simulated_run(clock)]
        say("operational: instruments")
        return rows + instruments(config, clock)
    return run


def simulated_run(clock: Clock) -> CheckRow:
    """The demo's bilateral Macroduct run on simulated instruments, instant clock, into a temporary store (never
    the lab's): its chlorides (45 and 48 mmol/L simulated), interpretation, files and audit trail."""
    with tempfile.TemporaryDirectory(prefix="sweattest-validate-") as folder:
        run_clock = VirtualClock(start=clock.utcnow().replace(microsecond=0))
        temp = Store(f"sqlite:///{Path(folder) / 'validation.db'}", run_clock)
        try:
            order = parse_order(DEMO_ORDER)
            result = perform_simulated_run(order, parse_scenario(DEMO_SCENARIO, order.sites), store=temp,
                                           clock=run_clock, out_dir=Path(folder) / "out")
            chain = verify(temp)
        except SweatTestError as exc:
            return ("simulated run", False, f"the simulated run failed: {exc}")
        finally:
            temp.close()
    record = result.record
    chlorides = [s.chloride.text if s.chloride else None for s in record.sites]
    category = record.interpretation.category
    files = sorted(result.files)
    ok = chlorides == ["45", "48"] and category == "intermediate" and chain.intact and bool(files)
    return ("simulated run", ok,
            f"run {record.run_id} ({record.state}): chloride {', '.join(map(str, chlorides))} mmol/L "
            f"(simulated 45, 48), interpretation {category} (expected intermediate); files {', '.join(files)}; "
            f"{chain.message()}")


def instruments(config: LabConfig, clock: Clock) -> list[CheckRow]:
    """``sweattest instruments check`` on the configured instruments; on the three simulators when none are."""
    configured, simulated = config.instruments, not config.instruments
    if simulated:
        clock = VirtualClock(start=clock.utcnow().replace(microsecond=0))
        configured = _simulators(clock)
    note = "SIMULATED (no instruments are configured): " if simulated else ""
    return [(f"instrument {line.config.role} {line.config.model}", line.ready, note + line.text)
            for line in check_all(configured, clock)]


def _simulators(clock: VirtualClock):
    name = f"validate-{uuid.uuid4().hex[:8]}"
    set_clock(clock, name)
    return simulated_instruments(name)
