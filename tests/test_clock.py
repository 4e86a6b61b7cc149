"""The one clock: virtual time jumps instantly or runs sped up; records are aware UTC."""

from datetime import UTC, datetime, timedelta

import pytest

from sweattest.core.clock import RealClock, VirtualClock


def test_instant_clock_jumps_to_the_wake_up_without_waiting():
    clock = VirtualClock(start=datetime(2026, 3, 29, 0, 30, tzinfo=UTC))
    clock.sleep(35 * 60)
    assert clock.monotonic() == 35 * 60
    assert clock.utcnow() == datetime(2026, 3, 29, 1, 5, tzinfo=UTC)


def test_sleep_until_a_past_deadline_does_not_go_back():
    clock = VirtualClock()
    clock.sleep(10)
    clock.sleep_until(5)
    assert clock.monotonic() == 10


def test_sped_up_clock_waits_a_fraction_of_each_sleep_on_the_wall(monkeypatch):
    waited = []
    monkeypatch.setattr("sweattest.core.clock.time.sleep", waited.append)
    clock = VirtualClock(speed=60)
    clock.sleep(60)  # one simulated minute is one wall second
    assert waited == [pytest.approx(1.0)]
    assert clock.monotonic() == 60.0


def test_simulated_time_does_not_move_while_the_program_computes(monkeypatch):
    wall = [1000.0]
    monkeypatch.setattr("sweattest.core.clock.time.sleep", lambda s: wall.__setitem__(0, wall[0] + s))
    clock = VirtualClock(speed=1200)
    before = clock.monotonic()
    wall[0] += 5.0  # a slow disk write: five wall seconds pass without a sleep
    assert clock.monotonic() == before  # a simulated device's watchdog sees no silence


def test_records_are_aware_utc():
    for clock in (RealClock(), VirtualClock()):
        now = clock.utcnow()
        assert now.tzinfo is not None and now.utcoffset() == timedelta(0)


def test_a_naive_start_is_refused():
    with pytest.raises(ValueError, match="aware UTC"):
        VirtualClock(start=datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


def test_no_module_but_clock_reads_the_system_time():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[1]
    pattern = re.compile(r"time\.time\(|datetime\.now\(|datetime\.utcnow\(|date\.today\(|time\.monotonic\(")
    offenders = [str(p.relative_to(root)) for folder in ("sweattest", "drivers")
                 for p in (root / folder).rglob("*.py")
                 if p.name != "clock.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
