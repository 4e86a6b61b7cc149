"""What [lis] turns on runs together: the MLLP listener, the order folder and the sender (as in
`sweattest lis serve` and `sweattest serve`); nothing configured is a clear error."""

import time
from dataclasses import replace

from sweattest.cli.main import main
from sweattest.core.config import LabConfig
from sweattest.core.lis_config import LisConfig
from sweattest.lis.ack import read_ack
from sweattest.lis.mllp import exchange
from sweattest.lis.service import LisService
from sweattest.record.worklist import open_orders
from tests.lis.messages import orm


def test_listener_and_order_folder_run_together(run_store, tmp_path):
    store, clock, _ = run_store
    folder = tmp_path / "orders"
    folder.mkdir()
    (folder / "b.hl7").write_text(orm(control="F1", placer="ACC-2002"), encoding="utf-8")
    config = replace(LabConfig(), lis=LisConfig(listen=("127.0.0.1", 0), order_folder=folder))
    service = LisService(store, clock, config)
    started = service.start()
    try:
        assert started[1] == f"orders from the folder {folder}"
        answer = read_ack(exchange(service.listener.address, orm(), 5))
        assert answer.code == "AA"
        deadline = time.monotonic() + 10  # the folder's first pass runs as the service starts
        while not (folder / "done" / "b.hl7").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        service.stop()
    assert sorted(o.accession for o in open_orders(store)) == ["ACC-1001", "ACC-2002"]


def test_lis_serve_without_a_lis_section_says_what_to_set(tmp_path, capsys):
    config = tmp_path / "lab.toml"
    config.write_text("[lab]\ntimezone = 'UTC'\n", encoding="utf-8")
    assert main(["lis", "serve", "--config", str(config), "--db", str(tmp_path / "r.db")]) == 2
    assert "[lis] turns nothing on; set listen, order_folder or send_to" in capsys.readouterr().err
