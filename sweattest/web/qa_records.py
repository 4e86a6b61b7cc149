"""QA pages of the lab's records: control lots and their targets (/qa/qc-lots), calibrations (/qa/calibrations)
and the equipment log (/qa/equipment). Each lists the records and takes new entries through a form; the rules
are those of the record modules, as for the `qc`, `calibration` and `equipment` commands."""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sweattest.core.errors import SweatTestError, ValidationError
from sweattest.core.fields import typed_date
from sweattest.core.instruments import ROLES
from sweattest.core.units import parse_quantity
from sweattest.qa.equipment import instrument_rows
from sweattest.record import calibrations, equipment, qc_lots
from sweattest.web.context import web


def qc_lots_page(request: Request, user, form, error: str | None = None, status_code: int = 200) -> Response:
    ctx = web(request)
    return ctx.render(request, user, "qa_qc_lots.html", status_code=status_code, error=error,
                      lots=qc_lots.lots(ctx.store), levels=qc_lots.LEVELS, analyzer=qc_lots.DEFAULT_ANALYZER,
                      runs=ctx.config.establish_runs, source=qc_lots.SRC_ESTABLISH, form=form or {})


def qc_lots_post(request: Request, user, form) -> Response:
    """Add a lot, establish a provisional lot's targets, or retire a lot (``action``)."""
    ctx = web(request)
    action = str(form.get("action", ""))
    analyzer = _field(form, "analyzer") or qc_lots.DEFAULT_ANALYZER
    try:
        if action == "add":
            qc_lots.add_lot(ctx.store, analyzer=analyzer, level=_field(form, "level"), lot=_field(form, "lot"),
                            material=_field(form, "material"), expires=_date(form, "expires", "expiry"),
                            mean=_mmol(form, "mean", "target mean"), sd=_mmol(form, "sd", "target SD"),
                            provisional=form.get("provisional") == "yes", who=user.username,
                            establish_runs=ctx.config.establish_runs)
        elif action == "establish":
            qc_lots.establish_targets(ctx.store, analyzer, _field(form, "lot"), who=user.username)
        elif action == "retire":
            qc_lots.retire_lot(ctx.store, analyzer, _field(form, "lot"), reason=_field(form, "reason"),
                               who=user.username)
        else:
            raise ValidationError(f"unknown action {action!r}")
    except SweatTestError as exc:
        return qc_lots_page(request, user, form, error=str(exc), status_code=422)
    return RedirectResponse("/qa/qc-lots", status_code=303)


def calibrations_page(request: Request, user, form, error: str | None = None, status_code: int = 200) -> Response:
    ctx = web(request)
    return ctx.render(request, user, "qa_calibrations.html", status_code=status_code, error=error,
                      rows=calibrations.calibrations(ctx.store), instruments=ctx.config.instruments, roles=ROLES,
                      kinds=calibrations.KINDS, intervals=ctx.config.calibration_intervals, form=form or {})


def calibrations_post(request: Request, user, form) -> Response:
    ctx = web(request)
    try:
        role = _role(ctx.config, form)
        calibrations.add_calibration(ctx.store, instrument=_field(form, "serial"), role=role,
                                     kind=_field(form, "kind"), outcome=_field(form, "outcome"),
                                     performed_on=_date(form, "on", "date performed"),
                                     interval_days=ctx.config.calibration_intervals[role], who=user.username,
                                     reference=_field(form, "reference"), notes=_field(form, "notes"))
    except SweatTestError as exc:
        return calibrations_page(request, user, form, error=str(exc), status_code=422)
    return RedirectResponse("/qa/calibrations", status_code=303)


def equipment_page(request: Request, user, form, error: str | None = None, status_code: int = 200) -> Response:
    ctx = web(request)
    return ctx.render(request, user, "qa_equipment.html", status_code=status_code, error=error,
                      instruments=instrument_rows(ctx.store, ctx.config), rows=equipment.entries(ctx.store),
                      kinds=equipment.KINDS, roles=ROLES, form=form or {})


def equipment_post(request: Request, user, form) -> Response:
    ctx = web(request)
    try:
        equipment.add_entry(ctx.store, instrument=_field(form, "serial"), role=_role(ctx.config, form),
                            kind=_field(form, "kind"), on=_date(form, "on", "date"), text=_field(form, "text"),
                            who=user.username, who_role=user.role, lot=_field(form, "lot") or None)
    except SweatTestError as exc:
        return equipment_page(request, user, form, error=str(exc), status_code=422)
    return RedirectResponse("/qa/equipment", status_code=303)


def _field(form, name: str) -> str:
    return str(form.get(name, "") or "").strip()


def _date(form, name: str, what: str) -> date:
    return typed_date(_field(form, name), what)


def _mmol(form, name: str, what: str) -> float:
    return parse_quantity(_field(form, name), "concentration", what).to("mmol/L").magnitude


def _role(config, form) -> str:
    """The role of the configured instrument with this serial number, else the role chosen in the form."""
    serial = _field(form, "serial")
    configured = next((i.role for i in config.instruments if i.serial_number == serial), None)
    role = configured or _field(form, "role")
    if role not in ROLES:
        raise ValidationError(f"{serial or 'the instrument'} is not a configured instrument: choose its role")
    return role
