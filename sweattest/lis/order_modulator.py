"""On a CFTR modulator, as the LIS order says it: the lab's mapping (``[lis.modulator]``, docs/config.md) applied
to an order once it is parsed, before it is put on the worklist.

Epic and Cerner send the questions asked at order entry as OBX segments after the OBR: OBX-3 names the
question, OBX-5 holds the answer (a code with its text, or text). The lab names its question for "CFTR
modulator" (and, if it asks it, the one for "date started"), the answers that mean "none", and how an answer
code reads on a report; or a pattern of the order comment (NTE). The answer to the question, when the order
has one, is taken over the comment. The modulator goes with the order to the bench and into the run: the
result is then a monitoring value, without a diagnostic category (sweattest.core.rules.interpretation). A
start date the LIS did not send is asked at the bench; a start date that cannot be is refused back to the LIS.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sweattest.core.lis_config import ModulatorMap
from sweattest.lis.ack import DATA_TYPE_ERROR, Problem
from sweattest.lis.orders import LisOrder

_DAY = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})")


def modulator_of(order: LisOrder, mapping: ModulatorMap | None, today: date) -> tuple[dict[str, Any] | None,
                                                                                      Problem | None]:
    """``{"name", "start" (YYYY-MM-DD or None: not sent), "from"}`` when the order says the patient is on a
    CFTR modulator, else None; or the problem to answer the LIS with (a start date that cannot be)."""
    if mapping is None:
        return None, None
    if mapping.question:
        answer = next((a for a in order.answers if a["code"] == mapping.question), None)
        if answer is not None:
            return _from_answer(order, mapping, answer, today)
    if mapping.comment_pattern is not None:
        for comment in order.comments:
            found = mapping.comment_pattern.search(comment)
            if found is not None:
                return _from_comment(order, mapping, found, today), None
    return None, None


def _from_answer(order: LisOrder, mapping: ModulatorMap, answer: dict[str, Any],
                 today: date) -> tuple[dict[str, Any] | None, Problem | None]:
    code, text = (answer["value"] + ["", ""])[:2]
    name = _name(mapping, code, text)
    if name is None:
        return None, None
    start = None
    dated = next((a for a in order.answers if mapping.start_question and a["code"] == mapping.start_question), None)
    sent = (dated["value"] or [""])[0] if dated is not None else ""
    if sent:
        start = _day(sent)
        where = f"OBX-5 of {mapping.start_question} (the day the CFTR modulator was started) {sent!r}"
        if start is None or not sent[:8].isdigit():
            return None, Problem(DATA_TYPE_ERROR, f"{where}: write the date YYYYMMDD", ("OBX", 5))
        problem = _impossible(order, start, today, where)
        if problem is not None:
            return None, problem
    return {"name": name, "start": start.isoformat() if start else None,
            "from": f"order question {mapping.question}"}, None


def _from_comment(order: LisOrder, mapping: ModulatorMap, found: re.Match[str], today: date) -> dict[str, Any] | None:
    name = _name(mapping, found["modulator"] or "", "")
    if name is None:
        return None
    start = _day(found.groupdict().get("start") or "")
    if start is not None and _impossible(order, start, today, "") is not None:
        start = None  # a date in free text that cannot be: asked at the bench, never guessed
    return {"name": name, "start": start.isoformat() if start else None, "from": "order comment"}


def _name(mapping: ModulatorMap, code: str, text: str) -> str | None:
    """The modulator the answer names (the lab's name for its code, else the text as sent); None for an
    answer that says "none" or says nothing."""
    given = [part.strip() for part in (code, text) if part.strip()]
    if not given or any(part.upper() in mapping.none_answers for part in given):
        return None
    for part in given:
        if part.upper() in mapping.names:
            return mapping.names[part.upper()]
    return given[-1]


def _day(text: str) -> date | None:
    found = _DAY.match(text.strip())
    if found is None:
        return None
    try:
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        return None


def _impossible(order: LisOrder, start: date, today: date, where: str) -> Problem | None:
    born = order.patient.get("dob")
    if born and start < date.fromisoformat(born):
        return Problem(DATA_TYPE_ERROR, f"{where} is before the patient's birth ({born}): correct it", ("OBX", 5))
    if start > today:
        return Problem(DATA_TYPE_ERROR, f"{where} is after today: correct it", ("OBX", 5))
    return None
