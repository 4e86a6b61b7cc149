"""A simulated run's records carry the time they were written (in order, never ahead of now), the simulated
clock beside them; a run brought back after its process stopped has the stop and the resume in its record,
its audit trail and its report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sweattest.bench.order import parse_order
from sweattest.bench.service import RunService, perform_simulated_run
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.core.clock import VirtualClock
from sweattest.core.config import LabConfig
from sweattest.outputs.report import render_html
from sweattest.record.audit import history
from sweattest.record.runs import procedure_time
from sweattest.record.store.store import Store

#: The time records are written at: a clock that advances one second per reading, standing in for the wall.
WRITTEN = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)


class Wall(VirtualClock):
    """Wall time for the store: each reading of it is a tenth of a second later (records are written in order;
    a simulated run commits its readings once per simulated second, so it reads this clock hundreds of times)."""

    virtual = False

    def utcnow(self):
        self.advance(0.1)
        return super().utcnow()


def _store(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'runs.db'}", Wall(start=WRITTEN))


def test_a_simulated_run_records_when_it_was_written_with_its_own_clock_beside(tmp_path, order_doc, scenario_doc):
    store = _store(tmp_path)
    order = parse_order(order_doc | {"sites": ["left_forearm"]})
    procedure = VirtualClock(start=WRITTEN)  # an instant run: 40 minutes of procedure in no wall time
    del scenario_doc["sites"]["right_forearm"]
    result = perform_simulated_run(order, parse_scenario(scenario_doc, order.sites), store=store, clock=procedure,
                                   out_dir=tmp_path / "out")
    events = store.events(result.run.run_id)
    now = store.clock.utcnow()
    written = [e.at for e in events]
    assert written == sorted(written) and written[-1] < now
    assert written[-1] - written[0] < timedelta(minutes=5)  # written seconds apart, not 40 minutes ahead
    assert procedure_time(events[-1]) - procedure_time(events[0]) > timedelta(minutes=30)  # the procedure's time
    assert events[-1].t > 30 * 60
    record = result.record
    steps = [st.at for s in record.sites for st in s.steps]
    assert max(steps) < record.generated_at  # collected before reported, in real time
    assert all(r["at"] <= now for r in store.readings(result.run.run_id)[-1:])
    store.close()


def test_a_resumed_run_records_the_stop_and_the_resume(tmp_path, order_doc, scenario_doc):
    store = _store(tmp_path)
    order = parse_order(order_doc)
    service = RunService(store)
    active = service.start(order, clock=VirtualClock(start=WRITTEN),
                           scenario=parse_scenario(scenario_doc, order.sites))
    active.bench.shutdown()
    active.runner.lease.release()  # the process stops here: patient verified, nothing stimulated yet
    resumed = service.resume(active.run_id, by="tina@bench-3")
    events = store.events(active.run_id)
    crash, resume = events[-2:]
    assert (crash.kind, crash.data["state_found"], crash.data["actor"]) == ("crash", "patient_verified", "system")
    assert (resume.kind, resume.data["actor"], resume.data["state_found"]) == ("resume", "tina@bench-3",
                                                                              "patient_verified")
    assert resume.data["outputs_off_confirmed"] is True and crash.at < resume.at
    assert [e.what for e in history(store, active.run_id)][-2:] == ["crash", "resume"]
    result = service.finish(resumed, resumed.perform(), tmp_path / "out")
    assert [s.state for s in result.run.sites] == ["result_ready", "result_ready"]
    [entry] = result.record.resumed
    assert (entry.by, entry.state_found) == ("tina@bench-3", "patient_verified")
    html = render_html(result.record, LabConfig())
    assert "resumed at" in html and "by tina@bench-3: found patient verified, inducer outputs confirmed off" in html
    store.close()
