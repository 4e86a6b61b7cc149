"""Delivering result files to a LIMS drop folder: atomic, stable names, once per version, audited.

A file is named ``<accession>_<run_id>_v<version>.<suffix>`` (the format's, sweattest.outputs.lims.formats):
unique per run, result version and format, and the same name every time. The message is first committed to
the outbox (sweattest.record.outbox) with its audit entry; then it is written to a temp file in the folder,
fsynced and renamed (``write_atomic``). A failed audit write leaves no file and no message; a failed file
write leaves no partial file and the message pending, and the next export writes the same bytes (the same
control ID). Exporting a version already delivered to that folder does nothing (the audit trail says it was
sent), so a LIMS that has consumed the file never receives it twice.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from sweattest.core.clock import Clock
from sweattest.core.config import LabConfig
from sweattest.core.errors import SweatTestError, ValidationError
from sweattest.outputs.files import file_safe, write_atomic
from sweattest.outputs.lims.formats import LIMS_FORMATS, LimsFormat, lims_format
from sweattest.outputs.lims.hl7 import new_control_id, render_oru
from sweattest.outputs.lims.order_status import render_order_status
from sweattest.record import outbox
from sweattest.record.audit import history
from sweattest.record.proficiency import is_proficiency_run, proficiency_run
from sweattest.record.run_record_model import RunRecord
from sweattest.record.stored_record import stored_record
from sweattest.record.worklist import closed_by_laboratory, ordered_by_lis

log = logging.getLogger(__name__)


class DeliveryError(SweatTestError):
    """A signed result could not be delivered to the LIMS drop folder (the signature stands)."""


@dataclass(frozen=True)
class Export:
    path: Path
    created: bool  # False: this version was already delivered to this folder
    control_id: str | None = None


def export_name(record: RunRecord, fmt: LimsFormat) -> str:
    return (f"{file_safe(record.accession)}_{record.run_id}_v{record.report.version}"
            f".{fmt.suffix}")


def render(record: RunRecord, fmt: LimsFormat, config: LabConfig, clock: Clock) -> tuple[bytes, str | None]:
    control_id = new_control_id() if fmt.control_ids else None
    return fmt.write(record, config, clock.utcnow(), control_id).encode("utf-8"), control_id


def export_run(store, clock: Clock, run_id: str, fmt: str, folder: Path, *, config: LabConfig,
               actor: str = "system") -> Export:
    """Deliver the run's current result version as ``fmt`` into ``folder``.

    The audit entry and the outbox row (with the message itself) commit first; only then is the file
    renamed into the folder. A write that fails after the commit leaves the message pending, and the next
    export writes the very same bytes (same control ID), never a second message."""
    lims = lims_format(fmt)
    folder = Path(folder)
    if not folder.is_dir():
        raise ValidationError(f"--to {folder}: not a folder; create it or give the LIMS drop folder")
    if proficiency_run(store, run_id):
        raise ValidationError(f"run {run_id} is a proficiency-testing sample: its result goes to the PT provider "
                              "(`sweattest pt list`), never to the LIMS; its own files say PROFICIENCY TEST")
    record = stored_record(store, run_id, clock, config.ranges)
    name = export_name(record, lims)
    target = folder / name
    where = str(folder.resolve())
    version = record.report.version
    message = outbox.find(store, run_id, version, fmt, outbox.FOLDER, where)
    if message is None and _already_delivered(store, run_id, name, folder):
        return Export(target, created=False)  # delivered before the outbox kept drop-folder messages
    if message is not None and message.state == outbox.DELIVERED:
        return Export(target, created=False)
    if message is None:
        data, control_id = render(record, lims, config, clock)
        now = clock.utcnow()
        message_id = outbox.queue_export(
            store, run_id=run_id, version=version, fmt=fmt, destination=where, name=name, control_id=control_id,
            body=data.decode("utf-8"), at=now, who=actor,
            export={"file": name, "folder": where, "format": fmt, "version": version,
                    "status": record.report.status, "control_id": control_id,
                    "sha256": hashlib.sha256(data).hexdigest()})
    else:
        message_id, data, control_id = message.id, message.body.encode("utf-8"), message.control_id
    write_atomic(target, data)
    outbox.delivered(store, message_id, clock.utcnow(), who=actor, note=str(target))
    return Export(target, created=True, control_id=control_id)


def lis_release(config: LabConfig, clock: Clock, actor: str):
    """The write that queues a released result version for the LIS in the transaction of the signature or
    amendment that releases it (sweattest.record.signoff ``releasing``), whatever process signs: always for a
    run of an LIS order, and for any other patient run when this process's configuration names an LIS
    (``[lis] send_to``). Never for a PT sample. The message is written and sent by the process that sends
    (``sweattest lis serve``, ``sweattest serve``), with its configuration (``render_queued``)."""

    def release(conn, run_id: str, version: int) -> None:
        if is_proficiency_run(conn, run_id):
            return  # a PT sample's result goes to the provider, never to the LIS
        if config.lis.send_to is None and not ordered_by_lis(conn, run_id):
            return
        outbox.queue(conn, run_id=run_id, version=version, fmt=outbox.RESULT, channel=outbox.MLLP,
                     destination=outbox.LIS, name=f"{run_id}_v{version}.hl7", control_id=None, body=None,
                     at=clock.utcnow(), who=actor)
    return release


def render_queued(store, clock: Clock, config: LabConfig) -> list[int]:
    """Write every queued message not written yet (the sender does it before sending, with its own
    configuration; the signing process too when it is configured for an LIS); returns their ids. A result's
    ORU^R01 is written only once its run is reported (the signature commits before the review and report
    events: never a preliminary result); a version amended before its message was written is never sent
    (superseded): the correction is. An order status message is written from its closed order. A message that
    cannot be written is failed (needs attention), alone: the others are still written and sent."""
    done = []
    for message in outbox.unrendered(store):
        try:
            if _render_one(store, clock, config, message):
                done.append(message.id)
        except Exception as exc:  # noqa: BLE001 - one message that cannot be written never blocks the others
            outbox.failed(store, message.id, clock.utcnow(), f"the message could not be written: {exc}; fix the "
                          "cause, then `sweattest lis resend` writes it again", unwritten=True)
            log.error("outbox message %s (accession %s) could not be written: %s", message.id, message.accession, exc)
    return done


def _render_one(store, clock: Clock, config: LabConfig, message: outbox.Message) -> bool:
    now = clock.utcnow()
    if message.format == outbox.ORDER_STATUS:
        _render_order_status(store, message, config, now)
        return True
    if message.format != outbox.RESULT or message.run_id is None:
        return False
    record = stored_record(store, message.run_id, clock, config.ranges)
    if record.report.status not in ("final", "corrected"):
        return False  # signed a moment ago: the run is being reported
    if record.report.version != message.version:
        outbox.superseded(store, message.id, now, f"version {message.version} was amended (now version "
                                                  f"{record.report.version}) before it was sent; the "
                                                  "correction is sent instead", unwritten=True)
        return False
    control_id = new_control_id()
    outbox.rendered(store, message.id, now, body=render_oru(record, config, sent_at=now, control_id=control_id),
                    control_id=control_id)
    return True


def _render_order_status(store, message: outbox.Message, config: LabConfig, now) -> None:
    order = closed_by_laboratory(store, message.accession, message.created_at)
    if order is None:
        raise ValidationError(f"no order {message.accession} closed by the laboratory by {_iso(message.created_at)}")
    control_id = new_control_id()
    outbox.rendered(store, message.id, now, control_id=control_id,
                    body=render_order_status(order, config, sent_at=now, control_id=control_id))


def deliver_on_signoff(store, clock: Clock, run_id: str, config: LabConfig, actor: str) -> list[Export]:
    """Automatic delivery when a run is signed off or amended: the message queued for the LIS with the
    signature is written at once when this process is configured for an LIS (``[lis] send_to``; otherwise the
    sender writes it, with its configuration), then every format goes into the drop folder (when the
    configuration names one)."""
    if config.lis.send_to is not None:
        try:
            render_queued(store, clock, config)
        except SweatTestError as exc:
            raise DeliveryError(f"run {run_id} is signed and queued for the LIS, but its message could not be "
                                f"written: {exc}; it is written when the LIS sender starts") from None
    if config.drop_folder is None or proficiency_run(store, run_id):
        return []
    try:
        return [export_run(store, clock, run_id, fmt.name, config.drop_folder, config=config, actor=actor)
                for fmt in LIMS_FORMATS if fmt.on_signoff]
    except (OSError, SweatTestError) as exc:
        raise DeliveryError(f"run {run_id} is signed, but delivery to the LIMS drop folder {config.drop_folder} "
                            f"failed: {exc}; fix the folder and run `sweattest export {run_id} --format hl7` "
                            "(and csv)") from None


def _iso(at) -> str:
    return at.isoformat() if at is not None else "?"



def _already_delivered(store, run_id: str, name: str, folder: Path) -> bool:
    where = str(folder.resolve())
    return any(e.what.startswith("export ") and isinstance(e.new, dict) and e.new.get("file") == name
               and e.new.get("folder") == where for e in history(store, run_id))
