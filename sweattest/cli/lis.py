"""`sweattest lis outbox|resend|serve|simulate`: the LIS interface (docs/lis.md)."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from sweattest.cli.listing import print_listing
from sweattest.cli.options import add_config_option
from sweattest.cli.storeopts import add_db_option, add_signed_options, signed_in, store_from
from sweattest.core.clock import RealClock
from sweattest.core.errors import ValidationError
from sweattest.lis.simulator import ANSWERS
from sweattest.record import outbox
from sweattest.record.users import ROLES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lis", help="the LIS interface: outbox, resend, listener and sender, a simulated LIS",
                       description="Orders in over MLLP or an order folder, results out over MLLP through the "
                                   "durable outbox. See docs/lis.md.")
    actions = p.add_subparsers(dest="lis_command", metavar="ACTION")
    actions.required = True
    o = actions.add_parser("outbox", help="each message leaving for the LIS and its state",
                           description="States: pending (to be sent; attempts and next attempt), delivered, "
                                       "failed (refused by the LIS: re-queue with `sweattest lis resend ID`).")
    o.add_argument("--format", default="table", choices=("table", "json"))
    o.add_argument("--state", choices=(outbox.PENDING, outbox.DELIVERED, outbox.FAILED))
    add_db_option(o)
    o.set_defaults(func=_outbox)
    r = actions.add_parser("resend", help="queue a message again (same content, same control ID)")
    r.add_argument("message_id", type=int, metavar="ID")
    add_signed_options(r, "re-queues it")
    r.set_defaults(func=_resend)
    s = actions.add_parser("serve", help="run the order listener, the order folder and the result sender",
                           description="Runs what [lis] of the lab configuration turns on, until Ctrl-C.")
    add_config_option(s)
    add_db_option(s)
    s.set_defaults(func=_serve)
    m = actions.add_parser("simulate", help="a simulated LIS: send orders, receive results and answer them",
                           description="Sends the order messages of FILE (HL7, one message per MSH line) to "
                                       "sweattest's order listener, then receives results on PORT, answering "
                                       "each as --answer says, and prints what it received.")
    m.add_argument("--orders", type=Path, metavar="FILE", help="order messages to send (HL7 text)")
    m.add_argument("--to", default=None, metavar="HOST:PORT",
                   help="sweattest's order listener (default: [lis] listen of the lab configuration)")
    m.add_argument("--listen", type=int, default=None, metavar="PORT",
                   help="port to receive results on (127.0.0.1); 0 picks a free one")
    m.add_argument("--answer", choices=ANSWERS, default="AA", help="answer to each result (none: stay silent)")
    m.add_argument("--results", type=int, default=None, metavar="N", help="stop after N results (default: Ctrl-C)")
    add_config_option(m)
    m.set_defaults(func=_simulate)


def _outbox(args: argparse.Namespace) -> int:
    store = store_from(args)
    try:
        rows = [m.summary() for m in outbox.messages(store, state=args.state)]
    finally:
        store.close()
    print_listing(rows, args.format, empty="the outbox is empty",
                  header=f"{'ID':>5}  {'RUN':<20} {'V':>2}  {'FORMAT':<6} {'TO':<28} {'CONTROL ID':<20}  "
                         f"{'STATE':<9} {'TRIES':>5}  LAST ERROR / NEXT ATTEMPT",
                  line=_message_line)
    return 0


def _message_line(r: dict) -> str:
    note = r["last_error"] or ""
    if r["state"] == outbox.PENDING and r["next_attempt_at"]:
        note = (note + "; " if note else "") + f"next {r['next_attempt_at']}"
    to = f"{r['channel']} {r['destination']}"
    return (f"{r['id']:>5}  {r['run_id']:<20} {r['version']:>2}  {r['format']:<6} {to[:28]:<28} "
            f"{r['control_id'] or '-':<20}  {r['state']:<9} {r['attempts']:>5}  {note}")


def _resend(args: argparse.Namespace) -> int:
    with signed_in(args, ROLES, "re-queue a message to the LIS") as (store, user):
        message = outbox.resend(store, args.message_id, RealClock().utcnow(), user.username)
    print(f"message {message.id} (run {message.run_id}, control ID {message.control_id}) queued again for "
          f"{message.destination}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from sweattest.lis.service import serve_until_interrupted

    return serve_until_interrupted(args.config, args.db)


def _simulate(args: argparse.Namespace) -> int:
    from sweattest.core.config import load_config
    from sweattest.core.lis_config import address
    from sweattest.lis.simulator import SimulatedLis, split_messages

    if args.orders is None and args.listen is None:
        raise ValidationError("give --orders FILE to send orders, --listen PORT to receive results, or both")
    messages = []
    if args.orders is not None:
        try:
            messages = split_messages(args.orders.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError(f"--orders {args.orders}: cannot be read: {exc}") from None
        if not messages:
            raise ValidationError(f"--orders {args.orders}: no message (each starts with a line MSH|...)")
    to = None
    if messages:
        to = address(args.to, "--to") if args.to else load_config(args.config).lis.listen
        if to is None:
            raise ValidationError("--to: give sweattest's order listener as HOST:PORT (or set [lis] listen)")
    lis = SimulatedLis(args.listen if args.listen is not None else 0, args.answer, say=_say)
    if args.listen is not None:
        lis.start()
        _say("simulated LIS receiving results on {}:{} (answer {})".format(*lis.address, args.answer))
    try:
        if messages:
            lis.send_orders(messages, to)
        if args.listen is not None and args.results:
            lis.wait_for(args.results, None)
        elif args.listen is not None:
            threading.Event().wait()  # until Ctrl-C
    finally:
        if args.listen is not None:
            lis.stop()
    return 0


def _say(text: str) -> None:
    print(text, flush=True)
