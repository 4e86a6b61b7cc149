"""Delivering the outbox to the LIS over MLLP, to the address of this process's configuration (``[lis]
send_to``): of each accession the oldest pending message, its acknowledgement awaited for ``ack_timeout_s``.
AA marks it delivered (never sent again); AR, and AE answered ``ae_limit`` times, mark it failed ("failed:
needs attention", shown to QA); a timeout, a refused or dropped connection, an AE below the limit or an
answer that is not an acknowledgement of this message are tried again after growing delays. A message waiting
for its retry holds back the later messages of its own accession only: other orders' results keep flowing. A
version of a result is never sent once a later version was accepted (it is marked superseded). A result
released after the laboratory closed its order (the LIS told the order is cancelled, HL7 order control OC) is
never sent: it fails ("held", needs attention). A retry sends the same bytes: the same control ID.

The sender never sleeps on its own: ``send_next`` makes at most one attempt and says when the next is due;
``serve`` loops over it until told to stop (waiting on an event, so a test or a shutdown wakes it at once).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sweattest.core.clock import Clock
from sweattest.core.lis_config import LisConfig
from sweattest.lis.ack import read_ack
from sweattest.lis.mllp import FrameError, exchange
from sweattest.outputs.lims.delivery import render_queued
from sweattest.record import outbox

log = logging.getLogger(__name__)

#: Seconds before each retry (``[lis] retry_delays_s``): 5 s, 15 s, 1 min, 5 min, then every 15 min.
DELAYS: tuple[float, ...] = LisConfig().retry_delays_s
#: AE answers to one message before it fails (``[lis] ae_limit``).
AE_LIMIT: int = LisConfig().ae_limit
#: How often an idle sender looks for newly queued messages (seconds).
IDLE_POLL = 2.0
#: A message is taken for one attempt for the acknowledgement timeout plus this (seconds, for connecting).
CLAIM_MARGIN = 30.0
#: ``next_attempt_at`` is outside the chain. A time further ahead than any a sender sets (its longest retry
#: delay, or a claim's timeout and margin) plus this slack (seconds; clocks of several stations) was not set by a
#: sender: the message is due, so a time moved ahead behind the program's back never holds the queue.
HORIZON_SLACK = 3600.0


@dataclass(frozen=True)
class Attempt:
    message_id: int | None  # None: nothing to send
    outcome: str  # "delivered", "retry", "failed", "superseded", "waiting", "idle"
    detail: str = ""
    next_at: datetime | None = None


class Sender:
    def __init__(self, store, clock: Clock, address: tuple[str, int], *, ack_timeout_s: float = 30.0,
                 delays: Sequence[float] = DELAYS, ae_limit: int = AE_LIMIT,
                 exchange: Callable[[tuple[str, int], str, float], str] = exchange,
                 render: Callable[[], object] | None = None):
        self.store, self.clock, self.address = store, clock, address
        self.destination = f"{address[0]}:{address[1]}"
        self.timeout = ack_timeout_s
        self.delays = tuple(delays)
        self.ae_limit = ae_limit
        self._exchange = exchange
        self._render = render  # writes the text of messages queued with their signature (after a crash)

    @classmethod
    def configured(cls, store, clock: Clock, config, **kw) -> Sender:
        """The sender of ``config`` (``[lis]``: address, timeouts, retries, AE limit), writing the messages
        queued with their release with that configuration."""
        lis = config.lis
        return cls(store, clock, lis.send_to, ack_timeout_s=lis.ack_timeout_s, delays=lis.retry_delays_s,
                   ae_limit=lis.ae_limit, render=lambda: render_queued(store, clock, config), **kw)

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt (1, 2, ...)."""
        return self.delays[min(attempts, len(self.delays)) - 1]

    def send_next(self) -> Attempt:
        """One attempt at the next message due (``outbox.next_to_send``), if one is due."""
        if self._render is not None and outbox.unrendered(self.store):
            self._render()
        now = self.clock.utcnow()
        message = outbox.next_to_send(self.store, outbox.MLLP, (outbox.LIS, self.destination), now)
        if message is None:
            return Attempt(None, "idle")
        horizon = now + timedelta(seconds=max(max(self.delays, default=0.0), self.timeout + CLAIM_MARGIN)
                                  + HORIZON_SLACK)
        if message.next_attempt_at is not None and now < message.next_attempt_at <= horizon:
            return Attempt(message.id, "waiting", next_at=message.next_attempt_at)
        if message.next_attempt_at is not None and message.next_attempt_at > horizon:
            log.warning("message %s (run %s): next attempt set to %s, beyond any delay a sender sets; sent now",
                        message.control_id, message.run_id, message.next_attempt_at)
        newer = outbox.newer_version(self.store, message, accepted_only=True)
        if newer is not None:
            why = (f"version {newer.version} of this result (message {newer.id}) was accepted by the LIS; "
                   f"version {message.version} is never sent after it")
            outbox.superseded(self.store, message.id, now, why)
            return Attempt(message.id, "superseded", why)
        told = outbox.told_cancelled(self.store, message)
        if told is not None:  # HL7 order control OC: the order is cancelled at the LIS, no result may follow
            accession = message.accession or told.accession
            return self._failed(message, f"held, not sent: the laboratory closed order {accession} and told the LIS "
                                f"it is cancelled (order status message {told.id}) before this result was released; "
                                "a result for a cancelled order is never sent on its own: agree with the LIS how "
                                "to report it")
        if not outbox.claim(self.store, message.id, now, now + timedelta(seconds=self.timeout + CLAIM_MARGIN),
                            horizon):
            return Attempt(message.id, "waiting", next_at=now + timedelta(seconds=IDLE_POLL))  # another sender
        try:
            answer = read_ack(self._exchange(self.address, message.body, self.timeout))
        except TimeoutError:
            return self._retry(message, f"no acknowledgement within {self.timeout:g} s")
        except (OSError, FrameError) as exc:
            return self._retry(message, f"cannot deliver to {self.destination}: {exc or type(exc).__name__}")
        except ValueError as exc:
            return self._retry(message, f"the LIS answered with something else than an acknowledgement: {exc}")
        if answer.control_id != message.control_id:
            return self._retry(message, f"the acknowledgement is for message {answer.control_id[:40]!r}, not "
                                        f"{message.control_id!r}")
        if answer.code in ("AA", "CA"):
            outbox.delivered(self.store, message.id, self.clock.utcnow(), note=f"{answer.code} from {self.destination}")
            return Attempt(message.id, "delivered")
        text = f"{answer.code} from the LIS" + (f": {answer.text}" if answer.text else "")
        if answer.code in ("AR", "CR"):
            return self._failed(message, text)
        if message.ae_count + 1 >= self.ae_limit:
            return self._failed(message, f"{text} (answered {answer.code} {message.ae_count + 1} times)", ae=True)
        return self._retry(message, text, ae=True)

    def _failed(self, message: outbox.Message, text: str, *, ae: bool = False) -> Attempt:
        outbox.failed(self.store, message.id, self.clock.utcnow(), text, ae=ae)
        log.error("LIS message %s (accession %s, run %s) %s: %s; `sweattest lis resend %s` once the cause is "
                  "fixed", message.control_id, message.accession, message.run_id, outbox.NEEDS_ATTENTION, text,
                  message.id)
        return Attempt(message.id, "failed", text)

    def _retry(self, message: outbox.Message, error: str, *, ae: bool = False) -> Attempt:
        now = self.clock.utcnow()
        next_at = now + timedelta(seconds=self.delay(message.attempts + 1))
        outbox.retry_later(self.store, message.id, now, error, next_at, ae=ae)
        log.warning("message %s (run %s) not delivered: %s; next attempt %s", message.control_id,
                    message.run_id, error, next_at.isoformat())
        return Attempt(message.id, "retry", error, next_at)

    def serve(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set; a store error is logged and tried again after the idle poll."""
        while not stop.is_set():
            try:
                attempt = self.send_next()
            except Exception:  # noqa: BLE001 - the sender must outlive a store hiccup; the message stays queued
                log.exception("LIS sender: the outbox could not be read or updated")
                stop.wait(IDLE_POLL)
                continue
            if attempt.outcome in ("delivered", "failed", "superseded"):
                continue
            wait = IDLE_POLL
            if attempt.next_at is not None:
                wait = min(max((attempt.next_at - self.clock.utcnow()).total_seconds(), 0.05), IDLE_POLL)
            stop.wait(wait)
