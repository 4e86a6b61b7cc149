"""The accredited-lab report: every required element, lab time zone, escaping, lab templates, PDF."""

import io
from dataclasses import replace

import pypdf
import pytest

from sweattest.core.config import Lab, LabConfig
from sweattest.core.errors import ConfigError
from sweattest.outputs.report import render_html, render_pdf
from tests.lims.records import record_of

NY = LabConfig(lab=replace(Lab(), name="Boston Children's Sweat Lab", timezone="America/New_York",
                           clia="22D0123456", director="Dr. Q. Director", address="300 Longwood Avenue, Boston",
                           phone="+1 617 555 0000", accreditation="CAP 7654321"))


def test_report_holds_every_required_element(demo):
    html = render_html(demo, NY)
    for text in [
        "Boston Children&#39;s Sweat Lab", "300 Longwood Avenue", "Tel. +1 617 555 0000", "Dr. Q. Director",
        "CLIA 22D0123456", "CAP 7654321",                      # lab identity, as configured
        "Doe, Jane", "MRN0012345", "2025-06-01", "<td>F</td>",  # two identifiers, DOB, sex
        "ST-2026-000123", "A. Smith MD",                         # accession, ordering provider
        "Left forearm", "Right forearm", "coulometric", "macroduct",  # sites, method
        "1.5 mA for 5.0 min", "charge 7.0 mA·min",               # stimulation per site
        "40.0 µL", "adequate", "2.52",                           # sample, adequacy, sweat rate
        "<strong>45</strong>", "<strong>48</strong>",            # chloride per site
        "≤ 29 mmol/L", "30–59 mmol/L", "≥ 60 mmol/L", "intermediate; CF possible",  # ranges, wording
        "QC in control (two levels)", "Performed by", "tech1", "not yet reviewed",  # QC, sign-off
        "preliminary report", "Version 1",                       # status
    ]:
        assert text in html, text


def test_no_invented_lab_identity_unset_fields_are_left_out(demo):
    # nothing configured: no invented address, phone, director, CAP or CLIA number; the report says so
    html = render_html(demo)
    for invented in ("Example Street", "555 0100", "0000000", "99D9999999", "Laboratory Director, MD", "Tel.",
                     "CLIA", "Laboratory director:"):
        assert invented not in html, invented
    assert 'id="lab-not-configured">Laboratory identity not configured' in html
    only_name = render_html(demo, LabConfig(lab=replace(Lab(), name="Leeds Sweat Lab", clia="22D0123456")))
    assert "Leeds Sweat Lab" in only_name and "CLIA 22D0123456" in only_name and "Tel." not in only_name
    assert "lab-not-configured" not in only_name and "Laboratory director:" not in only_name


def test_a_missing_identity_is_named_by_the_warning():
    from sweattest.core.config import identity_warning

    assert "[lab] name, address, director, clia or accreditation" in identity_warning(LabConfig())
    partial = LabConfig(lab=replace(Lab(), name="Leeds Sweat Lab", accreditation="UKAS 1234"))
    assert "[lab] address, director." in identity_warning(partial)
    assert identity_warning(NY) is None


def test_the_demo_lab_is_marked_fictitious():
    demo = LabConfig().for_demo()
    assert "FICTITIOUS" in demo.lab.name and "fictitious" in demo.lab.address and not demo.lab.clia
    real = LabConfig(lab=replace(Lab(), name="Leeds Sweat Lab"))
    assert real.for_demo() is real  # a lab's own identity is never replaced


def test_times_are_shown_in_the_lab_time_zone(demo):
    # collection started 06:05 UTC on 8 March 2026: 01:05 in Boston, before the change to daylight time
    html = render_html(demo, NY)
    assert "2026-03-08 01:05 EST" in html and "America/New_York" in html
    assert "06:05 UTC" in render_html(demo)


