"""Result reports rendered from jinja2 templates (autoescape always on): HTML, and PDF via WeasyPrint."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from sweattest.core.config import LabConfig
from sweattest.core.errors import ConfigError
from sweattest.core.resources import data_dir
from sweattest.outputs.report.context import nl2br, report_context
from sweattest.outputs.report.pdf import html_to_pdf
from sweattest.record.run_record_model import RunRecord

TEMPLATE = "report.html"


@lru_cache(maxsize=8)
def environment(override: Path | None = None) -> jinja2.Environment:
    """Templates from the lab's own folder first (if given), then the shipped ``templates/``.

    The shipped templates are also reachable as ``shipped/<name>``, so a lab's template can
    ``{% extends "shipped/report.html" %}`` and replace only some blocks."""
    shipped = jinja2.FileSystemLoader(str(data_dir("templates")))
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(str(override))] if override else []
    loaders += [shipped, jinja2.PrefixLoader({"shipped": shipped})]
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=True,
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
    return template.render(**report_context(record, config))


def render_pdf(record: RunRecord, config: LabConfig | None = None) -> bytes:
    """The report as PDF (A4/Letter by the template's @page rule, page X of Y in the footer)."""
    return html_to_pdf(render_html(record, config))
