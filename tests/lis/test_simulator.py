"""`sweattest lis simulate`: a simulated LIS sends orders to the listener and receives results, answering
AA, AE or nothing as told, and prints what it received."""

import socket
import threading

from sweattest.cli.main import main
from sweattest.core.config import LabConfig
from sweattest.lis.listener import OrderListener, rejecter
from sweattest.lis.sender import Sender
from sweattest.lis.simulator import SimulatedLis
from sweattest.lis.worklist import receive
from sweattest.outputs.release import sign
from sweattest.record import outbox
from sweattest.record.worklist import open_orders
from tests.golden.build import RUN_ID
from tests.lis.conftest import config_for
from tests.lis.messages import orm


def test_the_simulated_lis_sends_orders_and_prints_the_answers(run_store, tmp_path, capsys):
    store, clock, _ = run_store
    listener = OrderListener(("127.0.0.1", 0), lambda t: receive(store, clock, t, LabConfig()),
                             rejecter("SWEATTEST", "SWEATLAB", clock.utcnow)).start()
    try:
        orders = tmp_path / "orders.hl7"
        orders.write_text("# two orders, one for a test this lab does not do\n" + orm().replace("\r", "\n") + "\n"
                          + orm(control="M2", placer="ACC-1002", test="GLUC").replace("\r", "\n"), encoding="utf-8")
        assert main(["lis", "simulate", "--orders", str(orders), "--to", f"127.0.0.1:{listener.address[1]}"]) == 0
    finally:
        listener.stop()
    out = capsys.readouterr().out
    assert "sent order MSG0001: AA" in out and "sent order M2: AE: test 'GLUC" in out
    assert [o.accession for o in open_orders(store)] == ["ACC-1001"]


def test_the_simulated_lis_receives_results_and_answers_as_told(run_store, capsys):
    store, clock, _ = run_store
    lis = SimulatedLis(0, "none").start()
    try:
        config = config_for(f"127.0.0.1:{lis.address[1]}")
        sign(store, clock, RUN_ID, "rev1", "correct horse", "reviewed", config=config)
        sender = Sender(store, clock, config.lis.send_to, ack_timeout_s=0.3, delays=(1,))
        assert sender.send_next().outcome == "retry"
        lis.answer = "AA"
        clock.advance(1)
        assert sender.send_next().outcome == "delivered"
    finally:
        lis.stop()
    out = capsys.readouterr().out
    [message] = outbox.messages(store)
    assert f"received ORU^R01^ORU_R01 {message.control_id} for order ST-2026-000123 (result status F): " \
           "not answered" in out
    assert out.count(message.control_id) == 2 and "answered AA" in out


def test_the_simulate_command_stops_after_the_results_it_waits_for(run_store, capsys):
    store, clock, _ = run_store
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = []
    thread = threading.Thread(target=lambda: done.append(main(["lis", "simulate", "--listen", str(port),
                                                               "--results", "1"])))
    thread.start()
    config = config_for(f"127.0.0.1:{port}")
    sign(store, clock, RUN_ID, "rev1", "correct horse", "reviewed", config=config)
    sender = Sender(store, clock, config.lis.send_to, ack_timeout_s=5, delays=(0,))
    for _ in range(200):  # until the simulator listens (it is started in the thread above)
        if sender.send_next().outcome == "delivered":
            break
    thread.join(10)
    assert done == [0] and "answered AA" in capsys.readouterr().out
