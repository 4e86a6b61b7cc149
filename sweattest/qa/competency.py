"""Operator competency: tests performed per operator over a period (a calendar year on the QA page), their QNS
rate and skin-reaction rate, the latest competency assessment, and what falls short of the lab's minimums
(``[competency]`` in the lab configuration). Falling short is a warning at log-in and a mark for QA, never a
block. Runs are chosen by ``RunFilter`` (patient runs only once runs carry their purpose).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sweattest.core.config import CompetencyRules
from sweattest.qa.pack_section import PackSection
from sweattest.record.competency import CompetencyRecord, hire_date, latest_assessment, list_records
from sweattest.record.run_counts import operator_counts
from sweattest.record.run_filter import RunFilter
from sweattest.record.users import list_users

#: Roles that perform tests (whose competency is followed).
PERFORMING_ROLES = ("tech", "reviewer")
SOURCE = ("minimum tests a year set by the lab ([competency] min_tests_per_year; default 10, UK 2014 asks 50); "
          "competency assessed and recorded (CLSI C34, ISO 15189 personnel competence); twice in the first year "
          "after hire, then yearly (CLIA 42 CFR 493.1451(b)(8) and 493.1235; CAP)")
#: CLIA 42 CFR 493.1451(b)(8): semiannually during the first year of testing, annually after.
FIRST_CHECK_DAYS, YEAR_DAYS = 183, 365
COLUMNS = ("operator", "hire_date", "tests", "qns", "qns_rate_pct", "skin_reactions", "skin_rate_pct", "minimum",
           "last_assessment", "outcome", "next_due", "warnings")


@dataclass(frozen=True)
class Standing:
    operator: str
    tests: int
    judged: int  # tests whose adequacy was judged (the QNS rate's denominator)
    qns: int
    reacted: int  # tests with a skin reaction (any grade but none) at any site
    minimum: int
    assessment: CompetencyRecord | None
    warnings: tuple[str, ...]
    hired: date | None = None

    @property
    def qns_rate_pct(self) -> float | None:
        return round(100.0 * self.qns / self.judged, 1) if self.judged else None

    @property
    def skin_rate_pct(self) -> float | None:
        return round(100.0 * self.reacted / self.tests, 1) if self.tests else None

    def row(self) -> dict:
        a = self.assessment
        return {"operator": self.operator, "hire_date": self.hired.isoformat() if self.hired else None,
                "tests": self.tests, "qns": self.qns, "qns_rate_pct": self.qns_rate_pct,
                "skin_reactions": self.reacted, "skin_rate_pct": self.skin_rate_pct, "minimum": self.minimum,
                "last_assessment": a.done_on.isoformat() if a else None, "outcome": a.outcome if a else None,
                "next_due": a.next_due.isoformat() if a and a.next_due else None,
                "warnings": "; ".join(self.warnings)}


def year_filter(year: int) -> RunFilter:
    return RunFilter(date_from=date(year, 1, 1), date_to=date(year, 12, 31))


def rolling_year(today: date) -> RunFilter:
    """The 365 days up to ``today``: the period the log-in warning looks at."""
    return RunFilter(date_from=today - timedelta(days=364), date_to=today)


def standings(store, where: RunFilter, rules: CompetencyRules, today: date,
              operators: list[str] | None = None, period: str = "in the period") -> list[Standing]:
    """Each operator's standing: the active techs, anyone who performed a test in the period, and anyone with a
    competency record (a reviewer who never tests is not followed as an operator)."""
    counts = operator_counts(store, where)
    records = list_records(store)
    if operators is None:
        users = [u.username for u in list_users(store) if u.active and u.role == "tech"]
        operators = sorted(set(users) | set(counts) | {r.operator for r in records})
    out = []
    for name in operators:
        tests, judged, qns, reacted = counts.get(name, (0, 0, 0, 0))
        mine = [rec for rec in records if rec.operator == name]
        assessment, hired = latest_assessment(mine), hire_date(mine)
        warnings = _warnings(tests, rules.min_tests_per_year, assessment, today, period)
        warnings += _first_year(mine, hired, today)
        out.append(Standing(name, tests, judged, qns, reacted, rules.min_tests_per_year, assessment,
                            tuple(warnings), hired))
    return out


def _first_year(records: list[CompetencyRecord], hired: date | None, today: date) -> list[str]:
    """The first-year rule: two passing assessments within the first year after hire (the first by six months),
    then one a year."""
    passed = sorted(r.done_on for r in records if r.kind == "assessment" and r.outcome == "pass")
    if hired is None:  # named in the pack (no hire date, no first-year check), not a warning at log-in
        return []
    first_year = [d for d in passed if hired < d <= hired + timedelta(days=YEAR_DAYS)]
    six_months = hired + timedelta(days=FIRST_CHECK_DAYS)
    if today <= hired + timedelta(days=YEAR_DAYS):
        if today > six_months and not any(d <= six_months for d in first_year):
            return [f"first-year assessment at six months (by {six_months}) not recorded (hired {hired})"]
        return []
    out = []
    if len(first_year) < 2:
        out.append(f"{len(first_year)} of the 2 assessments of the first year after hire ({hired}) recorded")
    if passed and passed[-1] + timedelta(days=YEAR_DAYS) < today:
        out.append(f"yearly assessment overdue: the last passed was on {passed[-1]}")
    return out


def _warnings(tests: int, minimum: int, assessment: CompetencyRecord | None, today: date,
              period: str = "in the period") -> list[str]:
    out = []
    if tests < minimum:
        out.append(f"{tests} patient test{'s' if tests != 1 else ''} {period}, below the lab's minimum "
                   f"of {minimum} a year")
    if assessment is None:
        out.append("no competency assessment recorded")
    elif assessment.outcome == "fail":
        out.append(f"the last competency assessment ({assessment.done_on}) was failed")
    elif assessment.next_due is not None and assessment.next_due < today:
        out.append(f"the competency assessment was due on {assessment.next_due}")
    return out


def login_warnings(store, username: str, role: str, rules: CompetencyRules, today: date) -> list[str]:
    """What a performing user is told at log-in (the last 365 days); nothing for other roles."""
    if role not in PERFORMING_ROLES:
        return []
    [standing] = standings(store, rolling_year(today), rules, today, operators=[username],
                           period="in the last 365 days")
    if role != "tech" and standing.tests == 0:  # a reviewer who does not test is not followed as an operator
        return []
    return [f"Competency: {w}. Tell QA; you may go on working." for w in standing.warnings]


def format_standings(rows: list[Standing]) -> str:
    if not rows:
        return "no operators\n"
    lines = [f"Competency per operator; {SOURCE}",
             f"{'operator':<14} {'tests':>6} {'QNS':>5} {'QNS %':>6} {'skin':>5} {'skin %':>7} {'min':>4} "
             f"{'assessed':<10} {'outcome':<7} {'next due':<10}"]
    for s in rows:
        a = s.assessment
        rate = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
        lines.append(f"{s.operator:<14} {s.tests:>6} {s.qns:>5} {rate(s.qns_rate_pct):>6} {s.reacted:>5} "
                     f"{rate(s.skin_rate_pct):>7} {s.minimum:>4} {a.done_on.isoformat() if a else '-':<10} "
                     f"{a.outcome if a else '-':<7} {a.next_due.isoformat() if a and a.next_due else '-':<10}"
                     + ("  WARNING: " + "; ".join(s.warnings) if s.warnings else ""))
    return "\n".join(lines) + "\n"


def pack_section(store, where: RunFilter, rules: CompetencyRules | None = None,
                 today: date | None = None) -> PackSection:
    """The pack's section: each operator's figures over the pack's period, with the latest assessment."""
    rules = rules or CompetencyRules()
    today = today or where.date_to or store.clock.utcnow().date()
    rows = standings(store, where, rules, today)
    notes = [f"Tests are the patient runs of the period; QNS rate over the tests judged; skin-reaction rate over "
             f"the tests. {SOURCE}. Falling short is a warning, not a block."]
    notes += [f"{s.operator}: {w}" for s in rows for w in s.warnings]
    unhired = [s.operator for s in rows if s.hired is None]
    if unhired:
        notes.append(f"No hire date recorded for {', '.join(unhired)}: the first-year rule (two assessments in the "
                     "first year) is not checked for them (sweattest competency add USER --kind hire).")
    return PackSection(key="competency", title="Operator competency", columns=COLUMNS,
                       rows=tuple(tuple("" if s.row()[c] is None else s.row()[c] for c in COLUMNS) for s in rows),
                       notes=tuple(notes))
