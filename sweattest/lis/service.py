"""What ``[lis]`` turns on, started and stopped together: the MLLP order listener, the order folder and the
result sender (``sweattest lis serve`` alone, or inside ``sweattest serve``)."""

from __future__ import annotations

import ssl
import threading
from functools import partial

from sweattest.core.clock import Clock
from sweattest.core.config import LabConfig
from sweattest.core.errors import ConfigError
from sweattest.core.lis_config import LisConfig
from sweattest.lis.listener import OrderListener, rejecter
from sweattest.lis.order_drop import watch
from sweattest.lis.sender import Sender
from sweattest.lis.worklist import receive
from sweattest.record import outbox


class LisService:
    def __init__(self, store, clock: Clock, config: LabConfig):
        self.store, self.clock, self.config = store, clock, config
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.listener: OrderListener | None = None

    @property
    def enabled(self) -> bool:
        lis = self.config.lis
        return bool(lis.listen or lis.order_folder or lis.send_to)

    def start(self) -> list[str]:
        """Start what is configured; returns one line per part started."""
        lis, started = self.config.lis, []
        take = partial(receive, self.store, self.clock, config=self.config)
        reject = rejecter(self.config.hl7.sending_application, self.config.hl7.sending_facility, self.clock.utcnow)
        if lis.listen:
            self.listener = OrderListener(lis.listen, lambda text: take(text), reject,
                                          max_connections=lis.max_connections, idle_timeout_s=lis.idle_timeout_s,
                                          message_timeout_s=lis.message_timeout_s,
                                          tls=tls_context(lis)).start()
            over = " over TLS" if lis.tls_certificate else ""
            started.append("orders over MLLP{} on {}:{}".format(over, *self.listener.address))
        if lis.order_folder:
            self._thread("lis-order-folder", watch, lis.order_folder, lambda text: take(text), reject, self.stop_event)
            started.append(f"orders from the folder {lis.order_folder}")
        if lis.send_to:
            sender = Sender.configured(self.store, self.clock, self.config)
            self._thread("lis-sender", sender.serve, self.stop_event)
            started.append("results to {}:{}".format(*lis.send_to))
        return started

    def status(self) -> list[str]:
        """What needs a person: the messages to the LIS that failed (shown when the service starts, and on the
        QA desk)."""
        failed = outbox.needing_attention(self.store)
        if not failed:
            return []
        listed = ", ".join(f"{m.id} ({m.accession or m.run_id})" for m in failed[:10])
        more = f" and {len(failed) - 10} more" if len(failed) > 10 else ""
        return [f"{len(failed)} message(s) to the LIS {outbox.NEEDS_ATTENTION}: {listed}{more}; "
                "`sweattest lis outbox --state failed` shows why, `sweattest lis resend ID --as USER` sends again"]

    def _thread(self, name: str, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def stop(self) -> None:
        self.stop_event.set()
        if self.listener is not None:
            self.listener.stop()
        for thread in self.threads:
            thread.join(10)


def tls_context(lis: LisConfig) -> ssl.SSLContext | None:
    """The server context of the lab's certificate (TLS 1.2 or later), or None for plain MLLP."""
    if lis.tls_certificate is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(lis.tls_certificate, lis.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"[lis] tls_certificate {lis.tls_certificate} with tls_key {lis.tls_key}: cannot be "
                          f"loaded ({exc}); give the PEM certificate and its private key") from None
    return context


def serve_until_interrupted(store, config: LabConfig) -> int:
    """The LIS interface ``config`` turns on, over ``store``, until Ctrl-C (the store is the caller's to close)."""
    service = LisService(store, store.clock, config)
    if not service.enabled:
        raise ConfigError(f"{config.source}: [lis] turns nothing on; set listen, order_folder or send_to "
                          "(docs/lis.md)")
    try:
        for line in service.start() + service.status():
            print(f"sweattest: LIS: {line}", flush=True)
        print("sweattest: LIS interface running; Ctrl-C stops it", flush=True)
        service.stop_event.wait()
    finally:
        service.stop()
    return 0
