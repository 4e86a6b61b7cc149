"""Result reports rendered from jinja2 templates (autoescape always on): HTML, and PDF via WeasyPrint."""

from __future__ import annotations

import traceback
from dataclasses import fields, is_dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import jinja2

from sweattest.core.config import LabConfig
from sweattest.core.errors import ConfigError
from sweattest.core.resources import data_dir
from sweattest.outputs.report.context import nl2br, report_context
from sweattest.outputs.report.pdf import html_to_pdf
from sweattest.record.run_record_model import RunRecord

TEMPLATE = "report.html"


class ReportEnvironment(jinja2.Environment):
    """Templates read the record's parts by attribute (``s.chloride.text``) or by key (``s["chloride"]``, jinja2's
    own fallback); ``part.get("name")`` reads a part as a lab's template written for the record as a mapping did,
    so such a template keeps working. Nothing else of a mapping is offered."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if attribute == "get" and is_dataclass(obj) and not isinstance(obj, type) and not hasattr(obj, "get"):
            return partial(_read, obj)
        return super().getattr(obj, attribute)


def _read(part: Any, name: str, default: Any = None) -> Any:
    """A field (or property) of a record part by name, ``default`` when it has none or it is None."""
    readable = {f.name for f in fields(part)} | {k for k, v in vars(type(part)).items() if isinstance(v, property)}
    value = getattr(part, name) if name in readable else None
    return default if value is None else value


@lru_cache(maxsize=8)
def environment(override: Path | None = None) -> jinja2.Environment:
    """Templates from the lab's own folder first (if given), then the shipped ``templates/``.

    The shipped templates are also reachable as ``shipped/<name>``, so a lab's template can
    ``{% extends "shipped/report.html" %}`` and replace only some blocks."""
    shipped = jinja2.FileSystemLoader(str(data_dir("templates")))
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(str(override))] if override else []
    loaders += [shipped, jinja2.PrefixLoader({"shipped": shipped})]
    env = ReportEnvironment(loader=jinja2.ChoiceLoader(loaders), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["nl2br"] = nl2br
    return env


def render_html(record: RunRecord, config: LabConfig | None = None) -> str:
    """The report as HTML, in the lab's template and time zone."""
    config = config or LabConfig()
    try:
        template = environment(config.template_folder).get_template(TEMPLATE)
    except jinja2.TemplateError as exc:
        raise ConfigError(f"report template {TEMPLATE}: {exc}; fix the lab's template folder "
                          f"{config.template_folder}") from None
    context = report_context(record, config)
    try:
        return template.render(**context)
    except (jinja2.TemplateError, TypeError, AttributeError, KeyError, ValueError) as exc:
        if config.template_folder is None:
            raise  # the shipped template: a defect, not the lab's to fix
        raise ConfigError(f"report template {_where(exc, template)}: {type(exc).__name__}: {exc}; a template reads "
                          f"what docs/config.md (Report templates) lists; fix the lab's template folder "
                          f"{config.template_folder}") from None


def _where(exc: BaseException, template: jinja2.Template) -> str:
    """The template file and line the rendering failed at (jinja2 puts the template's lines in the traceback)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".html"):
            return f"{frame.filename} line {frame.lineno}"
    return template.filename or TEMPLATE


def render_pdf(record: RunRecord, config: LabConfig | None = None) -> bytes:
    """The report as PDF (A4/Letter by the template's @page rule, page X of Y in the footer)."""
    return html_to_pdf(render_html(record, config))
