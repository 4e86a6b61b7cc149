"""LIS interface throughput on SQLite: orders acknowledged per second through the MLLP listener (one
connection, one order at a time, as a LIS sends them), and results delivered per second by the outbox
sender to a simulated LIS answering AA (one connection per message, waiting for each acknowledgement).
Prints the figures; the last line is one JSON object.

    python benchmarks/lis_mllp.py [--orders 300] [--results 300] [--quick]
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sweattest.core.clock import RealClock  # noqa: E402
from sweattest.core.config import LabConfig  # noqa: E402
from sweattest.core.protocol import load_protocol  # noqa: E402
from sweattest.lis.listener import OrderListener, rejecter  # noqa: E402
from sweattest.lis.mllp import FrameReader, frame  # noqa: E402
from sweattest.lis.sender import Sender  # noqa: E402
from sweattest.lis.simulator import SimulatedLis  # noqa: E402
from sweattest.lis.worklist import receive  # noqa: E402
from sweattest.record import outbox  # noqa: E402
from sweattest.record.store.store import open_store  # noqa: E402
from sweattest.record.worklist import open_orders  # noqa: E402
from tests.lis.messages import orm  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--results", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that the benchmark runs")
    args = parser.parse_args()
    if args.quick:
        args.orders = 20
        args.results = 20
    with tempfile.TemporaryDirectory() as tmp:
        clock = RealClock()
        store = open_store(f"sqlite:///{Path(tmp) / 'runs.db'}", clock)
        config = LabConfig()
        listener = OrderListener(("127.0.0.1", 0), lambda t: receive(store, clock, t, config),
                                 rejecter("SWEATTEST", "SWEATLAB", clock.utcnow)).start()
        started = time.perf_counter()
        with socket.create_connection(listener.address) as sock:
            reader = FrameReader(sock)
            for i in range(args.orders):
                sock.sendall(frame(orm(control=f"B{i:06d}", placer=f"ACC-{i:06d}")))
                reader.read()
        order_s = time.perf_counter() - started
        listener.stop()
        assert len(open_orders(store)) == args.orders

        lis = SimulatedLis(0, "AA", say=lambda _: None).start()
        protocol = load_protocol("macroduct")
        body = "MSH|^~\\&|SWEATTEST|SWEATLAB|LIMS|HOSPITAL|20261120090000+0000||ORU^R01^ORU_R01|{}|P|2.5.1\r"
        for i in range(args.results):
            run_id = f"R{i:06d}"
            store.create_run(run_id, accession=f"ACC-{i:06d}", method="macroduct", operator="tech1",
                             patient_mrn="MRN1", created_at=clock.utcnow(), order={"patient": {}}, protocol=protocol)
            with store.writing() as conn:
                outbox.queue(conn, run_id=run_id, version=1, fmt="hl7", channel=outbox.MLLP,
                             destination=outbox.LIS, name=f"{run_id}.hl7",
                             control_id=f"C{i:019d}", body=body.format(f"C{i:019d}"), at=clock.utcnow(), who="b")
        sender = Sender(store, clock, lis.address, ack_timeout_s=5)
        started = time.perf_counter()
        while sender.send_next().outcome == "delivered":
            pass
        result_s = time.perf_counter() - started
        lis.stop()
        assert len(outbox.messages(store, state="delivered")) == args.results == len(lis.received)
        store.close()
    figures = {"orders": args.orders, "orders_per_s": round(args.orders / order_s, 1),
               "results": args.results, "results_per_s": round(args.results / result_s, 1)}
    print(f"orders acknowledged: {figures['orders_per_s']}/s; results delivered: {figures['results_per_s']}/s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
