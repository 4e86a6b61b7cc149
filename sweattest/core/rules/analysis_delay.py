"""Time from collection to analysis: recorded for every analysed site, flagged past the lab's limit.

Sources: CFF 2017 (statement 5: analyse within a few hours of collection); Leeds (UK, after ACB 2014):
room temperature <= 24 h, 4 °C <= 72 h. The limit is lab configuration (``[analysis] max_delay``); the
default is the same day, in the lab's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sweattest.core.errors import ValidationError
from sweattest.core.rules.findings import Finding, Severity
from sweattest.core.units import Quantity, format_quantity, parse_quantity

SRC_DELAY = ("CFF 2017 (statement 5: analyse within a few hours of collection); Leeds after ACB 2014 "
             "(room temperature <= 24 h, 4 °C <= 72 h)")
SAME_DAY = "same day"


@dataclass(frozen=True)
class DelayLimit:
    """``max_delay`` None: the same calendar day in ``timezone``; else at most this long."""

    max_delay: Quantity | None = None
    timezone: str = "UTC"

    def as_dict(self) -> dict[str, str]:
        return {"max_delay": SAME_DAY if self.max_delay is None else format_quantity(self.max_delay),
                "timezone": self.timezone}


def parse_limit(text: str, timezone: str, where: str) -> DelayLimit:
    """``"same day"`` or a time such as ``"4 h"``."""
    if text.strip().lower() in {SAME_DAY, "same_day"}:
        return DelayLimit(None, timezone)
    q = parse_quantity(text, "time", where)
    if q.magnitude <= 0:
        raise ValidationError(f"{where}: {text!r} must be above 0; write e.g. '4 h' or 'same day'")
    return DelayLimit(q, timezone)


def limit_from_dict(doc: dict[str, str]) -> DelayLimit:
    return parse_limit(doc["max_delay"], doc.get("timezone", "UTC"), "analysis.max_delay")


def check_delay(collected: datetime, analysed: datetime, limit: DelayLimit, site: str) -> list[Finding]:
    """A warning when ``analysed`` is past the limit after the end of collection ``collected``."""
    if limit.max_delay is None:
        zone = ZoneInfo(limit.timezone)
        late = analysed.astimezone(zone).date() > collected.astimezone(zone).date()
        what = f"not analysed on the day of collection ({limit.timezone})"
    else:
        late = (analysed - collected).total_seconds() > float(limit.max_delay.to("s").magnitude)
        what = f"analysed more than {format_quantity(limit.max_delay)} after collection"
    if not late:
        return []
    return [Finding("analysis_delayed", Severity.WARN, f"{site}: {what} (delay {delay_minutes(collected, analysed)}"
                    " min); evaporation may raise the chloride: consider repeating the test", SRC_DELAY)]


def delay_minutes(collected: datetime, analysed: datetime) -> int:
    return round((analysed - collected).total_seconds() / 60)
