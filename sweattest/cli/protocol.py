"""`sweattest protocol list|show|diagram`."""

from __future__ import annotations

import argparse
from pathlib import Path

from sweattest.cli.context import Context, command
from sweattest.core.procedure.diagram import mermaid
from sweattest.core.protocol import list_protocols, load_protocol


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("protocol", help="list, show and diagram the procedure definitions (methods)",
                       description="Methods are TOML files: the shipped ones, and the lab's own in the folder "
                                   "named by [protocols] folder in the lab configuration (docs/config.md).")
    ps = p.add_subparsers(dest="action", metavar="ACTION")
    ps.required = True
    listing = ps.add_parser("list", help="list the known methods and where each comes from")
    command(listing, _list, config=True)
    show = ps.add_parser("show", help="show one method's values and their sources")
    show.add_argument("name")
    command(show, _show, config=True)
    command(ps.add_parser("diagram", help="print the procedure state machine as a Mermaid diagram"), _diagram)


def _list(ctx: Context) -> int:
    folder = ctx.config.protocol_folder
    for path in list_protocols(folder):
        proto = load_protocol(path)
        print(f"{proto.name:<16} {_origin(path, folder):<28} {proto.title}")
    return 0


def _show(ctx: Context) -> int:
    folder = ctx.config.protocol_folder
    proto = load_protocol(ctx.args.name, folder)
    print(f"{proto.name}: {proto.title}")
    print(f"file: {proto.path} ({_origin(proto.path, folder)})")
    print(f"sha256: {proto.sha256}")
    for key, value, source in proto.rows():
        print(f"  {key:<32} {value:<14} {source}")
    return 0


def _origin(path: Path, folder: Path | None) -> str:
    """Where a method comes from: the lab's folder (saying so when it replaces a shipped method) or shipped."""
    if folder is None or path.parent != folder:
        return "shipped"
    shipped = {p.stem for p in list_protocols()}
    return "lab (replaces shipped)" if path.stem in shipped else "lab"


def _diagram(ctx: Context) -> int:
    print(mermaid())
    return 0
