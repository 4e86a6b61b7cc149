"""The report as an inspector reads it (CAP laboratory general checklist; ISO 15189 §7.4): who, what, when,
on which instrument, with which QC, under which reporting limits; nothing of the device wire in the flags;
the status and sign-off never split; one version; no release time before release."""

import io
import re
from dataclasses import replace

import pypdf

from sweattest.core.config import Lab, LabConfig
from sweattest.outputs.report import render_html, render_pdf
from tests.lims.records import record_of

NY = LabConfig(lab=replace(Lab(), timezone="America/New_York"))


def section(html: str, element_id: str) -> str:
    return html.split(f'id="{element_id}"', 1)[1].split("</", 1)[0]


def test_patient_and_accession_head_every_pdf_page(demo):
    # a long comment pushes the report onto several pages; every page still names the patient
    record = replace(demo, order=dict(demo.order, comment="\n".join(f"note line {i}" for i in range(60))))
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(record, NY)))
    assert len(reader.pages) >= 2
    for number, page in enumerate(reader.pages, 1):
        text = page.extract_text()
        for needle in ("Doe, Jane", "MRN MRN0012345", "DOB 2025-06-01", "Accession ST-2026-000123"):
            assert needle in text, (number, needle)


def test_age_at_collection_and_indication(demo):
    html = render_html(demo, NY)
    assert section(html, "age").startswith(">9 months 7 days")  # born 2025-06-01, collected 2026-03-08
    assert "not given on the order" in section(html, "indication")
    given = replace(demo, order=dict(demo.order, indication="Positive newborn screen (IRT/DNA)"))
    assert "Positive newborn screen (IRT/DNA)" in section(render_html(given, NY), "indication")
    commented = replace(demo, order=dict(demo.order, comment="meconium ileus"))
    assert "meconium ileus" in section(render_html(commented, NY), "indication")


def test_collection_start_and_end_and_analysis_time_per_site(demo):
    html = render_html(demo, NY)
    assert "2026-03-08 01:05 EST to 01:35; 30.0 min" in html   # left forearm
    assert "2026-03-08 01:10 EST to 01:40; 30.0 min" in html   # right forearm
    assert "<th>Analysed</th>" in html and "2026-03-08 01:36 EST" in html


def test_analyzer_identity_from_the_run_or_not_recorded(demo):
    assert "Analyzer: SWEATTEST line-format analyzer." in render_html(demo, NY)
    assert "Analyzer: not recorded." in render_html(record_of({"left_forearm": (40, 45)}), NY)


def test_qc_lots_and_status(demo):
    qc = section(render_html(demo, NY), "qc")
    assert "QC in control" in qc and "control lots normal QCN-2611, abnormal QCA-2611" in qc


def test_reporting_limits_and_rounding_are_stated(demo):
    assert section(render_html(demo, NY), "limits") == (
        ">Chloride reported in whole mmol/L, rounded half up; below 10 mmol/L reported as &lt;10; above 160 mmol/L "
        "not reported (implausible; repeat the test) (CLSI C34).")
    # pads: the measuring range applies to the eluate, which is never reported as "<10"
    pads = section(render_html(record_of({"left_forearm": (100, 30)}, "gibson_cooke"), NY), "limits")
    assert "an eluate below 10 mmol/L is not reportable" in pads


def test_weights_keep_the_balance_readability():
    html = render_html(record_of({"left_forearm": (100, 30)}, "gibson_cooke"), NY)
    assert "pre 1000.00 mg<br>post 1100.00 mg" in html and "100.00 mg" in html
    assert "Balance: not recorded; weights kept and shown at its readability of 0.01 mg" in section(html, "instruments")


def test_device_commands_stay_out_of_the_clinical_flags():
    reason = "instrument check failed: inducer: no reply to 'OUTP1?' after SOUR1:CURR 0"
    html = render_html(record_of({"left_forearm": ("abort", reason), "right_forearm": (40, 45)}), NY)
    flags = html.split('id="flags"')[1].split("</ul>")[0]
    assert "Left forearm: site aborted — inducer fault (device detail in the audit trail)" in flags
    assert "OUTP" not in html and "SOUR1" not in html
    # a clinical reason is printed as given
    plain = render_html(record_of({"left_forearm": "abort", "right_forearm": (40, 45)}), NY)
    assert "Left forearm: site aborted — open circuit" in plain


def test_status_box_and_signoff_are_kept_whole(demo):
    html = render_html(demo, NY)
    style = html.split("<style>")[1].split("</style>")[0]
    rule = re.search(r"([^{}]*)\{[^}]*break-inside: avoid", style)
    assert rule and {".status", "#signoff", ".keep"} <= {s.strip() for s in rule.group(1).split(",")}
    assert "white-space: nowrap" in style.split(".status {")[1].split("}")[0]
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(demo, NY)))
    pages = [p.extract_text() for p in reader.pages]
    holding = [i for i, text in enumerate(pages) if "Quality control and sign-off" in text]
    assert len(holding) == 1 and "Reviewed by" in pages[holding[0]]   # heading and table on one page
    assert "PRELIMINARY REPORT" in pages[0]                             # the status box on one line


def test_one_version_number(demo):
    html = render_html(demo, NY)
    assert len(re.findall(r"[Vv]ersion", html.split("</style>")[1])) == 1 and "Version 1" in html


def test_preliminary_report_shows_no_release_time(demo):
    html = render_html(demo, NY)
    assert "not released (preliminary)" in section(html, "released")
    final = record_of({"left_forearm": (40, 45)}, final=True)
    assert final.report.status == "final"
    assert section(render_html(final, NY), "released") == ">2026-11-20 05:35 EST"


def test_weight_gestational_age_and_modulator_are_printed_when_the_order_has_them():
    from tests.lims.records import record_of

    order = {"cftr_modulator": "elexacaftor/tezacaftor/ivacaftor", "modulator_start": "2026-01-15"}
    record = record_of({"left_forearm": (22, 35), "right_forearm": (22, 36)}, dob="2026-05-21", order=order)
    # as the order keeps them
    record = replace(record, order=record.order | {"patient": record.patient | {"weight": "6.1 kg",
                                                                                "gestational_age_at_birth": "37 week"}})
    html = render_html(record, NY)
    assert section(html, "weight").startswith(">6.1 kg")
    assert section(html, "gestational-age").startswith(">37 weeks")
    assert section(html, "modulator-status").startswith(">elexacaftor/tezacaftor/ivacaftor since 2026-01-15: "
                                                         "monitoring value, no diagnostic category")
    assert section(html, "interpretation").startswith(">Monitoring value: the patient is on a CFTR modulator")
    assert section(html, "age").startswith(">5 months 30 days")  # born 21 May, collected 20 November
    plain = render_html(record_of({"left_forearm": (22, 35)}), NY)
    assert 'id="weight"' not in plain and 'id="modulator-status"' not in plain
