"""The evidence pack's sections for calibrations and control lots, from a store built with known records."""

from datetime import date, timedelta

from sweattest.qa.equipment import pack_section as calibrations_section
from sweattest.qa.filters import RunFilter
from sweattest.qa.qc_lots import pack_section as lots_section
from sweattest.record.calibrations import add_calibration
from sweattest.record.qc_lots import add_lot, retire_lot
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
