"""The evidence pack's sections for calibrations and control lots, from a store built with known records."""

from datetime import date, timedelta

from sweattest.qa.equipment import equipment_section
from sweattest.qa.equipment import pack_section as calibrations_section
from sweattest.qa.qc_lots import pack_section as lots_section
from sweattest.record.calibrations import add_calibration
from sweattest.record.qc_lots import add_lot, retire_lot
from sweattest.record.run_filter import RunFilter
from tests.store import backends

store_url, store, clock = backends.store_url, backends.store, backends.clock  # both backends
NOVEMBER = RunFilter(date(2026, 11, 1), date(2026, 11, 30))


def _calibrate(store, serial, on, outcome="pass", notes=None):
    add_calibration(store, instrument=serial, role="analyzer", kind="calibration", outcome=outcome, performed_on=on,
                    interval_days=30, who="tech1", reference="NaCl 100 mmol/L", notes=notes)


def test_the_calibrations_of_the_period_with_the_failed_ones_named(store):
    _calibrate(store, "CL-9", date(2026, 10, 31))  # before the period
    _calibrate(store, "CL-9", date(2026, 11, 2))
    _calibrate(store, "B-1", date(2026, 11, 19), "fail", "span weight read 201.3 g")
    section = calibrations_section(store, NOVEMBER)
    assert section.key == "calibrations"
    assert section.rows == (("2026-11-02", "CL-9", "analyzer", "calibration", "pass", "2026-12-02", "NaCl 100 mmol/L",
                             "", "tech1"),
                            ("2026-11-19", "B-1", "analyzer", "calibration", "fail", "", "NaCl 100 mmol/L",
                             "span weight read 201.3 g", "tech1"))
    assert any(n.startswith("1 failed: B-1 2026-11-19 (span weight read 201.3 g)") for n in section.notes)
    assert "No calibration" in calibrations_section(store, RunFilter(date(2026, 1, 1), date(2026, 1, 31))).notes[1]


def test_the_lots_usable_in_the_period_with_how_their_targets_were_set(store, clock):
    def lot(name, level="normal", **kw):
        add_lot(store, analyzer="chloridometer-1", level=level, lot=name, material="Chloride control",
                expires=date(2027, 6, 30), mean=40.0, sd=1.5, who="qa1", provisional=kw.get("provisional", False))

    lot("QCN-A")
    lot("QCN-P", provisional=True)
    lot("QCN-R")
    clock.sleep(timedelta(days=1).total_seconds())
    retire_lot(store, "chloridometer-1", "QCN-R", reason="replaced", who="qa1")
    section = lots_section(store, NOVEMBER)
    by_lot = {r[2]: r for r in section.rows}
    assert set(by_lot) == {"QCN-A", "QCN-P", "QCN-R"}
    assert by_lot["QCN-A"][4:9] == ("established", 40.0, 1.5, "2027-06-30", "entered 2026-11-20 by qa1")
    assert by_lot["QCN-P"][8].startswith("not yet (provisional")
    assert "Still provisional: QCN-P." in section.notes
    # December: the lot retired in November is no longer listed
    assert {r[2] for r in lots_section(store, RunFilter(date(2026, 12, 1), date(2026, 12, 31))).rows} == \
        {"QCN-A", "QCN-P"}


def test_the_equipment_section_flags_overdue_service_and_runs_while_overdue(store, clock):
    """The analyzer CL-9 was calibrated 2026-10-01 (due 10-31): overdue at the end of November, and the run of
    11-20 that recorded it was performed while overdue; the balance went out of service and came back."""
    from sweattest.record.equipment import add_entry
    from tests.store.backends import make_run

    _calibrate(store, "CL-9", date(2026, 10, 1))
    _calibrate(store, "IND-1", date(2026, 11, 10))  # due 12-10: within 30 days of the period's end
    add_entry(store, instrument="B-1", role="balance", kind="out_of_service", on=date(2026, 11, 5),
              text="failed the span check", who="qa1", who_role="qa")
    add_entry(store, instrument="B-1", role="balance", kind="in_service", on=date(2026, 11, 9),
              text="repaired and verified", who="qa1", who_role="qa")
    make_run(store, clock, "R1", order_extra={}, inducer="CL-9")  # check_ready records serial CL-9
    section = equipment_section(store, NOVEMBER)
    assert section.key == "equipment"
    assert section.rows == (
        ("B-1", "balance", "out of service", "2026-11-05", "failed the span check"),
        ("B-1", "balance", "back in service", "2026-11-09", "repaired and verified"),
        ("CL-9", "analyzer", "calibration OVERDUE", "2026-10-31", "due 2026-10-31, 30 day(s) before the period's end"),
        ("IND-1", "analyzer", "calibration due", "2026-12-10", "last calibration 2026-11-10"),
        ("CL-9", "inducer", "run while overdue", "2026-11-20", "run R1: calibration due 2026-10-31"))
