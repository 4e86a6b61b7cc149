"""QA pages of the people at the bench: skin reactions (per operator, per inducer, each adverse event) and
operator competency (per year, operators short of the lab's minimums marked). The figures come from
``sweattest.qa.skin_reactions`` and ``sweattest.qa.competency``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sweattest.core.errors import SweatTestError
from sweattest.core.rules.skin import ADVICE, GRADES
from sweattest.core.rules.skin import SOURCE as SKIN_SOURCE
from sweattest.qa.audit_trail import lab_time
from sweattest.qa.competency import SOURCE as COMPETENCY_SOURCE
from sweattest.qa.competency import standings, year_filter
from sweattest.qa.filters import parse_date
from sweattest.qa.skin_reactions import adverse_events, reaction_rates, reaction_rows
from sweattest.record.competency import list_records
from sweattest.record.run_filter import RunFilter
from sweattest.web.context import web


def skin_page(request: Request, user, form) -> Response:
    """Counts and rates per operator and per inducer over the period chosen (default: every run), and each
    adverse event with its note."""
    ctx = web(request)
    chosen = {k: str(request.query_params.get(k, "")).strip() for k in ("date_from", "date_to")}
    rows, error = [], None
    try:
        where = RunFilter(parse_date(chosen["date_from"] or None, "From"), parse_date(chosen["date_to"] or None, "To"))
        rows = reaction_rows(ctx.store, where)
    except SweatTestError as exc:
        error = str(exc)
    return ctx.render(request, user, "qa_skin.html", chosen=chosen, error=error, grades=GRADES,
                      by_operator=reaction_rates(rows, "operator"), by_inducer=reaction_rates(rows, "inducer"),
                      events=adverse_events(rows), advice=ADVICE, source=SKIN_SOURCE,
                      local=lambda at: lab_time(at, ctx.config.zone))


def competency_page(request: Request, user, form) -> Response:
    """One calendar year: each operator's tests, QNS and skin-reaction rates and latest assessment; those short
    of the lab's minimums are marked. The records of training and assessments follow."""
    ctx = web(request)
    today = ctx.clock.utcnow().date()
    text = str(request.query_params.get("year", "")).strip()
    year, error = today.year, None
    if text:
        if text.isdigit() and 2000 <= int(text) <= 2100:
            year = int(text)
        else:
            error = f"Year {text!r}: give a year such as {today.year}"
    rows = standings(ctx.store, year_filter(year), ctx.config.competency, today)
    return ctx.render(request, user, "qa_competency.html", year=year, rows=rows, error=error,
                      records=list_records(ctx.store), minimum=ctx.config.competency.min_tests_per_year,
                      source=COMPETENCY_SOURCE)
