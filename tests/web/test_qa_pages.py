"""QA pages show the real figures: the Levey-Jennings chart of the controls the bench ran, and QNS rates."""

from __future__ import annotations

import pytest

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.bench.order import parse_order
from sweattest.bench.service import perform_simulated_run
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.core.clock import VirtualClock
from sweattest.record.qc_lots import DEFAULT_ANALYZER as ANALYZER
from tests.web.conftest import log_in, make_web_app


@pytest.fixture(scope="module")
def web_app(tmp_path_factory):
    """One app and one finished run (with its bench controls) for the whole module: the tests only read them."""
    folder = tmp_path_factory.mktemp("qa")
    for app in make_web_app(folder):
        order = parse_order(DEMO_ORDER)
        perform_simulated_run(order, parse_scenario(DEMO_SCENARIO, order.sites), store=app.state.web.store,
                              clock=VirtualClock(), out_dir=folder / "out")
        yield app


def test_levey_jennings_chart_of_the_controls_run_at_the_bench(client):
    """The module's run is simulated: its controls are in the simulated series, never in the patient chart."""
    log_in(client, "reviewer")
    page = client.get(f"/qa/qc?analyzer={ANALYZER}&level=normal")
    assert page.status_code == 200 and "No QC results are recorded yet in the patient series" in page.text
    page = client.get(f"/qa/qc?analyzer={ANALYZER}&level=normal&purpose=simulated")
    assert page.status_code == 200 and 'class="chart"' in page.text and "The simulated series" in page.text
    png = client.get(f"/qa/qc.png?analyzer={ANALYZER}&level=normal&purpose=simulated")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG") and len(png.content) > 5000


def test_qns_rate_table_lists_the_runs_asked_for_by_purpose(client):
    """The module's run is simulated: the QNS page counts patient runs only, and the simulated run when asked."""
    log_in(client, "reviewer")
    page = client.get("/qa/qns")
    assert page.status_code == 200 and "QNS rate: patient runs" in page.text and "tech1" not in page.text
    assert "No tests of patient runs with a measured sample yet" in page.text
    page = client.get("/qa/qns?purpose=simulated")
    assert page.status_code == 200 and "QNS rate: simulated runs" in page.text and "tech1" in page.text
    assert "tech1" in client.get("/qa/qns?purpose=all").text


def test_turnaround_and_runs_pages_count_patient_runs_unless_asked(client):
    log_in(client, "reviewer")
    page = client.get("/qa/turnaround")
    assert "Turnaround time: patient runs" in page.text and "No patient runs yet" in page.text
    assert 'id="turnaround"' in client.get("/qa/turnaround?purpose=simulated").text
    page = client.get("/qa/runs")
    assert "Runs: patient runs" in page.text and "ST-2026-000123" not in page.text.split('id="runs-title"')[1]
    page = client.get("/qa/runs?purpose=all")
    assert "Runs: all runs" in page.text and "ST-2026-000123" in page.text.split('id="runs-title"')[1]
    assert "simulated" in page.text.split('id="runs"')[1]  # the row's flag


def test_an_unknown_purpose_is_refused_in_one_line(client):
    log_in(client, "reviewer")
    page = client.get("/qa/qns?purpose=bogus")
    assert page.status_code == 200 and 'role="alert"' in page.text and "bogus" in page.text
    assert "use one of patient, simulated, training, proficiency or all" in page.text


def test_lis_page_shows_the_results_the_lis_refused(client, web_app):
    from sweattest.record import outbox

    store = web_app.state.web.store
    [run] = store.list_runs()
    now = web_app.state.web.clock.utcnow()
    with store.writing() as conn:
        message_id = outbox.queue(conn, run_id=run["run_id"], version=1, fmt="hl7", channel=outbox.MLLP,
                                  destination="lis.example.org:2576", name="x.hl7", control_id="C" * 20,
                                  body="MSH|...", at=now, who="rev1")
    log_in(client, "reviewer")
    assert "Every result queued for the LIS was accepted" in client.get("/qa/lis").text
    outbox.failed(store, message_id, now, "AR from the LIS: unknown patient")
    page = client.get("/qa/lis")
    assert page.status_code == 200 and "AR from the LIS: unknown patient" in page.text and "C" * 20 in page.text
    assert "failed: needs attention" in page.text
    desk = client.get("/qa/runs").text  # the QA desk raises it above its lists
    assert 'id="lis-alerts"' in desk and "LIS messages: failed, needs attention" in desk
    assert f"sweattest lis resend {message_id}" in desk and "AR from the LIS: unknown patient" in desk


def test_evidence_pack_page_downloads_the_pdf_and_the_tables(client, web_app):
    import io
    import zipfile

    from tests.store.backends import START, make_run

    make_run(web_app.state.web.store, VirtualClock(start=START), "PACK1")  # a patient run (the others are simulated)
    log_in(client, "reviewer")
    page = client.get("/qa/pack")
    assert page.status_code == 200 and 'formaction="/qa/pack.zip"' in page.text
    today = VirtualClock().utcnow().date().isoformat()
    period = f"date_from=2000-01-01&date_to={today}"
    tables = client.get(f"/qa/pack.zip?{period}")
    assert tables.status_code == 200 and tables.headers["content-type"] == "application/zip"
    assert f'qa-pack-2000-01-01-to-{today}-tables.zip' in tables.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(tables.content)) as zf:
        qns = zf.read("qns_rate.csv").decode("utf-8").splitlines()
    assert qns[0].startswith("scope,who,age_group,tests") and qns[1].startswith("lab,all operators,")
    assert qns[2].startswith("operator,tech1,") and len(qns) == 3
    pdf = client.get(f"/qa/pack.pdf?{period}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    import sqlalchemy as sa

    from sweattest.record.store import schema

    with web_app.state.web.store.engine.connect() as conn:  # each download a read of patient data in bulk
        reads = conn.execute(sa.select(schema.audit.c.who, schema.audit.c.new)
                             .where(schema.audit.c.what == "read pack").order_by(schema.audit.c.id)).all()
    assert [who for who, _ in reads] == ["rev1", "rev1"], reads
    assert '"format":"zip"' in reads[0].new and '"format":"pdf"' in reads[1].new and '"station":' in reads[1].new


def test_evidence_pack_page_refuses_a_period_backwards(client):
    log_in(client, "reviewer")
    page = client.get("/qa/pack.pdf?date_from=2026-11-30&date_to=2026-11-01")
    assert page.status_code == 422 and "is after" in page.text and 'value="2026-11-30"' in page.text
    assert client.get("/qa/pack.zip?date_from=2026-11-31&date_to=2026-12-01").status_code == 422


def test_validations_page_lists_the_signed_reports(client, web_app):
    from sweattest.record.validations import record_validation

    store = web_app.state.web.store
    log_in(client, "reviewer")
    assert "No validation recorded yet" in client.get("/qa/validations").text
    record_validation(store, at=web_app.state.web.clock.utcnow(), who="rev1", version="0.1.0", outcome="FAIL",
                      report_sha256="c" * 64, report_name="v.pdf", failed=["rule case ADQ-2"])
    page = client.get("/qa/validations")
    assert page.status_code == 200 and "c" * 64 in page.text and "FAIL (1 failed)" in page.text
    assert "Rita Reviewer (rev1)" in page.text
