"""Values the store keeps beside a run for QA queries, derived from its order and its events."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sweattest.core.errors import SweatTestError
from sweattest.core.rules.age import Cutoff, age_at

#: CFF 2007 QNS targets are set per patient age: up to and including 3 months, and older.
INFANT, OLDER = "<=3m", ">3m"
#: Run states from which every site has its verdict (adequate or QNS), so a run's QNS can be judged.
JUDGED_STATES = frozenset({"result_ready", "reviewed", "reported", "aborted"})


#: CFF 2007: "<= 3 months" and "> 3 months"; the day the patient turns 3 calendar months is the younger group.
QNS_AGE_CUTOFF = Cutoff(3, True, "CFF 2007 (QNS targets: <= 10 % up to 3 months of age, <= 5 % over 3 months)")


def age_group(order: dict[str, Any] | None, tested: datetime) -> str | None:
    """"<=3m" when the patient was at most 3 calendar months old on the test date (in the lab's time zone as
    the run kept it), else ">3m"; None without a date of birth."""
    try:
        dob = date.fromisoformat(str(((order or {}).get("patient") or {})["dob"]))
        zone = ZoneInfo(((order or {}).get("analysis") or {}).get("timezone") or "UTC")
        age = age_at(dob, tested, zone)
    except (KeyError, TypeError, ValueError, SweatTestError):
        return None
    return INFANT if QNS_AGE_CUTOFF.younger(age) else OLDER


def patient_dob(order: dict[str, Any] | None) -> str | None:
    """The order's patient date of birth as YYYY-MM-DD; None when it has none (or not a date)."""
    try:
        return date.fromisoformat(str(((order or {}).get("patient") or {})["dob"])).isoformat()
    except (KeyError, TypeError, ValueError):
        return None


def qns_verdict(run) -> tuple[int, bool | None]:
    """(sites with a measured sample, whether the test is QNS): QNS when every such site was QNS."""
    judged = [s for s in run.sites if s.adequacy is not None]
    if not judged:
        return 0, None
    return len(judged), all(not s.adequacy.adequate for s in judged)
