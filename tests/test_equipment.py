"""Calibrations and the equipment log: recorded with who and when, validated, and read by the instrument check
at the start of a run: an instrument out of service, or whose latest recorded calibration failed or is
overdue, is refused with a message that names it, says why and what to do; with no record the configured due
date is the fallback. Both backends for the records; the instrument check against in-process simulators."""

import re
from datetime import date
from functools import partial

import pytest
import sqlalchemy as sa

from drivers.simulators.clocks import set_clock
from sweattest.bench.instruments.bench import Bench
from sweattest.core.errors import DeviceError, ValidationError
from sweattest.core.instruments import InstrumentConfig
from sweattest.record.calibrations import add_calibration, calibrations, latest
from sweattest.record.equipment import add_entry, entries, out_of_service, status
from tests.store import backends

store_url, store, clock, staff = backends.store_url, backends.store, backends.clock, backends.staff  # both backends
TODAY = backends.START.date()  # 2026-11-20


def _calibrate(store, serial="CL-9", role="analyzer", outcome="pass", on=date(2026, 11, 1), days=30, **kw):
    return add_calibration(store, instrument=serial, role=role, kind=kw.pop("kind", "calibration"), outcome=outcome,
                           performed_on=on, interval_days=days, who="tech1", **kw)


def _log(store, kind, serial="CL-9", text="fault found", who_role="tech", **kw):
    return add_entry(store, instrument=serial, role=kw.pop("role", "analyzer"), kind=kind, on=kw.pop("on", TODAY),
                     text=text, who="tech1" if who_role == "tech" else "rev1", who_role=who_role, **kw)


def _count(store, table):
    with store.engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_a_calibration_gets_its_next_due_date_from_the_interval(store):
    c = _calibrate(store, reference="NaCl standard 100 mmol/L read 99")
    assert c.next_due == date(2026, 12, 1) and c.passed and c.who == "tech1"
    _calibrate(store, kind="verification", on=date(2026, 11, 15), days=7)
    assert latest(store, "CL-9").kind == "verification" and latest(store, "CL-9").next_due == date(2026, 11, 22)
    assert [x.performed_on for x in calibrations(store)] == [date(2026, 11, 15), date(2026, 11, 1)]


@pytest.mark.parametrize("change, words", [
    ({"outcome": "ok"}, "outcome 'ok': use pass or fail"),
    ({"outcome": "fail"}, "a failed calibration needs a note"),
    ({"on": date(2026, 12, 1)}, "is in the future"),
    ({"days": 0}, "a whole number of days from 1 to 3660"),
    ({"role": "centrifuge"}, "role 'centrifuge'"),
    ({"serial": " "}, "give its serial number"),
])
def test_a_bad_calibration_is_refused_and_nothing_is_stored(store, change, words):
    with pytest.raises(ValidationError, match=words):
        _calibrate(store, **change)
    assert _count(store, "calibrations") == 0


def test_out_of_service_and_back_with_reasons_and_who_may_put_it_back(store):
    _log(store, "maintenance", text="electrodes cleaned")
    _log(store, "out_of_service", text="display blank")
    assert out_of_service(store, "CL-9").text == "display blank"
    with pytest.raises(ValidationError, match="already out of service since 2026-11-20 \\(display blank\\)"):
        _log(store, "out_of_service", text="again")
    with pytest.raises(ValidationError, match="tech1 is a tech: only a reviewer, qa or admin puts an instrument back"):
        _log(store, "in_service", text="repaired")
    _log(store, "in_service", text="board replaced, verified", who_role="reviewer")
    assert out_of_service(store, "CL-9") is None
    with pytest.raises(ValidationError, match="CL-9 is in service; nothing to put back"):
        _log(store, "in_service", text="x", who_role="reviewer")
    assert [e.kind for e in entries(store, "CL-9")] == ["in_service", "out_of_service", "maintenance"]


def test_lots_in_use_are_recorded_with_their_dates(store):
    _log(store, "collector_lot", serial="IND-1", role="inducer", text="new box", lot="MD-2611", on=date(2026, 11, 2))
    _log(store, "electrode_lot", serial="IND-1", role="inducer", text="new pack", lot="EL-77")
    _log(store, "collector_lot", serial="IND-1", role="inducer", text="new box", lot="MD-2612")
    lots = status(store, "IND-1").lots
    assert lots["collector_lot"].lot == "MD-2612" and lots["electrode_lot"].lot == "EL-77"
    with pytest.raises(ValidationError, match="collector lot: give the lot number"):
        _log(store, "collector_lot", serial="IND-1", role="inducer")
    with pytest.raises(ValidationError, match="say what was done or why"):
        _log(store, "repair", text="  ")
    assert _count(store, "equipment_log") == 3


# -- the instrument check at the start of a run ---------------------------------------------------------------
def _instruments(clock, analyzer_serial="CL-9", due=None):
    set_clock(clock, "equipment-test")
    return (InstrumentConfig("inducer", "scpi", port="sim://inducer?channels=2&clock=equipment-test", channels=2),
            InstrumentConfig("analyzer", "line", port="sim://chloridometer?clock=equipment-test",
                             serial_number=analyzer_serial, calibration_due=due))


def _open(store, clock, **kw):
    bench = Bench.open(_instruments(clock, **kw), clock, gravimetric=False, status_of=partial(status, store))
    bench.shutdown()
    return bench


def test_an_instrument_out_of_service_is_refused_naming_it_and_why(store, clock):
    _log(store, "out_of_service", text="titration cell cracked")
    with pytest.raises(DeviceError) as err:
        _open(store, clock)
    message = str(err.value)
    assert message.startswith("analyzer line CL-9 on sim://chloridometer")
    assert "out of service since 2026-11-20 (titration cell cracked; recorded by tech1)" in message
    assert "Use another instrument, or ask a reviewer to put it back in service" in message
    _log(store, "in_service", text="cell replaced", who_role="reviewer")
    _calibrate(store)
    assert _open(store, clock).calibration_due["analyzer"] == date(2026, 12, 1)


@pytest.mark.parametrize("outcome, on, words", [
    ("fail", date(2026, 11, 19), "its calibration on 2026-11-19 failed (standard read 91)"),
    ("pass", date(2026, 10, 1), "calibration was due on 2026-10-31 (last calibration 2026-10-01)"),
])
def test_a_failed_or_overdue_recorded_calibration_stops_the_run(store, clock, outcome, on, words):
    _calibrate(store, outcome=outcome, on=on, notes="standard read 91" if outcome == "fail" else None)
    with pytest.raises(DeviceError, match=re.escape(words)) as err:
        _open(store, clock, due=date(2027, 1, 1))  # the record counts, not the configuration's date
    assert "record" in err.value.action


def test_with_no_record_the_configured_due_date_is_the_fallback(store, clock):
    with pytest.raises(DeviceError, match="calibration was due on 2026-11-01"):
        _open(store, clock, due=date(2026, 11, 1))
    _calibrate(store, on=date(2026, 11, 10))  # a recorded calibration replaces the configured date
    assert _open(store, clock, due=date(2026, 11, 1)).record()["analyzer"]["calibration_due"] == "2026-12-10"
