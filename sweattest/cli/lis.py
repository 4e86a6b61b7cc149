"""`sweattest lis outbox|resend|serve|simulate`: the LIS interface (docs/lis.md)."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from sweattest.cli.context import Context, SignIn, command
from sweattest.cli.listing import print_listing
from sweattest.core.clock import RealClock
from sweattest.core.errors import ValidationError
from sweattest.core.lis_config import address
from sweattest.lis.service import serve_until_interrupted
from sweattest.lis.simulator import ANSWERS, SimulatedLis, split_messages
from sweattest.outputs.lims.order_status import REASONS, refuse_order
from sweattest.record import outbox

#: who may close an LIS order the laboratory will not perform
REFUSE_ROLES = ("tech", "reviewer", "admin")
#: who may send a message to the LIS again
RESEND_ROLES = ("reviewer", "admin")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lis", help="the LIS interface: outbox, resend, listener and sender, a simulated LIS",
                       description="Orders in over MLLP or an order folder, results out over MLLP through the "
                                   "durable outbox. See docs/lis.md.")
    actions = p.add_subparsers(dest="lis_command", metavar="ACTION")
    actions.required = True
    o = actions.add_parser("outbox", help="each message leaving for the LIS and its state",
                           description="States: pending (to be sent; attempts and next attempt), delivered, "
                                       "failed: needs attention (refused by the LIS with AR, or answered AE "
                                       "[lis] ae_limit times: fix the cause, then `sweattest lis resend ID`), "
                                       "superseded (a later version of the result went out instead).")
    o.add_argument("--format", default="table", choices=("table", "json"))
    o.add_argument("--state", choices=outbox.STATES)
    command(o, _outbox, store=True)
    r = actions.add_parser("resend", help="queue a message again (same content, same control ID)",
                           description="Queues a failed or delivered message again, unchanged, as a reviewer or "
                                       "admin (password asked; recorded in the audit trail). A version of a result "
                                       "superseded by a later version is refused: resend the later one.")
    r.add_argument("message_id", type=int, metavar="ID")
    command(r, _resend, user=SignIn(RESEND_ROLES, "send a message to the LIS again", "re-queues the message"))
    f = actions.add_parser("refuse", help="close an LIS order the laboratory will not perform, and tell the LIS",
                           description="Closes the order of ACCESSION on the worklist and queues the order status "
                                       "message of IHE LTW for the LIS (OML^O21, ORC-1 OC, ORC-5 CA, ORC-16 the "
                                       "reason, NTE the note), sent by the LIS sender. Reasons: eligibility (an "
                                       "open order whose patient may not be tested), qns (a performed order whose "
                                       "sample was not sufficient and is not repeated), lab (cancelled by the "
                                       "laboratory, open or performed).")
    f.add_argument("accession", metavar="ACCESSION")
    f.add_argument("--reason", required=True, choices=tuple(REASONS), help="why the order is not performed")
    f.add_argument("--note", required=True, help="what the LIS and the ordering provider are told")
    command(f, _refuse, user=SignIn(REFUSE_ROLES, "close an LIS order", "closes the order"))
    s = actions.add_parser("serve", help="run the order listener, the order folder and the result sender",
                           description="Runs what [lis] of the lab configuration turns on, until Ctrl-C.")
    command(s, _serve, config=True, store=True)
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
    command(m, _simulate, config=True)


def _outbox(ctx: Context) -> int:
    args = ctx.args
    store = ctx.store
    rows = [m.summary() for m in outbox.messages(store, state=args.state)]
    print_listing(rows, args.format, empty="the outbox is empty",
                  header=f"{'ID':>5}  {'ACCESSION':<16} {'RUN':<20} {'V':>2}  {'FORMAT':<6} {'TO':<20} "
                         f"{'CONTROL ID':<20}  {'STATE':<23} {'TRIES':>5}  LAST ERROR / NEXT ATTEMPT",
                  line=_message_line)
    return 0


def _message_line(r: dict) -> str:
    note = r["last_error"] or ""
    if r["state"] == outbox.PENDING and r["next_attempt_at"]:
        note = (note + "; " if note else "") + f"next {r['next_attempt_at']}"
    to = f"{r['channel']} {r['destination']}"
    version = "-" if r["format"] == outbox.ORDER_STATUS else r["version"]
    return (f"{r['id']:>5}  {r['accession'] or '-':<16} {r['run_id'] or '-':<20} {version:>2}  "
            f"{r['format']:<6} {to[:20]:<20} {r['control_id'] or '-':<20}  {r['shown_state']:<23} "
            f"{r['attempts']:>5}  {note}")


def _refuse(ctx: Context) -> int:
    args = ctx.args
    store, user = ctx.store, ctx.user
    message_id = refuse_order(store, store.clock, args.accession.strip(), args.reason, args.note, user.username)
    print(f"order {args.accession.strip()} closed ({args.reason}) by {user.username}; the LIS is told by order "
          f"status message {message_id} (`sweattest lis outbox`)")
    return 0


def _resend(ctx: Context) -> int:
    args = ctx.args
    store, user = ctx.store, ctx.user
    message = outbox.resend(store, args.message_id, RealClock().utcnow(), user.username)
    to = "the LIS" if message.destination == outbox.LIS else message.destination
    print(f"message {message.id} (run {message.run_id}, control ID {message.control_id}) queued again for {to} "
          f"by {user.username}")
    return 0


def _serve(ctx: Context) -> int:
    return serve_until_interrupted(ctx.store, ctx.config)


def _simulate(ctx: Context) -> int:
    args = ctx.args
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
        to = address(args.to, "--to") if args.to else ctx.config.lis.listen
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
