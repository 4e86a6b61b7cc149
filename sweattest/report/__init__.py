"""Result reports rendered from jinja2 templates (autoescape always on)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from sweattest.resources import data_dir


def environment(override: Path | None = None) -> jinja2.Environment:
    """Templates from the lab's own folder first (if given), then the shipped ``templates/``."""
    folders = [str(override)] if override else []
    folders.append(str(data_dir("templates")))
    return jinja2.Environment(loader=jinja2.FileSystemLoader(folders), autoescape=True,
                              undefined=jinja2.StrictUndefined)


def render_html(record: dict[str, Any], status: str = "preliminary", override: Path | None = None) -> str:
    return environment(override).get_template("report.html").render(status=status, **record)
