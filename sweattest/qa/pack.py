"""`sweattest qa pack`: the accreditation evidence pack of a period, as one PDF (a cover page, then one part per
section) and its tables as CSV files in one zip (``<pack>-tables.zip``, one ``<section key>.csv`` each).

Sections are ``PackSection`` objects (``sweattest.qa.pack_section``) built by ``SECTION_BUILDERS``, in print
order. Nothing is written until every section is built and the PDF rendered; each file is written atomically.
"""

from __future__ import annotations

import base64
import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import jinja2

from sweattest import __version__
from sweattest.core.config import LabConfig
from sweattest.core.errors import ConfigError, ValidationError
from sweattest.outputs.files import check_folder, write_atomic
from sweattest.outputs.report import environment
from sweattest.outputs.report.pdf import html_to_pdf
from sweattest.qa.competency import pack_section as competency_section
from sweattest.qa.equipment import equipment_section
from sweattest.qa.equipment import pack_section as calibrations_section
from sweattest.qa.pack_section import PackSection, SectionBuilder
from sweattest.qa.pack_sections import amendments_section, audit_section, qc_section, qns_section, turnaround_section
from sweattest.qa.pt import pack_section as pt_section
from sweattest.qa.qc_lots import pack_section as qc_lots_section
from sweattest.qa.qc_record import days_section as qc_days_section
from sweattest.qa.qc_record import runs_section as qc_runs_section
from sweattest.qa.qc_record import stats_section as qc_stats_section
from sweattest.qa.skin_reactions import pack_section as skin_section
from sweattest.record.audit import head
from sweattest.record.run_filter import RunFilter

#: The pack's sections, in print order.
SECTION_BUILDERS: list[SectionBuilder] = [
    qns_section,
    qc_section,
    qc_runs_section,
    qc_days_section,
    qc_stats_section,
    qc_lots_section,
    calibrations_section,
    equipment_section,
    pt_section,
    competency_section,
    skin_section,
    turnaround_section,
    amendments_section,
    audit_section,
]

TEMPLATE = "qa_pack.html"
#: Printed when a section has no rows.
EMPTY = "no records in this period"


@dataclass(frozen=True)
class Pack:
    date_from: date
    date_to: date
    generated_at: datetime
    generated_by: str
    lab: str
    version: str
    audit_head: tuple[int, str]
    sections: tuple[PackSection, ...]
    #: the QA user who signs the pack as approved ("Full Name (username)"); None: an unsigned draft
    approved_by: str | None = None


def pack_filter(date_from: date | None, date_to: date | None) -> RunFilter:
    """The pack's period as a run filter (patient runs); both dates are required."""
    if date_from is None or date_to is None:
        raise ValidationError("give the pack's period: --from YYYY-MM-DD and --to YYYY-MM-DD")
    if date_from > date_to:
        raise ValidationError(f"--from {date_from} is after --to {date_to}: give the first day first")
    return RunFilter(date_from=date_from, date_to=date_to)


def default_name(date_from: date, date_to: date) -> Path:
    return Path(f"qa-pack-{date_from.isoformat()}-to-{date_to.isoformat()}.pdf")


def tables_path(pdf: Path) -> Path:
    """``pack.pdf`` -> ``pack-tables.zip`` beside it."""
    return pdf.with_name(f"{pdf.stem}-tables.zip")


def check_out(out: Path) -> Path:
    """``out`` as the pack's PDF: a name ending in .pdf in a folder that exists and can be written to."""
    out = Path(out)
    if out.suffix.lower() != ".pdf" or out.is_dir():
        raise ValidationError(f"--out {out}: give a file name ending in .pdf (the tables go beside it, "
                              f"in {tables_path(out.with_suffix('.pdf')).name})")
    check_folder(out.parent, "--out", create=False)
    return out


def build_pack(store, where: RunFilter, *, generated_at: datetime, generated_by: str, config: LabConfig,
               progress: Callable[[int, int, str], None] | None = None,
               builders: list[SectionBuilder] | None = None, approved_by: str | None = None) -> Pack:
    """Every section of the pack for the period of ``where``; ``progress(done, total, title)`` after each."""
    builders = SECTION_BUILDERS if builders is None else builders
    sections = []
    for number, builder in enumerate(builders, start=1):
        section = builder(store, where)
        sections.append(section)
        if progress is not None:
            progress(number, len(builders), section.title)
    return Pack(where.date_from, where.date_to, generated_at, generated_by, config.lab.name, __version__,
                head(store), tuple(sections), approved_by)


def render_html(pack: Pack, config: LabConfig) -> str:
    try:
        template = environment(config.template_folder).get_template(TEMPLATE)
    except jinja2.TemplateError as exc:
        raise ConfigError(f"pack template {TEMPLATE}: {exc}; fix the lab's template folder "
                          f"{config.template_folder}") from None
    zone = config.zone
    return template.render(pack=pack, lab=config.lab, empty=EMPTY, png=_data_uri,
                           generated_local=pack.generated_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z"),
                           generated_utc=pack.generated_at.strftime("%Y-%m-%d %H:%M:%SZ"))


def render_pdf(pack: Pack, config: LabConfig) -> bytes:
    return html_to_pdf(render_html(pack, config))


def section_csv(section: PackSection) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(section.columns)
    writer.writerows(section.rows)
    return buffer.getvalue()


def tables_zip(pack: Pack) -> bytes:
    """One CSV per section (header only when it has no rows), and ``pack.csv`` with the cover's facts."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        cover = PackSection("pack", "pack", ("item", "value"), (
            ("lab", pack.lab), ("from", pack.date_from.isoformat()), ("to", pack.date_to.isoformat()),
            ("generated_at_utc", pack.generated_at.strftime("%Y-%m-%dT%H:%M:%SZ")),
            ("generated_by", pack.generated_by), ("approved_by", pack.approved_by or "not signed (draft)"),
            ("version", pack.version),
            ("audit_head_entry", pack.audit_head[0]), ("audit_head_sha256", pack.audit_head[1])))
        for section in (cover, *pack.sections):
            info = zipfile.ZipInfo(f"{section.key}.csv", date_time=pack.generated_at.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, section_csv(section))
    return buffer.getvalue()


def write_pack(pack: Pack, pdf: bytes, out: Path) -> tuple[Path, Path]:
    """The PDF at ``out`` and the tables beside it, each written atomically (the tables first)."""
    tables = write_atomic(tables_path(out), tables_zip(pack))
    try:
        write_atomic(out, pdf)
    except BaseException:
        tables.unlink(missing_ok=True)
        raise
    return out, tables


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
