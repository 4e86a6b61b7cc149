"""``sweattest instruments check``: open every configured instrument, identify it, compare its serial number
with the configuration, report its calibration due date, and leave every output off. One line each."""

from __future__ import annotations

from dataclasses import dataclass

from sweattest.bench.instruments.bench import (
    NOT_VERIFIED,
    StatusOf,
    calibration_recorded,
    check_calibration,
    check_identity,
    records_of,
)
from sweattest.bench.instruments.registry import open_instrument
from sweattest.core.clock import Clock
from sweattest.core.errors import DeviceError
from sweattest.core.instruments import InstrumentConfig


@dataclass(frozen=True)
class CheckLine:
    config: InstrumentConfig
    #: it answered as configured, is in service and not overdue (it may still be not verified)
    ready: bool
    text: str
    #: a calibration of it is on record
    verified: bool = False


def check_instrument(config: InstrumentConfig, clock: Clock, status_of: StatusOf | None = None) -> CheckLine:
    try:
        instrument = open_instrument(config, clock)
    except DeviceError as exc:
        return CheckLine(config, False, f"NOT READY: cannot be opened: {exc}")
    try:
        try:
            identity = instrument.identify()
        except DeviceError as exc:
            return CheckLine(config, False, f"NOT READY: does not answer as a {config.model} {config.role}: {exc}")
        if config.role == "inducer":
            instrument.force_off()
        check_identity(config, identity)
        status = records_of(config, identity, status_of)
        due = check_calibration(config, clock.utcnow().date(), status)
    except DeviceError as exc:
        return CheckLine(config, False, f"NOT READY: {exc}")
    finally:
        instrument.close()
    facts = [identity.text()]
    if config.serial_number and not identity.serial_number:
        facts.append(f"serial {config.serial_number} (from the configuration; not reported by this model)")
    recorded = calibration_recorded(status)
    if recorded:
        facts.append(f"calibration due {due.isoformat()} (recorded calibration)" if due
                     else "calibration recorded")
    else:
        facts.append("record its calibration with `sweattest calibration add`"
                     + (f" (the configuration's due date {due.isoformat()} verifies nothing)" if due else ""))
    if config.role == "inducer" and instrument.host_controlled:
        facts.append("every output off (confirmed)")
    return CheckLine(config, True, ("ready: " if recorded else f"{NOT_VERIFIED}: ") + "; ".join(facts), recorded)


def check_all(instruments: tuple[InstrumentConfig, ...], clock: Clock,
              status_of: StatusOf | None = None) -> list[CheckLine]:
    return [check_instrument(config, clock, status_of) for config in instruments]
