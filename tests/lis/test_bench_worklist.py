"""At the bench: scanning the accession of an LIS order finds it on the worklist, the wristband is still
checked against it, and starting the test takes it off the worklist."""

from datetime import timedelta

from sweattest.core.config import LabConfig
from sweattest.core.rules.eligibility import Limits
from sweattest.core.units import Q_
from sweattest.lis.ack import read_ack
from sweattest.lis.worklist import WorklistBook, receive
from sweattest.record.worklist import find
from sweattest.web.training import TRAINING_ORDERS
from tests.lis.messages import orm
from tests.web.conftest import client, csrf_of, log_in, web_app  # noqa: F401  (fixtures)
from tests.web.test_bench_flow import GOOD, step


def test_a_scanned_lis_order_is_found_checked_and_started(client, web_app):  # noqa: F811
    ctx = web_app.state.web
    ctx.order_book = WorklistBook(ctx.store, LabConfig().lis, TRAINING_ORDERS)
    assert read_ack(receive(ctx.store, ctx.clock, orm(), LabConfig())).code == "AA"
    log_in(client, "tech")
    token = csrf_of(client)
    r = client.post("/bench/new", data={"csrf": token, "accession": "ACC-1001"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    base = r.headers["location"].rsplit("/", 1)[0]
    r = step(client, token, base, "identify", {"mrn": "MRN555", "dob": "2025-06-02"})
    assert r.status_code == 303  # a wristband that does not match cancels the test: back to the accession
    assert "does not match the order" in client.get(r.headers["location"]).text
    r = client.post("/bench/new", data={"csrf": token, "accession": "ACC-1001"}, follow_redirects=False)
    base = r.headers["location"].rsplit("/", 1)[0]
    good = GOOD | {"identify": {"mrn": "MRN555", "dob": "2025-06-01"}}
    for name, data in good.items():
        r = step(client, token, base, name, data)
        assert r.status_code == 303, (name, r.text)
    order = find(ctx.store, "ACC-1001")
    assert order.state == "started" and r.headers["location"].endswith(order.run_id)
    assert ctx.store.get_run(order.run_id)["order"]["lis"]["placer_ei"] == ["ACC-1001", "HIS"]
    r = client.post("/bench/new", data={"csrf": token, "accession": "ACC-1001"})
    assert "no open order with this number" in r.text  # started: no longer an open order


def test_the_orders_comment_is_shown_to_the_tech_on_every_step(client, web_app):  # noqa: F811
    ctx = web_app.state.web
    ctx.order_book = WorklistBook(ctx.store, LabConfig().lis, TRAINING_ORDERS)
    commented = orm() + "NTE|1|L|Patient on a CFTR modulator\\.br\\since <2025-09> & anxious\r"
    assert read_ack(receive(ctx.store, ctx.clock, commented, LabConfig())).code == "AA"
    log_in(client, "tech")
    token = csrf_of(client)
    r = client.post("/bench/new", data={"csrf": token, "accession": "ACC-1001"})
    assert "<strong>Order comment:</strong> Patient on a CFTR modulator\nsince &lt;2025-09&gt; &amp; anxious" in r.text
    base = r.url.path.rsplit("/", 1)[0]
    r = step(client, token, base, "identify", {"mrn": "MRN555", "dob": "2025-06-01"})
    r = client.get(r.headers["location"])  # the next step
    assert "Order comment:" in r.text and "since &lt;2025-09&gt;" in r.text


def test_an_lis_order_that_cannot_be_tested_at_the_bench_is_told_to_the_lis(client, web_app):  # noqa: F811
    from sweattest.record import outbox

    ctx = web_app.state.web
    ctx.order_book = WorklistBook(ctx.store, LabConfig().lis, TRAINING_ORDERS)
    born = ctx.clock.utcnow() - timedelta(days=1)
    newborn = orm(placer="ACC-NEWBORN").replace("|20250601|", f"|{born:%Y%m%d}|")
    # an interface that takes orders for newborns (no minimum age at intake); the bench's own limit still holds
    intake = LabConfig(eligibility=Limits(min_age=Q_(1, "min")))
    assert read_ack(receive(ctx.store, ctx.clock, newborn, intake)).code == "AA"
    log_in(client, "tech")
    token = csrf_of(client)
    r = client.post("/bench/new", data={"csrf": token, "accession": "ACC-NEWBORN"}, follow_redirects=False)
    base = r.headers["location"].rsplit("/", 1)[0]
    assert step(client, token, base, "identify", {"mrn": "MRN555", "dob": f"{born:%Y-%m-%d}"}).status_code == 303
    r = step(client, token, base, "eligibility", {})
    page = client.get(r.headers["location"]).text
    assert "the test cannot be done today" in page
    assert "The LIS order ACC-NEWBORN is closed and the LIS is told why (order status message 1)" in page
    assert find(ctx.store, "ACC-NEWBORN").state == "cancelled"
    [message] = outbox.messages(ctx.store)
    assert (message.format, message.accession, message.run_id) == ("oml", "ACC-NEWBORN", None)
    assert "under the minimum age" in find(ctx.store, "ACC-NEWBORN").closed_reason["note"]
