"""`sweattest serve`: the bench and QA web app on this computer (http://127.0.0.1:8000 by default)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from sweattest.bench.order_folder import OrderFolder
from sweattest.cli.context import Context, command
from sweattest.cli.options import terminate_as_interrupt
from sweattest.core.access import TlsFiles
from sweattest.core.config import identity_warning
from sweattest.core.errors import ValidationError
from sweattest.lis.service import LisService
from sweattest.lis.worklist import WorklistBook
from sweattest.web.accounts import default_accounts
from sweattest.web.station_link import begin_station
from sweattest.web.training import TRAINING_ORDERS

#: Seconds a stopping server waits for open requests (a run screen's update stream stays open) before the
#: bench stands down: a stimulation in progress is stopped by the off sequence, leases are released.
GRACE_S = 0.5


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="the bench and QA web app (local web server)",
                       description="Serve the bench flow for lab techs and the QA pages. Binds to 127.0.0.1 "
                                   "unless --host says otherwise. See docs/ui.md.")
    p.add_argument("--simulate", action="store_true",
                   help="training: all three instruments are simulators; a scenario is picked per test")
    p.add_argument("--orders", type=Path, default=None, metavar="FOLDER",
                   help="a folder of order files (ORDER.json) the bench finds by accession (no LIS feed)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this computer)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--certfile", type=Path, default=None,
                   help="serve over HTTPS with the lab's certificate (PEM; with --keyfile; or [serve] in the "
                        "lab configuration); the session cookie is then Secure")
    p.add_argument("--keyfile", type=Path, default=None, help="the certificate's private key (PEM)")
    p.add_argument("--speed", type=float, default=30.0,
                   help="with --simulate: training runs go this many times faster than real time (default 30)")
    command(p, _serve, config=True, store=True)


def _serve(ctx: Context) -> int:
    args = ctx.args
    if args.speed <= 0:
        raise ValidationError(f"--speed: {args.speed:g}; give a positive factor such as 30")
    if not 0 < args.port < 65536:
        raise ValidationError(f"--port: {args.port}; give a port between 1 and 65535")
    config = ctx.config  # a bad file stops here, with the file and key named
    warning = identity_warning(config)
    if warning:
        print(f"sweattest: {warning}", file=sys.stderr)
    if not args.simulate and not config.instruments:
        raise ValidationError(f"{config.source}: no instruments are configured for this station; add "
                              "[[instruments]] tables to the lab configuration (docs/config.md, --config FILE), "
                              "or start with --simulate for training runs")
    tls = tls_files(args, config)
    # the station's own process performs the runs (started now: it loads while this server does); it resumes
    # the runs a crash or power cut left unfinished
    bench = begin_station(args.db, args.config, args.simulate, args.speed, told=_say)
    try:
        return _serve_with(ctx, config, tls, bench)
    finally:
        bench.close()  # the station stands down and ends (at once when it was never reached)


def _serve_with(ctx: Context, config, tls: TlsFiles | None, bench) -> int:
    import uvicorn  # the web stack loads while the station's process starts

    from sweattest.web.app import create_app  # with the web stack: pandas for the QA pages, the bench's runner

    args = ctx.args
    accounts = default_accounts()
    store = ctx.store
    clock = store.clock
    fallback = OrderFolder(args.orders) if args.orders is not None else (TRAINING_ORDERS if args.simulate else {})
    order_book = WorklistBook(store, config.lis, fallback)  # LIS orders first, then the order files
    if not list(accounts.users.list_users(store)):
        print("sweattest: no users yet. Create the first administrator, then start again:\n"
              "  sweattest user add ADMIN_NAME --role admin --name 'Full Name'", file=sys.stderr)
        return 2
    app = create_app(store, clock, accounts, simulate=args.simulate, pace=args.speed, secure_cookies=tls is not None,
                     config=config, order_book=order_book, bench=bench)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    mode = ("training (simulated instruments)" if args.simulate else
            "instruments: " + ", ".join(i.label for i in config.instruments))
    lis = LisService(store, clock, config)
    for line in lis.start() + lis.status():
        print(f"sweattest: LIS: {line}")
    try:
        bench.open()
    except BaseException:
        lis.stop()  # the store is the command's: its context closes it
        raise
    _say(f"the bench station runs in process {bench.pid} (its log: {bench.address.log})")
    for run_id in bench.resume_unfinished():
        print(f"sweattest: run {run_id} was unfinished: outputs forced off, resumed at this station")
    scheme = "https" if tls else "http"
    print(f"sweattest: bench UI on {scheme}://{args.host}:{args.port}/ ({mode}); Ctrl-C stops it")
    # uvicorn hands a stop signal on once it has shut down: as KeyboardInterrupt, which it ends on, cleanly
    terminate_as_interrupt()
    try:
        # SIGTERM or Ctrl-C: open screens get GRACE_S to let go, then the bench stands down (app.py's lifespan)
        uvicorn.run(app, host=args.host, port=args.port, log_level="info", server_header=False,
                    timeout_graceful_shutdown=GRACE_S,
                    **({"ssl_certfile": str(tls.certfile), "ssl_keyfile": str(tls.keyfile)} if tls else {}))
        print("sweattest: the station stopped; its unfinished runs resume when it starts again")
    finally:
        # a second Ctrl-C makes uvicorn quit without the shutdown hook: the bench stands down here all the same
        # (done already: nothing more), deaf to further stop signals until its runs are safe and recorded
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        try:
            app.state.web.bench.close()
        finally:
            lis.stop()
    return 0


def _say(message: str) -> None:
    print(f"sweattest: {message}", flush=True)


def tls_files(args: argparse.Namespace, config) -> TlsFiles | None:
    """The certificate and key from --certfile/--keyfile, else from [serve] of the lab configuration."""
    if args.certfile is None and args.keyfile is None:
        return config.tls
    if args.certfile is None or args.keyfile is None:
        raise ValidationError("--certfile and --keyfile go together: give the lab's certificate and its key")
    for option, path in (("--certfile", args.certfile), ("--keyfile", args.keyfile)):
        if not path.is_file():
            raise ValidationError(f"{option}: {path} does not exist; give the lab's PEM file")
    return TlsFiles(args.certfile, args.keyfile)