def test_hostile_names_and_comments_are_escaped(hostile):
    html = render_html(hostile)
    assert "<script>" not in html and "<b>Marie</b>" not in html
    assert "O&#39;Brien|Smith^&lt;script&gt;alert(1)&lt;/script&gt;&amp;~\\" in html
    assert "Ann &amp; &lt;b&gt;Marie&lt;/b&gt;" in html
    # the comment keeps its line break as <br>, and nothing else of it becomes markup
    assert "=cmd|&#39; /C calc&#39;!A0 patient anxious<br>\nsecond line: see ~ &amp; \\ | ^" in html


def test_flags_for_qns_and_repeat():
    html = render_html(record_of({"left_forearm": (22, 45), "right_forearm": (9, None)}))
    assert "Right forearm: QNS — quantity not sufficient (sample 9.0 µL)" in html
    assert "Repeat sweat test recommended." in html  # CFF 2017: 45 is intermediate


# (range set, dob, chloride, first range row, interpretation, source)
REPORT_RANGE_CASES = [
    ("cff_2017", "2025-06-20", 35, "≤ 29 mmol/L", "Sweat chloride 30-59 mmol/L: intermediate",
     "CFF 2017: all ages"),
    ("clsi_c34_a3", "2025-06-20", 35, "≤ 39 mmol/L", "Sweat chloride &lt;= 39 mmol/L (age &gt; 6 months): normal",
     "CLSI C34-A3: 17 months old, 35 mmol/L: the text matches the table printed"),
    ("uk_2014", "2025-06-20", 60, "≤ 39 mmol/L", "Sweat chloride 40-60 mmol/L (6 months or over): intermediate",
     "ACB 2014 UK guideline: 60 is intermediate"),
]


@pytest.mark.parametrize(("ranges", "dob", "chloride", "row", "wording", "source"), REPORT_RANGE_CASES)
def test_interpretation_and_range_table_come_from_one_range_set(ranges, dob, chloride, row, wording, source):
    html = render_html(record_of({"left_forearm": (22, chloride)}, dob=dob, ranges=ranges))
    interp = html.split('id="interpretation">')[1].split("</p>")[0]
    assert interp.startswith(wording), source
    table = html.split('id="ranges">')[1].split("</table>")[0]
    assert f"<td>{row}</td>" in table.split("</tr>")[1], source


def test_eluate_below_range_prints_not_reportable_never_a_number():
    # CLSI C34: the analyzer's range applies to the eluate; 3.0 mmol/L is never multiplied up to 33
    html = render_html(record_of({"left_forearm": (100, 3.0)}, "gibson_cooke"))
    results = html.split('id="results">')[1].split("</table>")[0]
    assert "&lt;10 mmol/L (eluate), not reportable" in results and ">33<" not in results
    assert "No reportable result: repeat the test." in html


def test_lab_template_folder_overrides_blocks_and_stays_escaped(demo, tmp_path):
    (tmp_path / "report.html").write_text(
        '{% extends "shipped/report.html" %}{% block header %}<h1>OUR LAB {{ order.patient.family }}'
        '</h1>{% endblock %}', encoding="utf-8")
    hostile = replace(demo, order={**demo.order, "patient": {**demo.order["patient"], "family": "<i>x"}})
    html = render_html(hostile, LabConfig(template_folder=tmp_path))
    assert "<h1>OUR LAB &lt;i&gt;x</h1>" in html and "Results per site" in html


def test_broken_lab_template_is_a_clear_error(demo, tmp_path):
    (tmp_path / "report.html").write_text("{% if %}", encoding="utf-8")
    with pytest.raises(ConfigError, match="report template report.html"):
        render_html(demo, LabConfig(template_folder=tmp_path))


def test_pdf_has_the_report_text_and_page_x_of_y(demo):
    pdf = render_pdf(demo, NY)
    assert pdf.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = "\n".join(p.extract_text() for p in reader.pages)
    n = len(reader.pages)
    for page in range(1, n + 1):
        assert f"Page {page} of {n}" in text
    for needle in ("Boston Children's Sweat Lab", "Doe, Jane", "MRN0012345", "ST-2026-000123", "45", "48",
                   "PRELIMINARY", "intermediate; CF possible", "01:05 EST"):
        assert needle in text, needle
