"""The instruments at one bench, opened from the lab configuration (or the simulation) with every output off.

Each instrument is identified when it is opened: a serial number that differs from the configured one, a
device that answers as something else, or an overdue calibration blocks the run before anything starts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import drivers  # noqa: F401 - registers the sim:// URL handler
from sweattest.bench.instruments.registry import open_instrument
from sweattest.bench.instruments.roles import AnalyzerRole, BalanceRole, Identity, InducerRole
from sweattest.core.clock import Clock
from sweattest.core.errors import ConfigError, DeviceError
from sweattest.core.instruments import InstrumentConfig
from sweattest.record.equipment import Status
from sweattest.record.qc_lots import DEFAULT_ANALYZER

#: The records of an instrument by its serial number (``sweattest.record.equipment.status`` on a store).
StatusOf = Callable[[str], Status]


@dataclass
class Bench:
    inducer: InducerRole
    analyzer: AnalyzerRole
    balance: BalanceRole | None = None
    identities: dict[str, Identity] = field(default_factory=dict)
    #: role -> the calibration due date the check found (from the records, else the configuration)
    calibration_due: dict[str, dt.date | None] = field(default_factory=dict)
    #: the roles whose instrument has no calibration on record: "not verified"
    unverified: tuple[str, ...] = ()

    @classmethod
    def open(cls, instruments: tuple[InstrumentConfig, ...], clock: Clock, *, gravimetric: bool,
             second_person: bool = False, status_of: StatusOf | None = None) -> Bench:
        """Open, identify and check every instrument the method needs; outputs forced off. ``status_of``: the
        equipment and calibration records of an instrument (out of service, latest calibration). On any
        failure what was opened is closed again and the error raised."""
        by_role = {i.role: i for i in instruments}
        needed = ("inducer", "analyzer", "balance") if gravimetric else ("inducer", "analyzer")
        missing = [r for r in needed if r not in by_role]
        if missing:
            why = " (this method weighs its samples)" if "balance" in missing else ""
            raise ConfigError(f"no {' and no '.join(missing)} is configured{why}; add an [[instruments]] table "
                              "for each to the lab configuration (docs/config.md)")
        opened: dict[str, object] = {}
        identities: dict[str, Identity] = {}
        due: dict[str, dt.date | None] = {}
        unverified: list[str] = []
        try:
            for role in needed:
                instrument, identities[role], due[role], verified = open_checked(
                    by_role[role], clock, second_person=second_person, opened=opened, status_of=status_of)
                if not verified:
                    unverified.append(role)
            bench = cls(inducer=opened["inducer"], analyzer=opened["analyzer"],  # type: ignore[arg-type]
                        balance=opened.get("balance"), identities=identities,  # type: ignore[arg-type]
                        calibration_due=due, unverified=tuple(unverified))
            bench.inducer.force_off()  # forced off at start-up, before anything else
        except BaseException:
            for instrument in opened.values():
                instrument.close()  # type: ignore[attr-defined]
            raise
        return bench

    @property
    def simulated(self) -> bool:
        """Every instrument identified itself as a sweattest simulator."""
        return bool(self.identities) and all(i.simulator for i in self.identities.values())

    @property
    def analyzer_serial(self) -> str:
        """The analyzer's QC series name: the serial number it reports, else the configured one, else the
        bench's default chloridometer."""
        ident = self.identities.get("analyzer")
        config = getattr(self.analyzer, "config", None)
        return ((ident.serial_number if ident else None) or getattr(config, "serial_number", None)
                or DEFAULT_ANALYZER)

    def record(self) -> dict[str, dict]:
        """What the run's record keeps of each instrument."""
        out = {}
        for role, ident in self.identities.items():
            config = getattr(self, role).config
            out[role] = {"model": config.model, "port": config.port, "identity": ident.text(),
                         "serial_number": ident.serial_number or config.serial_number,
                         "calibration_due": _iso(self.calibration_due.get(role, config.calibration_due)),
                         "calibration": NOT_VERIFIED if role in self.unverified else "recorded"}
        return out

    def unverified_labels(self) -> list[str]:
        return [getattr(self, role).config.label for role in self.unverified]

    def shutdown(self) -> str | None:
        """End of a run: every output off, ports closed. Never raises; returns a warning for the tech if
        the inducer did not confirm its outputs are off."""
        warning = None
        try:
            self.inducer.force_off()
        except DeviceError as exc:
            warning = (f"WARNING: the inducer did not confirm that its outputs are off ({exc}). Switch the "
                       "inducer off at its power switch and remove the electrodes.")
        finally:
            self.close()
        return warning

    def close(self) -> None:
        for instrument in (self.inducer, self.analyzer, self.balance):
            if instrument is not None:
                instrument.close()


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def open_checked(config: InstrumentConfig, clock: Clock, *, second_person: bool = False,
                 opened: dict | None = None, status_of: StatusOf | None = None):
    """Open one instrument and check it against its configuration and its records: it answers as its model,
    its serial number is the configured one, it is in service, its calibration is not failed or overdue.
    Returns (instrument, identity, calibration due date, whether a calibration is on record)."""
    instrument = open_instrument(config, clock, second_person=second_person)
    if opened is not None:
        opened[config.role] = instrument
    try:
        identity = instrument.identify()
    except DeviceError as exc:
        raise DeviceError(f"{config.label}: does not answer as a {config.model} {config.role}: {exc}",
                          device=config.role) from None
    check_identity(config, identity)
    status = records_of(config, identity, status_of)
    due = check_calibration(config, clock.utcnow().date(), status)
    return instrument, identity, due, calibration_recorded(status)


