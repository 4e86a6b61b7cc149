"""Results received by hl7apy's MLLP server (a second peer nobody here wrote): it parses each ORU^R01 at its
STRICT level and answers with an ACK it builds itself."""

import threading

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.mllp import AbstractHandler, MLLPServer
from hl7apy.parser import parse_message

from sweattest.lis.sender import Sender
from sweattest.outputs.release import sign
from sweattest.record import outbox
from tests.golden.build import RUN_ID
from tests.lis.conftest import config_for

RECEIVED: list = []


class ResultHandler(AbstractHandler):
    def reply(self):
        message = parse_message(self.incoming_message, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
        message.validate()
        RECEIVED.append(message)
        ack = Message("ACK", version="2.5.1", validation_level=VALIDATION_LEVEL.STRICT)
        ack.msh.msh_3 = "HAPYLIS"
        ack.msh.msh_9 = "ACK^R01^ACK"
        ack.msh.msh_10 = "HAPY0001"
        ack.msh.msh_11 = "P"
        ack.msa.msa_1 = "AA"
        ack.msa.msa_2 = message.msh.msh_10.value
        return ack.to_mllp()


def test_hl7apy_mllp_server_accepts_the_result(run_store):
    server = MLLPServer("127.0.0.1", 0, {"ORU^R01^ORU_R01": (ResultHandler,), "ORU^R01": (ResultHandler,)})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        store, clock, _ = run_store
        config = config_for(f"127.0.0.1:{server.server_address[1]}")
        sign(store, clock, RUN_ID, "rev1", "correct horse", "reviewed", config=config)
        sender = Sender(store, clock, config.lis.send_to, ack_timeout_s=30)  # hl7apy loads its tables at first use
        assert sender.send_next().outcome == "delivered"
    finally:
        server.shutdown()
        server.server_close()
    [message] = outbox.messages(store)
    [parsed] = RECEIVED
    assert parsed.msh.msh_10.value == message.control_id
    assert len(parsed.oru_r01_patient_result.oru_r01_order_observation.children) > 0
