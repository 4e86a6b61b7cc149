"""The validation report of ``sweattest validate`` as PDF: the outcome, every IQ and OQ check, each clinical rule
traced to its guideline and to the case that ran, and the signature (template ``validation.html``)."""

from __future__ import annotations

from pathlib import Path

import jinja2

from sweattest.core.config import LabConfig
from sweattest.core.errors import ConfigError, ValidationError
from sweattest.outputs.files import check_folder
from sweattest.outputs.report import environment
from sweattest.outputs.report.pdf import html_to_pdf
from sweattest.qa.validation import Validation
from sweattest.qa.validation_cases import RULE_TESTS

TEMPLATE = "validation.html"


def check_out(out: Path) -> Path:
    """``out`` as the report: a name ending in .pdf in a folder that exists and can be written to."""
    out = Path(out)
    if out.suffix.lower() != ".pdf" or out.is_dir():
        raise ValidationError(f"--out {out}: give a file name ending in .pdf")
    check_folder(out.parent, "--out", create=False)
    return out


def render_html(validation: Validation, config: LabConfig, signer, store) -> str:
    try:
        template = environment(config.template_folder).get_template(TEMPLATE)
    except jinja2.TemplateError as exc:
        raise ConfigError(f"validation template {TEMPLATE}: {exc}; fix the lab's template folder "
                          f"{config.template_folder}") from None
    return template.render(v=validation, lab=config.lab, signer=signer, failures=validation.failures(),
                           at_local=validation.at.astimezone(config.zone).strftime("%Y-%m-%d %H:%M %Z"),
                           at_utc=validation.at.strftime("%Y-%m-%d %H:%M:%SZ"), inputs=_inputs, rule_tests=RULE_TESTS,
                           store_name=store.shown_url)


def render_report(validation: Validation, config: LabConfig, signer, store) -> bytes:
    return html_to_pdf(render_html(validation, config, signer, store))


def _inputs(inputs: dict) -> str:
    return "; ".join(f"{k} {_value(v)}" for k, v in inputs.items())


def _value(value) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return "none" if value is None else str(value)
