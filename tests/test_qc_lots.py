"""Control lots as records: entered with targets and expiry, refused when a control is run on a lot that may
not be used (unknown, expired, retired, of another analyzer or level) with nothing stored, provisional until
the lab's own targets are established from the lot's first N runs (CLSI C24), and read by the Westgard
verdict. Both backends."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.bench.order import parse_order
from sweattest.bench.runner import Reporter
from sweattest.bench.service import perform_simulated_run
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.core.errors import ValidationError
from sweattest.qa.qc_chart import chart_points
from sweattest.record.analytical_qc import judge_and_record, qc_run_id, release_findings, verdict
from sweattest.record.qc_lots import DEFAULT_ANALYZER as ANALYZER
from sweattest.record.qc_lots import (
    add_lot,
    establish_targets,
    lots,
    lots_in_use,
    record_control,
    retire_lot,
    seed_initial_lots,
)
from tests.store import backends

store_url, store, clock, staff = backends.store_url, backends.store, backends.clock, backends.staff  # both backends
EXPIRES = date(2027, 6, 30)


def _lot(store, lot="QCN-2701", level="normal", mean=40.0, sd=1.5, provisional=False, **kw):
    return add_lot(store, analyzer=kw.pop("analyzer", ANALYZER), level=level, lot=lot, material="Chloride control",
                   expires=kw.pop("expires", EXPIRES), mean=mean, sd=sd, provisional=provisional, who="qa1", **kw)


def _qc_rows(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM qc_results")).scalar_one()


def _control(store, clock, lot, level="normal", value=40.0, day=0, analyzer=ANALYZER):
    at = clock.utcnow() + timedelta(days=day)
    return record_control(store, analyzer=analyzer, level=level, lot=lot, value=value,
                          qc_run=qc_run_id(analyzer, at.date()), at=at, who="tech1")


def test_a_lot_is_recorded_with_its_targets_and_listed(store):
    _lot(store)
    _lot(store, "QCA-2701", "abnormal", 100.0, 3.0)
    [normal, abnormal] = lots(store)
    assert (normal.lot, normal.level, normal.mean, normal.sd, normal.state, normal.expires) == \
        ("QCN-2701", "normal", 40.0, 1.5, "established", EXPIRES)
    assert abnormal.level == "abnormal" and normal.who == "qa1"


@pytest.mark.parametrize("change, words", [
    ({"mean": -3.0}, "target mean -3 mmol/L is outside"),
    ({"sd": 0.0}, "target SD 0 mmol/L must be above 0"),
    ({"sd": 50.0}, "must be above 0 and below the mean"),
    ({"expires": date(2026, 1, 31)}, "expiry 2026-01-31 is past"),
    ({"level": "high"}, "level 'high': use one of normal, abnormal"),
    ({"lot": "  "}, "lot: give a text"),
    ({"establish_runs": 1}, "a whole number from 2 to 100"),
])
def test_a_bad_lot_is_refused_and_nothing_is_added(store, change, words):
    with pytest.raises(ValidationError, match=words):
        _lot(store, **change)
    assert lots(store) == []


def test_the_same_lot_cannot_be_added_twice(store):
    _lot(store)
    with pytest.raises(ValidationError, match="lot QCN-2701 is already recorded"):
        _lot(store, level="abnormal", mean=100.0, sd=3.0)


@pytest.mark.parametrize("setup, lot, level, analyzer, words", [
    (None, "QCX-1", "normal", ANALYZER, "QCX-1 is not a known lot of analyzer chloridometer-1"),
    (None, "QCN-2701", "abnormal", ANALYZER, "QCN-2701 is a normal control, not abnormal"),
    ("other", "QCO-1", "normal", ANALYZER, "QCO-1 belongs to analyzer chloridometer-2, not chloridometer-1"),
    ("expired", "QCE-1", "normal", ANALYZER, "QCE-1 expired on 2026-11-25"),
    ("retired", "QCN-2701", "normal", ANALYZER, "QCN-2701 was retired on 2026-11-20 \\(vial contaminated\\)"),
])
def test_a_control_on_a_lot_that_may_not_be_used_is_refused_and_nothing_is_stored(store, clock, setup, lot, level,
                                                                                  analyzer, words):
    _lot(store)
    if setup == "other":
        _lot(store, "QCO-1", analyzer="chloridometer-2")
    if setup == "expired":
        _lot(store, "QCE-1", expires=date(2026, 11, 25))
    if setup == "retired":
        retire_lot(store, ANALYZER, "QCN-2701", reason="vial contaminated", who="qa1")
    with pytest.raises(ValidationError, match=words) as err:
        _control(store, clock, lot, level, day=10 if setup == "expired" else 0, analyzer=analyzer)
    assert "nothing was recorded" in str(err.value)
    assert _qc_rows(store) == 0


def test_the_lots_in_use_leave_out_expired_and_retired_lots(store, clock):
    _lot(store)
    _lot(store, "QCN-OLD", expires=date(2026, 12, 1))
    _lot(store, "QCA-2701", "abnormal", 100.0, 3.0)
    retire_lot(store, ANALYZER, "QCA-2701", reason="replaced", who="qa1")
    assert [x.lot for x in lots_in_use(store, ANALYZER, date(2026, 11, 30))] == ["QCN-2701", "QCN-OLD"]
    assert [x.lot for x in lots_in_use(store, ANALYZER, date(2026, 12, 2))] == ["QCN-2701"]


def test_a_provisional_lot_is_established_from_its_first_n_runs(store, clock):
    _lot(store)
    _lot(store, "QCA-2701", "abnormal", 100.0, 3.0)
    _lot(store, "QCN-NEW", mean=42.0, sd=2.0, provisional=True, establish_runs=5)
    values = [41.0, 43.0, 42.0, 44.0, 40.0, 60.0]  # the sixth is not one of the first five runs
    for day, value in enumerate(values[:3]):
        _control(store, clock, "QCN-NEW", value=value, day=day)
    with pytest.raises(ValidationError, match="QCN-NEW has 3 of the 5 runs needed .*CLSI C24.* stays provisional"):
        establish_targets(store, ANALYZER, "QCN-NEW", who="qa1")
    for day, value in enumerate(values[3:], start=3):
        _control(store, clock, "QCN-NEW", value=value, day=day)
    lot, n = establish_targets(store, ANALYZER, "QCN-NEW", who="qa1")
    assert n == 5 and lot.state == "established" and lot.mean == 42.0 and lot.sd == pytest.approx(1.581, abs=1e-3)
    assert "first 5 runs" in lot.reason and lot.who == "qa1"
    with pytest.raises(ValidationError, match="QCN-NEW is established: only a provisional lot"):
        establish_targets(store, ANALYZER, "QCN-NEW", who="qa1")


def _run_day(store, clock, day, lots_values):
    for lot, level, value in lots_values:
        _control(store, clock, lot, level, value, day=day)
    run = qc_run_id(ANALYZER, (clock.utcnow() + timedelta(days=day)).date())
    judge_and_record(store, run)
    return run


def test_a_run_on_a_provisional_lot_alone_cannot_release_results(store, clock):
    _lot(store, "QCA-2701", "abnormal", 100.0, 3.0)
    _lot(store, "QCN-NEW", mean=42.0, sd=2.0, provisional=True)
    run = _run_day(store, clock, 0, [("QCN-NEW", "normal", 42.0), ("QCA-2701", "abnormal", 100.0)])
    v = verdict(store, run)
    assert v.rejected
    [provisional] = [f for f in v.findings if f.code == "qc_lot_provisional"]
    assert "normal control was measured only on provisional lot QCN-NEW" in provisional.message
    assert "CLSI C24" in provisional.source
    # run alongside the established lot of that level, the analytical run stands on the established one
    _lot(store, "QCN-2701")
    run = _run_day(store, clock, 1, [("QCN-2701", "normal", 40.0), ("QCN-NEW", "normal", 55.0),
                                     ("QCA-2701", "abnormal", 100.0)])
    assert not verdict(store, run).rejected  # 55 on the provisional lot is recorded, not judged


def test_westgard_reads_the_targets_of_the_lot_record(store, clock):
    _lot(store, mean=40.0, sd=1.5)
    _lot(store, "QCA-2701", "abnormal", 100.0, 3.0)
    run = _run_day(store, clock, 0, [("QCN-2701", "normal", 45.0), ("QCA-2701", "abnormal", 100.0)])
    assert [f.code for f in verdict(store, run).findings] == ["westgard_1_3s"]  # (45 - 40) / 1.5 > 3
    points, target = chart_points(store, ANALYZER, "normal")
    assert target == {"lot": "QCN-2701", "mean": 40.0, "sd": 1.5} and points[0].rejected


def test_the_initial_lots_are_recorded_once_on_a_store_without_lots(store):
    seed_initial_lots(store)
    seed_initial_lots(store)
    assert [(x.lot, x.mean, x.sd, x.state) for x in lots(store)] == [("QCN-2611", 40.0, 1.5, "established"),
                                                                      ("QCA-2611", 100.0, 3.0, "established")]


class _Messages(Reporter):
    def __init__(self):
        self.lines: list[str] = []

    def message(self, text: str) -> None:
        self.lines.append(text)


def _simulated_run(store, tmp_path, clock):
    order = parse_order(DEMO_ORDER)
    reporter = _Messages()
    result = perform_simulated_run(order, parse_scenario(DEMO_SCENARIO, order.sites), store=store, clock=clock,
                                   out_dir=tmp_path / "out", reporter=reporter)
    return result.run.run_id, reporter.lines


def test_the_bench_runs_every_lot_in_use_and_a_provisional_one_beside_the_established(store, tmp_path, clock):
    seed_initial_lots(store)
    _lot(store, "QCN-NEW", mean=41.0, sd=2.0, provisional=True)
    run_id, lines = _simulated_run(store, tmp_path, clock)
    assert any(line.startswith("QC normal control QCN-NEW: ") and "provisional lot: recorded, not judged" in line
               for line in lines)
    assert sorted(r["lot"] for r in store.qc_results(ANALYZER, "normal")) == ["QCN-2611", "QCN-NEW"]
    assert release_findings(store, run_id) == []  # the established lot of each level stands for the run


def test_with_no_lot_in_date_no_qc_is_run_and_the_results_cannot_be_final(store, tmp_path, clock):
    _lot(store, expires=date(2026, 11, 20))
    _lot(store, "QCA-2701", "abnormal", 100.0, 3.0, expires=date(2026, 11, 20))
    clock.sleep(timedelta(days=1).total_seconds())
    run_id, lines = _simulated_run(store, tmp_path, clock)
    assert ("QC: no normal and no abnormal control lot of analyzer chloridometer-1 is in date; QA enters the new lot "
            "(sweattest qc lot add LOT --analyzer chloridometer-1); results cannot be final until QC is run") in lines
    assert _qc_rows(store) == 0 and [x.lot for x in lots(store)] == ["QCN-2701", "QCA-2701"]  # none added
    assert [f.code for f in release_findings(store, run_id)] == ["qc_missing"]
