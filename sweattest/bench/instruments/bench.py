"""The instruments at one bench, opened from the lab configuration (or the simulation) with every output off.

Each instrument is identified when it is opened: a serial number that differs from the configured one, a
device that answers as something else, or an overdue calibration blocks the run before anything starts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import drivers  # noqa: F401 - registers the sim:// URL handler
from sweattest.bench.instruments.registry import open_instrument
from sweattest.bench.instruments.roles import AnalyzerRole, BalanceRole, Identity, InducerRole
from sweattest.core.clock import Clock
from sweattest.core.errors import ConfigError, DeviceError
from sweattest.core.instruments import InstrumentConfig


@dataclass
class Bench:
    inducer: InducerRole
    analyzer: AnalyzerRole
    balance: BalanceRole | None = None
    identities: dict[str, Identity] = field(default_factory=dict)

    @classmethod
    def open(cls, instruments: tuple[InstrumentConfig, ...], clock: Clock, *, gravimetric: bool,
             second_person: bool = False) -> Bench:
        """Open, identify and check every instrument the method needs; outputs forced off. On any failure
        what was opened is closed again and the error raised."""
        by_role = {i.role: i for i in instruments}
        needed = ("inducer", "analyzer", "balance") if gravimetric else ("inducer", "analyzer")
        missing = [r for r in needed if r not in by_role]
        if missing:
            why = " (this method weighs its samples)" if "balance" in missing else ""
            raise ConfigError(f"no {' and no '.join(missing)} is configured{why}; add an [[instruments]] table "
                              "for each to the lab configuration (docs/config.md)")
        opened: dict[str, object] = {}
        identities: dict[str, Identity] = {}
        try:
            for role in needed:
                instrument, identities[role] = open_checked(by_role[role], clock, second_person=second_person,
                                                            opened=opened)
            bench = cls(inducer=opened["inducer"], analyzer=opened["analyzer"],  # type: ignore[arg-type]
                        balance=opened.get("balance"), identities=identities)  # type: ignore[arg-type]
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

    def record(self) -> dict[str, dict]:
        """What the run's record keeps of each instrument."""
        out = {}
        for role, ident in self.identities.items():
            config = getattr(self, role).config
            out[role] = {"model": config.model, "port": config.port, "identity": ident.text(),
                         "serial_number": ident.serial_number or config.serial_number,
                         "calibration_due": config.calibration_due.isoformat() if config.calibration_due else None}
        return out

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


def open_checked(config: InstrumentConfig, clock: Clock, *, second_person: bool = False,
                 opened: dict | None = None):
    """Open one instrument and check it against its configuration: it answers as its model, its serial
    number is the configured one, its calibration is not overdue. Returns (instrument, identity)."""
    instrument = open_instrument(config, clock, second_person=second_person)
    if opened is not None:
        opened[config.role] = instrument
    try:
        identity = instrument.identify()
    except DeviceError as exc:
        raise DeviceError(f"{config.label}: does not answer as a {config.model} {config.role}: {exc}",
                          device=config.role) from None
    check_identity(config, identity)
    check_calibration(config, clock.utcnow().date())
    return instrument, identity


def check_identity(config: InstrumentConfig, identity: Identity) -> None:
    if config.serial_number and identity.serial_number and identity.serial_number != config.serial_number:
        raise DeviceError(f"{config.label}: the instrument on this port reports serial number "
                          f"{identity.serial_number}, the configuration says {config.serial_number}.",
                          device=config.role, action="Connect the configured instrument, or correct the "
                          "configuration after checking the instrument's records.")


def check_calibration(config: InstrumentConfig, today: dt.date) -> None:
    if config.calibration_due is not None and config.calibration_due < today:
        raise DeviceError(f"{config.label}: calibration was due on {config.calibration_due.isoformat()}.",
                          device=config.role, action="Calibrate the instrument and record the new due date "
                          "before testing patients.")