#: What an instrument is called whose calibration nobody has recorded: it may answer, it is not "ready".
NOT_VERIFIED = "not verified (no calibration on record)"


def calibration_recorded(status: Status | None) -> bool:
    """Whether the instrument's records hold a calibration or verification (``sweattest calibration add``); a
    due date in the configuration alone verifies nothing."""
    return status is not None and status.calibration is not None


def records_of(config: InstrumentConfig, identity: Identity, status_of: StatusOf | None) -> Status | None:
    """The instrument's records, by the serial number it reports (else the configured one)."""
    serial = identity.serial_number or config.serial_number
    return status_of(serial) if status_of is not None and serial else None


def check_identity(config: InstrumentConfig, identity: Identity) -> None:
    if config.serial_number and identity.serial_number and identity.serial_number != config.serial_number:
        raise DeviceError(f"{config.label}: the instrument on this port reports serial number "
                          f"{identity.serial_number}, the configuration says {config.serial_number}.",
                          device=config.role, action="Connect the configured instrument, or correct the "
                          "configuration after checking the instrument's records.")


def check_calibration(config: InstrumentConfig, today: dt.date, status: Status | None = None) -> dt.date | None:
    """An instrument out of service, or whose latest recorded calibration failed or is overdue, is refused; with
    no calibration recorded, the configuration's ``calibration_due`` is checked. Returns the due date."""
    if status is not None and status.out_of_service is not None:
        out = status.out_of_service
        raise DeviceError(f"{config.label}: out of service since {out.on.isoformat()} ({out.text}; recorded by "
                          f"{out.who}).", device=config.role, action="Use another instrument, or ask a reviewer to "
                          "put it back in service once it is repaired and checked (sweattest equipment in-service).")
    calibration = status.calibration if status is not None else None
    if calibration is not None:
        if not calibration.passed:
            raise DeviceError(f"{config.label}: its {calibration.kind} on {calibration.performed_on.isoformat()} "
                              f"failed ({calibration.notes}).", device=config.role,
                              action="Calibrate it again and record a passing calibration (sweattest calibration "
                              "add) before testing patients.")
        if calibration.next_due < today:
            raise DeviceError(f"{config.label}: calibration was due on {calibration.next_due.isoformat()} (last "
                              f"{calibration.kind} {calibration.performed_on.isoformat()}).", device=config.role,
                              action="Calibrate the instrument and record it (sweattest calibration add) before "
                              "testing patients.")
        return calibration.next_due
    if config.calibration_due is not None and config.calibration_due < today:
        raise DeviceError(f"{config.label}: calibration was due on {config.calibration_due.isoformat()}.",
                          device=config.role, action="Calibrate the instrument and record the new due date "
                          "before testing patients.")
    return config.calibration_due
