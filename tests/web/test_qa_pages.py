"""QA pages show the real figures: the Levey-Jennings chart of the controls the bench ran, and QNS rates."""

from __future__ import annotations

import pytest

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.bench.order import parse_order
from sweattest.bench.service import perform_simulated_run
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.core.clock import VirtualClock
from sweattest.record.analytical_qc import ANALYZER
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
    log_in(client, "reviewer")
    page = client.get(f"/qa/qc?analyzer={ANALYZER}&level=normal")
    assert page.status_code == 200 and 'class="chart"' in page.text
    png = client.get(f"/qa/qc.png?analyzer={ANALYZER}&level=normal")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG") and len(png.content) > 5000


def test_qns_rate_table_lists_the_runs(client):
    log_in(client, "reviewer")
    page = client.get("/qa/qns")
    assert page.status_code == 200 and "tech1" in page.text and "No runs yet" not in page.text


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
