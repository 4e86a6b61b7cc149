"""The worklist replaces typing: `sweattest worklist` lists the LIS's open orders, `sweattest run --accession`
runs one, the bench finds it by its label, and a started order can be neither run again nor cancelled."""

import json
from datetime import UTC, datetime

import pytest

from sweattest.bench.demo import DEMO_SCENARIO
from sweattest.cli.main import main
from sweattest.core.clock import VirtualClock
from sweattest.core.config import LabConfig
from sweattest.core.errors import ValidationError
from sweattest.lis.ack import read_ack
from sweattest.lis.worklist import WorklistBook, receive
from sweattest.record.store.store import open_store
from sweattest.record.worklist import find
from sweattest.web.drafts import identify, open_draft
from tests.conftest import as_performer
from tests.lis.messages import orm


@pytest.fixture
def ordered(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    store = open_store(url, VirtualClock(start=datetime(2026, 11, 20, 8, tzinfo=UTC)))
    assert read_ack(receive(store, store.clock, orm(), LabConfig())).code == "AA"
    yield store, url
    store.close()


def test_worklist_lists_the_open_orders(ordered, capsys):
    store, url = ordered
    with as_performer(url) as actor:
        assert main(["worklist", "--db", url, *actor]) == 0
    out = capsys.readouterr().out
    assert "ACC-1001" in out and "Doe, Jane" in out and "Marcus Welby" in out
    with as_performer(url) as actor:
        assert main(["worklist", "--db", url, "--format", "json", *actor]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (row["accession"], row["mrn"], row["filler"], row["state"]) == ("ACC-1001", "MRN555", "F1001", "open")


def test_run_by_accession_takes_the_order_off_the_worklist(ordered, tmp_path, capsys):
    store, url = ordered
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(DEMO_SCENARIO), encoding="utf-8")
    args = ["run", "--accession", "ACC-1001", "--simulate", str(scenario), "--db", url, "--out", str(tmp_path / "o")]
    assert main(args) == 2
    assert "--accession: give --operator, --lot, --lot-expires too" in capsys.readouterr().err
    args += ["--operator", "tech1", "--lot", "PG1234", "--lot-expires", "2099-12-31"]
    with as_performer(url) as performer:
        assert main(args + performer) == 0
    order = find(store, "ACC-1001")
    assert order.state == "started" and order.run_id
    run = store.get_run(order.run_id)
    assert run["accession"] == "ACC-1001" and run["order"]["lis"]["filler_ei"] == ["F1001", "LAB"]
    assert run["order"]["ordering_provider"] == "Marcus Welby"
    capsys.readouterr()
    with as_performer(url) as performer:  # told to a signed-in user only
        assert main(args[:-6] + ["--out", str(tmp_path / "again")] + args[-6:] + performer) == 2
    assert "order ACC-1001 is started (run " in capsys.readouterr().err
    cancel = read_ack(receive(store, store.clock, orm(control="C9", control_code="CA"), LabConfig()))
    assert cancel.code == "AE" and "its test has started" in cancel.text


def test_the_bench_finds_the_order_by_its_label_and_still_checks_the_wristband(ordered):
    store, _ = ordered
    book = WorklistBook(store, LabConfig().lis, fallback={})
    draft = open_draft(book, " ACC-1001 ", "tech1")
    assert draft.order["patient"]["mrn"] == "MRN555" and draft.order["method"] == "macroduct"
    with pytest.raises(ValidationError, match="wristband does not match"):
        identify(draft, "MRN555", "2025-06-02")
    identify(draft, "MRN555", "2025-06-01")
    with pytest.raises(ValidationError, match="no open order"):
        open_draft(book, "ACC-0000", "tech1")


def test_run_by_accession_asks_the_password_before_it_reads_the_order(ordered, tmp_path, capsys):
    """The order is the store's: nothing of it (its patient, its state) is told before the user has signed in."""
    store, url = ordered
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(DEMO_SCENARIO), encoding="utf-8")
    args = ["run", "--accession", "ACC-1001", "--simulate", str(scenario), "--db", url, "--out", str(tmp_path / "o"),
            "--operator", "tech1", "--lot", "PG1234", "--lot-expires", "2099-12-31"]
    with as_performer(url, password="not the password") as performer:
        assert main(args + performer) == 1
    err = capsys.readouterr().err
    assert "authentication failed" in err and "Doe" not in err and "MRN555" not in err and "ACC-1001" not in err, err
    assert find(store, "ACC-1001").state == "open" and not (tmp_path / "o").exists()
    with as_performer(url):  # the operator of --operator signs in when --as is left out
        assert main(args + ["--password-stdin"]) == 0
    assert find(store, "ACC-1001").state == "started"
