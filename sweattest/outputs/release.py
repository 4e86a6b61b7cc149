"""Releasing a result: the electronic signature is recorded (sweattest.record.signoff) with the result
queued for the LIS in its transaction (the durable outbox), then a result made final or corrected is
delivered to the LIMS drop folder of the lab configuration. The shells sign through
this module; the record never reaches up into what leaves the lab."""

from __future__ import annotations

from typing import Any

from sweattest.core.config import LabConfig, load_config
from sweattest.outputs.lims.delivery import deliver_on_signoff, lis_release
from sweattest.record import outbox, signoff
from sweattest.record.signoff import MEANINGS, offered, signatures, versions

__all__ = ["MEANINGS", "amend", "offered", "queued_for_lis", "sign", "signatures", "versions"]


def sign(store, clock, run_id: str, username: str, password: str, meaning: str, *, reason: str | None = None,
         config: LabConfig | None = None, station: str | None = None):
    """Sign ``run_id``; a "reviewed" signature makes the result final and delivers it."""
    config = config or load_config()
    signature = signoff.sign(store, clock, run_id, username, password, meaning, reason=reason,
                             releasing=lis_release(config, clock, username), policy=config.access, station=station)
    if meaning == "reviewed":
        deliver_on_signoff(store, clock, run_id, config, username)
    return signature


def amend(store, clock, run_id: str, username: str, password: str, *, changes: dict[str, Any], reason: str,
          config: LabConfig | None = None) -> int:
    """Correct a final result (a new version signed "corrected") and deliver the correction."""
    config = config or load_config()
    version = signoff.amend(store, clock, run_id, username, password, changes=changes, reason=reason,
                            releasing=lis_release(config, clock, username), policy=config.access)
    deliver_on_signoff(store, clock, run_id, config, username)
    return version


def queued_for_lis(store, run_id: str, version: int) -> outbox.Message | None:
    """The message queued for the LIS when ``version`` of the run's result was released, if any."""
    return outbox.find(store, run_id, version, outbox.RESULT, outbox.MLLP, outbox.LIS)
