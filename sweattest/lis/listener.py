"""The MLLP listener for orders: each framed message is handed to ``receive`` and its acknowledgement sent
back on the same connection. A frame that is broken (no start byte, too large, cut off) is answered AR
(naming the message's control ID when its MSH can still be read) and nothing is stored.

At most ``max_connections`` connections are served at once (one more is closed as soon as it is accepted,
and logged); a connection that sends nothing for ``idle_timeout_s`` (between any two bytes, in the middle of
a frame too) is closed, and so is one whose message has not arrived whole ``message_timeout_s`` after its first
byte (a byte now and then keeps no connection). With ``tls`` (an ``ssl.SSLContext`` holding the lab's
certificate) every connection is MLLP over TLS; the handshake happens in the connection's own thread, under
the same idle limit."""

from __future__ import annotations

import logging
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from datetime import datetime

from sweattest.lis.ack import APPLICATION_INTERNAL_ERROR, DATA_TYPE_ERROR, SEGMENT_SEQUENCE, Problem, build_ack
from sweattest.lis.mllp import FrameError, FrameReader, NotText, decode, frame

log = logging.getLogger(__name__)
#: A client that sends nothing for this long (between any two bytes) is disconnected (seconds).
IDLE_TIMEOUT = 30.0
#: Connections served at once.
MAX_CONNECTIONS = 16
#: A message must arrive whole within this many seconds of its first byte (a byte now and then is no message).
MESSAGE_TIMEOUT = 60.0


class OrderListener:
    """``receive(text) -> ack text`` (None: answer nothing); ``reject(text, problem) -> ack text`` answers what
    cannot be read."""

    def __init__(self, address: tuple[str, int], receive: Callable[[str], str | None],
                 reject: Callable[[str, Problem], str], *, max_connections: int = MAX_CONNECTIONS,
                 idle_timeout_s: float = IDLE_TIMEOUT, message_timeout_s: float = MESSAGE_TIMEOUT,
                 tls: ssl.SSLContext | None = None):
        self.receive, self.reject = receive, reject
        self.idle_timeout_s, self.message_timeout_s, self.tls = idle_timeout_s, message_timeout_s, tls
        self.max_connections, self.open, self.refused = max_connections, 0, 0
        self.changed = threading.Condition()
        listener = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                try:
                    listener._serve_connection(self.request)
                finally:
                    with listener.changed:
                        listener.open -= 1
                        listener.changed.notify_all()

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True
            request_queue_size = max(5, max_connections)

            def process_request(self, request, client_address) -> None:
                with listener.changed:
                    full = listener.open >= max_connections
                    listener.open += 0 if full else 1
                    listener.refused += 1 if full else 0
                    listener.changed.notify_all()
                if full:
                    log.warning("MLLP: %s connections already open; %s closed", max_connections, client_address)
                    self.shutdown_request(request)
                    return
                super().process_request(request, client_address)

        self.server = Server(address, Handler)
        self.address = self.server.server_address[:2]
        self.thread: threading.Thread | None = None

    def _serve_connection(self, sock) -> None:
        sock.settimeout(self.idle_timeout_s)
        if self.tls is not None:  # the handshake, like a message, must be done within message_timeout_s
            same = sock.dup()  # wrap_socket detaches ``sock``; a duplicate still reaches the connection
            deadline = threading.Timer(self.message_timeout_s, _shut, (same,))
            deadline.start()
            try:
                sock = self.tls.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError) as exc:
                log.warning("MLLP over TLS: handshake failed: %s", exc)
                return
            finally:
                deadline.cancel()
                same.close()
        reader = FrameReader(sock, message_timeout_s=self.message_timeout_s)
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

    def wait_until(self, condition: Callable[[OrderListener], bool], timeout: float) -> bool:
        """Wait (on the listener's own notifications, not polling) until ``condition(self)`` holds."""
        with self.changed:
            return self.changed.wait_for(lambda: condition(self), timeout)

    def start(self) -> OrderListener:
        self.thread = threading.Thread(target=self.server.serve_forever, name="lis-listener", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _shut(sock: socket.socket) -> None:
    """End a connection whose TLS handshake is still going on at its deadline (its blocked read returns)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def rejecter(application: str, facility: str, now: Callable[[], datetime]) -> Callable[[str, Problem], str]:
    def reject(text: str, problem: Problem) -> str:
        return build_ack(text, "AR", problem, application=application, facility=facility, at=now())
    return reject
