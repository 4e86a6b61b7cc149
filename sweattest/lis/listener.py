"""The MLLP listener for orders: each framed message is handed to ``receive`` and its acknowledgement sent
back on the same connection. A frame that is broken (no start byte, too large, cut off) is answered AR
(naming the message's control ID when its MSH can still be read) and nothing is stored."""

from __future__ import annotations

import logging
import socketserver
import threading
from collections.abc import Callable
from datetime import datetime

from sweattest.lis.ack import APPLICATION_INTERNAL_ERROR, DATA_TYPE_ERROR, SEGMENT_SEQUENCE, Problem, build_ack
from sweattest.lis.mllp import FrameError, FrameReader, NotText, decode, frame

log = logging.getLogger(__name__)
#: A client that sends nothing for this long is disconnected (seconds).
IDLE_TIMEOUT = 300.0


class OrderListener:
    """``receive(text) -> ack text`` (None: answer nothing); ``reject(text, problem) -> ack text`` answers what
    cannot be read."""

    def __init__(self, address: tuple[str, int], receive: Callable[[str], str | None],
                 reject: Callable[[str, Problem], str]):
        self.receive, self.reject = receive, reject
        listener = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                listener._serve_connection(self.request)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(address, Handler)
        self.address = self.server.server_address[:2]
        self.thread: threading.Thread | None = None

    def _serve_connection(self, sock) -> None:
        sock.settimeout(IDLE_TIMEOUT)
        reader = FrameReader(sock)
        while True:
            try:
                data = reader.read()
            except FrameError as exc:
                head = exc.head.decode("utf-8", errors="replace")
                sock.sendall(frame(self.reject(head, Problem(SEGMENT_SEQUENCE, str(exc)))))
                continue
            except OSError:
                return
            if data is None:
                return
            try:
                text = decode(data)
            except NotText as exc:
                sock.sendall(frame(self.reject(exc.head, Problem(DATA_TYPE_ERROR, str(exc)))))
                continue
            try:
                answer = self.receive(text)
            except Exception as exc:  # noqa: BLE001 - the LIS gets an answer; the message is not stored
                log.exception("order message could not be processed")
                answer = self.reject(text, Problem(APPLICATION_INTERNAL_ERROR, f"not stored: {exc}"))
                answer = answer.replace("MSA|AR|", "MSA|AE|", 1)  # the sender may try again
            if answer is not None:
                sock.sendall(frame(answer))

    def start(self) -> OrderListener:
        self.thread = threading.Thread(target=self.server.serve_forever, name="lis-listener", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def rejecter(application: str, facility: str, now: Callable[[], datetime]) -> Callable[[str, Problem], str]:
    def reject(text: str, problem: Problem) -> str:
        return build_ack(text, "AR", problem, application=application, facility=facility, at=now())
    return reject
