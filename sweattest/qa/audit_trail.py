"""A run's audit trail as the QA page shows it: each stored event and each amendment in time order, with
people by name, quantities with their units and times in the lab's time zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sweattest.core.errors import SweatTestError
from sweattest.core.jsonable import from_jsonable
from sweattest.core.units import format_quantity
from sweattest.record.audit import history

#: Event data keys that name a user (shown with their full name).
PERSON_KEYS = frozenset({"actor", "reviewer", "by", "who", "operator", "username"})


#: Audit entries of a run that are not events, in words (others: their name with spaces).
WORDS = {"create_run": "run created", "acknowledge_alarm": "alarm acknowledged", "skin_reaction": "skin checked",
         "repeat_of": "declared a repeat", "confirm (refused)": "confirmation refused",
         "sign performed": "signed as performed", "sign reviewed": "signed as reviewed"}


def audit_rows(store, run_id: str, events, zone: ZoneInfo, names: dict[str, str]) -> list[dict[str, Any]]:
    """One row per entry of the run's audit trail (``sweattest audit show``), oldest first: each stored event
    with its data, each amendment with the values it changed, and every other entry (an alarm acknowledged, a
    skin check, a refused confirmation, a signature, a delivery...) in words. A row: when (lab time), t (s),
    what, site, by whom, accepted, and the details as ("name", "value") pairs."""
    rows = {id(e): {"at": e.at, "when": lab_time(e.at, zone), "seq": e.seq, "t": e.t, "what": _words(e.kind),
                    "site": _words(e.site or ""), "by": person((e.data or {}).get("actor", ""), names),
                    "accepted": e.accepted, "details": details(e.data or {}, zone, names, skip={"actor"})}
            for e in events}
    # the entries that record an event are shown as the event (with its data), in the chain's order
    of_events: dict[tuple[str, Any], list] = {}
    for e in events:
        of_events.setdefault((e.kind if e.accepted else f"{e.kind} (refused)", e.at), []).append(id(e))
    out = []
    for entry in history(store, run_id):
        same = of_events.get((entry.what, entry.at))
        if same:
            out.append(rows.pop(same.pop(0)))
        else:
            out.append(_amendment(entry, zone, names) if entry.what == "amend" else _entry(entry, zone, names))
    return out + sorted(rows.values(), key=lambda r: r["at"])  # an event without its entry: never, but shown


def _amendment(entry, zone: ZoneInfo, names: dict[str, str]) -> dict[str, Any]:
    new = dict(entry.new or {})
    version = new.pop("version", None)
    changes = [(_words(k), f"{display(old_value, zone, names)} → {display(v, zone, names)}")
               for k, v in new.items() for old_value in [(entry.old or {}).get(k)]]
    return {"at": entry.at, "when": lab_time(entry.at, zone), "seq": "", "t": "",
            "what": f"amendment (version {version})" if version else "amendment", "site": "",
            "by": person(entry.who, names), "accepted": True, "details": [*changes, ("reason", entry.why or "")]}


def _entry(entry, zone: ZoneInfo, names: dict[str, str]) -> dict[str, Any]:
    new = dict(entry.new) if isinstance(entry.new, dict) else ({"value": entry.new} if entry.new else {})
    site = new.pop("site", None)
    told = details({k: v for k, v in new.items() if v not in ("", None)}, zone, names)
    told += [("why", entry.why)] if entry.why else []
    if isinstance(entry.old, dict) and entry.old:
        told.append(("before", display(entry.old, zone, names)))
    return {"at": entry.at, "when": lab_time(entry.at, zone), "seq": "", "t": "",
            "what": WORDS.get(entry.what, _words(entry.what)), "site": _words(site or ""),
            "by": person(entry.who, names), "accepted": not entry.what.endswith("(refused)"), "details": told}


def person(username: str, names: dict[str, str]) -> str:
    """``Rita Reviewer (rev1)``; a user name the store does not know is shown as it is."""
    if not username:
        return ""
    full = names.get(username)
    return f"{full} ({username})" if full else username


def details(data: dict[str, Any], zone: ZoneInfo, names: dict[str, str], skip=frozenset()) -> list[tuple[str, str]]:
    return [(_words(k), person(v, names) if k in PERSON_KEYS and isinstance(v, str) else display(v, zone, names))
            for k, v in data.items() if k not in skip]


def display(value: Any, zone: ZoneInfo, names: dict[str, str]) -> str:
    """A stored value in words: a quantity with its unit, a time in the lab's zone, yes/no, lists joined."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        if set(value) == {"value", "unit"} and isinstance(value["unit"], str):
            try:
                return format_quantity(from_jsonable(value))
            except SweatTestError:  # a unit the units grammar does not know: shown as stored
                return f"{value['value']} {value['unit']}"
        return "; ".join(f"{_words(k)}: {display(v, zone, names)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(display(v, zone, names) for v in value)
    if isinstance(value, str) and _is_time(value):
        return lab_time(value, zone)
    return str(value)


def _is_time(text: str) -> bool:
    if len(text) < 19 or text[4] != "-" or "T" not in text:
        return False
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False


def lab_time(at: str | datetime | None, zone: ZoneInfo) -> str:
    """A recorded (UTC) time in the lab's time zone, to the second: ``2026-12-06 17:40:39 CET``."""
    if not at:
        return "—"
    moment = at if isinstance(at, datetime) else datetime.fromisoformat(at)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def _words(name: str) -> str:
    return name.replace("_", " ")
