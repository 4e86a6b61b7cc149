"""HTML to PDF with WeasyPrint (CSS paged media: @page margins, page X of Y counters)."""

from __future__ import annotations

from sweattest.core.errors import ConfigError
from sweattest.core.resources import data_dir


def html_to_pdf(html: str) -> bytes:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: pango/cairo system libraries missing
        raise ConfigError(f"PDF reports need WeasyPrint and its system libraries (pango): {exc}; "
                          "install them (see .ci/setup-weasyprint) or ask for HTML only") from None
    return weasyprint.HTML(string=html, base_url=str(data_dir("templates"))).write_pdf()
