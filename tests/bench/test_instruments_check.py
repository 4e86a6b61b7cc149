"""`sweattest instruments check` against simulators on pseudo-terminals in their own processes: one line per
instrument, exit 0 only when all are ready; a missing device, a wrong serial number, a silent port and an
overdue calibration each give a clear line and exit 2, and every inducer output is left off."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from tests.bench.conftest import instrument_table, sweattest, write_config
from tests.conftest import Simulators

LATER = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=90)).isoformat()


@pytest.fixture(scope="module")
def bench():
    """An inducer (serial 000003), a balance (B100000005) and an analyzer (CL000000), each simulated in its own
    process, for the module's checks: a check opens, identifies and closes each instrument (pyserial flushes the
    line when it opens it) and leaves every inducer output off, so each check finds them as the first did."""
    sims = Simulators()
    try:
        inducer, balance, analyzer = sims.start_all(("inducer", "--seed", "3"), ("balance", "--seed", "5"),
                                                    ("chloridometer",))
        yield SimpleNamespace(inducer=inducer, balance=balance, analyzer=analyzer)
    finally:
        sims.stop()


def test_every_instrument_present_and_right_answers_but_none_without_a_recorded_calibration_is_ready(
        tmp_path, bench):
    inducer, balance, analyzer = bench.inducer, bench.balance, bench.analyzer
    config = write_config(tmp_path,
                          instrument_table("inducer", "scpi", inducer, serial_number="000003", calibration_due=LATER),
                          instrument_table("balance", "mt-sics", balance, serial_number="B100000005"),
                          instrument_table("analyzer", "line", analyzer, serial_number="CL000000"))
    done = sweattest("instruments", "check", "--config", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("inducer scpi 000003 on /dev/")
    # nothing is recorded of them: they answer, but none is "ready"
    assert ("not verified (no calibration on record): SWEATTEST IND-2 SIM serial 000003 firmware 1.0; record its "
            f"calibration with `sweattest calibration add` (the configuration's due date {LATER} verifies nothing); "
            "every output off (confirmed)") in lines[0]
    assert "not verified (no calibration on record): SWEATTEST XS205 serial B100000005" in lines[1]
    assert "SWEATTEST CL-SIM serial CL000000 firmware 1.0" in lines[2]  # its answer to ID?
    assert not any(" ready: " in line for line in lines)
    assert lines[-1].startswith("all instruments answer; 3 not verified (no calibration on record): a patient run "
                                "on them needs a recorded reason, or is refused")
    # the configuration names no lab: the check says which identity a report needs is missing
    assert "the lab identity a report needs is not set: [lab] name, address, director, clia or accreditation" in \
        done.stderr


def test_an_instrument_with_a_recorded_calibration_is_ready(tmp_path, bench):
    from sweattest.record.calibrations import add_calibration
    from sweattest.record.store.store import open_store

    inducer = bench.inducer
    db = str(tmp_path / "runs.db")
    store = open_store(db)
    today = dt.datetime.now(dt.UTC).date()
    add_calibration(store, instrument="000003", role="inducer", kind="verification", outcome="pass",
                    performed_on=today, interval_days=365, who="tech1")
    store.close()
    config = write_config(tmp_path, instrument_table("inducer", "scpi", inducer, serial_number="000003"))
    done = sweattest("instruments", "check", "--config", str(config), "--db", db)
    assert done.returncode == 0, done.stdout + done.stderr
    due = (today + dt.timedelta(days=365)).isoformat()
    assert f"ready: SWEATTEST IND-2 SIM serial 000003 firmware 1.0; calibration due {due} (recorded" in done.stdout
    assert done.stdout.splitlines()[-1] == "all instruments ready"


def test_a_missing_device_a_wrong_serial_a_silent_port_and_an_overdue_calibration_each_say_so(
        tmp_path, bench, silent_port):
    inducer, balance = bench.inducer, bench.balance
    config = write_config(tmp_path,
                          instrument_table("inducer", "scpi", inducer, serial_number="SN-4711"),
                          instrument_table("balance", "mt-sics", balance, calibration_due="2020-01-31"),
                          instrument_table("analyzer", "line", "/dev/ttyUSB-not-there"))
    done = sweattest("instruments", "check", "--config", str(config))
    assert done.returncode == 2
    out = done.stdout
    assert ("NOT READY: inducer scpi SN-4711 on " in out
            and "reports serial number 000003, the configuration says SN-4711" in out)
    assert "NOT READY: balance mt-sics on" in out and "calibration was due on 2020-01-31" in out
    assert "NOT READY: cannot be opened: analyzer line on /dev/ttyUSB-not-there: port /dev/ttyUSB-not-there " \
           "does not exist" in out
    assert out.splitlines()[-1].startswith("NOT all instruments are ready")

    silent = write_config(tmp_path, instrument_table("inducer", "scpi", silent_port))
    done = sweattest("instruments", "check", "--config", str(silent))
    assert done.returncode == 2
    assert "NOT READY: does not answer as a scpi inducer: inducer: no reply to '*IDN?' within" in done.stdout


def test_an_inducer_port_with_a_balance_on_it_does_not_answer_as_an_inducer(tmp_path, simulators):
    balance = simulators.start("balance")
    done = sweattest("instruments", "check", "--config",
                     str(write_config(tmp_path, instrument_table("inducer", "scpi", balance))))
    assert done.returncode == 2
    assert "NOT READY: does not answer as a scpi inducer" in done.stdout


def test_check_without_instruments_says_how_to_configure_them(tmp_path):
    done = sweattest("instruments", "check", "--config", str(write_config(tmp_path, extra="[lab]\nname = 'X'\n")))
    assert done.returncode == 2
    assert "no instruments are configured; add [[instruments]] tables" in done.stderr


def test_a_sartorius_balance_is_opened_and_identified_through_the_registry(tmp_path, simulators):
    balance = simulators.start("balance", "--model", "sartorius-sbi")
    config = write_config(tmp_path, instrument_table("balance", "sartorius-sbi", balance))
    done = sweattest("instruments", "check", "--config", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("balance sartorius-sbi on /dev/")
    assert "(no calibration on record): SWEATTEST SIM serial" in done.stdout


def test_an_instrument_out_of_service_or_with_a_failed_calibration_on_record_is_not_ready(tmp_path, bench):
    """The records of the store (--db) are read by serial number: the inducer taken out of service and the
    balance whose calibration failed are refused; the recorded calibration replaces the configured due date."""
    from sweattest.record.calibrations import add_calibration
    from sweattest.record.equipment import add_entry
    from sweattest.record.store.store import open_store

    inducer, balance, analyzer = bench.inducer, bench.balance, bench.analyzer
    db = str(tmp_path / "runs.db")
    store = open_store(db)
    today = dt.datetime.now(dt.UTC).date()
    add_entry(store, instrument="000003", role="inducer", kind="out_of_service", on=today, text="channel 2 unstable",
              who="tech1", who_role="tech")
    add_calibration(store, instrument="B100000005", role="balance", kind="verification", outcome="fail",
                    performed_on=today, interval_days=365, who="tech1", notes="200 g check weight read 200.4 g")
    add_calibration(store, instrument="CL000000", role="analyzer", kind="calibration", outcome="pass",
                    performed_on=today, interval_days=30, who="tech1")
    store.close()
    config = write_config(tmp_path,
                          instrument_table("inducer", "scpi", inducer, serial_number="000003", calibration_due=LATER),
                          instrument_table("balance", "mt-sics", balance, serial_number="B100000005"),
                          instrument_table("analyzer", "line", analyzer, serial_number="CL000000",
                                           calibration_due="2020-01-31"))
    done = sweattest("instruments", "check", "--config", str(config), "--db", db)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert (f"NOT READY: inducer scpi 000003 on {inducer}: out of service since {today.isoformat()} (channel 2 "
            "unstable; recorded by tech1). Use another instrument") in lines[0]
    assert f"its verification on {today.isoformat()} failed (200 g check weight read 200.4 g)" in lines[1]
    due = (today + dt.timedelta(days=30)).isoformat()
    assert "ready: " in lines[2] and f"calibration due {due} (recorded calibration)" in lines[2]
