"""Inducer alarms of a run and their acknowledgement by the tech.

An alarm is a stored event whose off check did not confirm the inducer safe (``inducer_faulty`` or
``output_off_confirmed`` false, on an abort or a finish of stimulation) or that was refused because the
inducer had been declared faulty. The alarm stays until a person acknowledges it; the acknowledgement is an
entry of the audit chain (who, when, which event), so it is tamper-evident like the rest of the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sweattest.core.errors import ValidationError
from sweattest.core.rules.skin import SkinCheck, not_chosen, skin_check
from sweattest.record.audit import history
from sweattest.record.skin_reactions import insert_skin_reaction
from sweattest.record.store.chain import append_audit

ACKNOWLEDGE = "acknowledge_alarm"


@dataclass(frozen=True)
class InducerAlarm:
    seq: int  # the stored event that raised it
    site: str | None
    reason: str
    output_off: bool
    at: datetime
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_by is not None


def raises_alarm(data: dict[str, Any]) -> bool:
    """Whether an event's data says its off check did not confirm the inducer safe (a site refused because the
    inducer was already latched faulty carries no off check of its own and raises no second alarm)."""
    return data.get("output_off_confirmed") is False or (bool(data.get("inducer_faulty")) and "off_check" in data)


def inducer_alarms(store, run_id: str) -> list[InducerAlarm]:
    """The run's inducer alarms, oldest first, each with its acknowledgement if any."""
    acks = {e.new.get("event"): e for e in history(store, run_id) if e.what == ACKNOWLEDGE and e.new}
    out = []
    for e in store.events(run_id):
        data = e.data or {}
        if not (e.accepted and e.kind in ("abort", "finish_stimulation") and raises_alarm(data)):
            continue
        ack = acks.get(e.seq)
        out.append(InducerAlarm(e.seq, e.site, str(data.get("reason") or data.get("off_check") or ""),
                                data.get("output_off_confirmed", False) is True, e.at,
                                ack.who if ack else None, ack.at if ack else None))
    return out


def acknowledgements(store, run_id: str) -> dict[int, tuple[str, datetime]]:
    """Who acknowledged the alarm of each stored event, and when (event seq -> (who, at))."""
    return {e.new.get("event"): (e.who, e.at) for e in history(store, run_id) if e.what == ACKNOWLEDGE and e.new}


#: Stops by a person or by the station (a stand-alone inducer's, without an off check, included).
STOP_CODES = ("emergency_stop", "station_stopped")


def stopped_sites(store, run_id: str) -> dict[int, Any]:
    """The run's stimulations stopped with the inducer confirmed safe (a fault or an emergency stop): the
    stored abort events, by seq. An inducer not confirmed safe is an inducer alarm instead."""
    out = {}
    for e in store.events(run_id):
        data = e.data or {}
        if (e.kind == "abort" and e.accepted and e.site and not raises_alarm(data)
                and ("output_off_confirmed" in data or data.get("code") in STOP_CODES)):
            out[e.seq] = e
    return out


def stimulated_sites(store, run_id: str) -> set[str]:
    """The sites of the run whose stimulation started (their skin must be checked, whatever happened next)."""
    return {e.site for e in store.events(run_id) if e.kind == "start_stimulation" and e.accepted and e.site}


def acknowledge(store, run_id: str, seq: int, who: str, at: datetime,
                skin: SkinCheck | tuple[str, str] | None = None) -> InducerAlarm:
    """Record that ``who`` acknowledged the alarm of event ``seq`` at ``at`` (an inducer alarm, or a
    stimulation stopped); a second acknowledgement of the same alarm is refused. When the alarm's site was
    stimulated, ``skin`` is the grade (and note) of its skin, checked as the electrodes came off: recorded as the
    site's skin reaction in the same transaction, and required (nothing is written without it)."""
    alarm = next((a for a in inducer_alarms(store, run_id) if a.seq == seq), None)
    why = "inducer not confirmed safe: switched off at its power switch, electrodes removed"
    if alarm is None and (stopped := stopped_sites(store, run_id).get(seq)) is not None:
        ack = acknowledgements(store, run_id).get(seq)
        alarm = InducerAlarm(seq, stopped.site, str(stopped.data.get("reason", "")), True, stopped.at,
                             ack[0] if ack else None, ack[1] if ack else None)
        why = "stimulation stopped: electrodes removed, skin checked"
    if alarm is None:
        raise ValidationError(f"run {run_id} has no alarm {seq}; reload the run's screen")
    if alarm.acknowledged:
        raise ValidationError(f"this alarm was already acknowledged by {alarm.acknowledged_by}; the screen now "
                              "shows it as acknowledged")
    checked = None
    if alarm.site is not None and alarm.site in stimulated_sites(store, run_id):
        where = alarm.site.replace("_", " ")
        if skin is None or not str(skin[0] if isinstance(skin, tuple) else skin.grade).strip():
            raise ValidationError(f"{not_chosen(where)}; the alarm is not acknowledged yet")
        grade, note = (skin.grade, skin.note) if isinstance(skin, SkinCheck) else skin
        checked = skin_check(grade, note, where)
    with store.writing() as conn:
        if checked is not None:
            insert_skin_reaction(conn, run_id, alarm.site, checked, who=who, at=at)
        append_audit(conn, run_id=run_id, who=who, what=ACKNOWLEDGE, at=at, why=why,
                     new={"event": seq, "site": alarm.site} | ({"skin": checked.grade} if checked else {}))
    return InducerAlarm(alarm.seq, alarm.site, alarm.reason, alarm.output_off, alarm.at, who, at)


def acknowledge_timing(store, run_id: str, alarm: str, text: str, who: str, at: datetime) -> None:
    """Record that ``who`` acknowledged, at ``at``, a timing alarm of the run's screens (a collection about to
    run past its maximum time, a collector left waiting): ``alarm`` names it, ``text`` is what it said."""
    with store.writing() as conn:
        append_audit(conn, run_id=run_id, who=who, what=ACKNOWLEDGE, at=at, why=text, new={"alarm": alarm})
