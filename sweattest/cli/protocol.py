"""`sweattest protocol list|show|diagram`."""

from __future__ import annotations

import argparse
from pathlib import Path

from sweattest.core.protocol import list_protocols, load_protocol


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("protocol", help="list, show and diagram the procedure definitions (methods)",
                       description="Methods are TOML files in protocols/; a lab adds its own with --dir.")
    p.add_argument("--dir", type=Path, default=None, help="a folder of the lab's own method files")
    ps = p.add_subparsers(dest="action", metavar="ACTION")
    ps.required = True
    ps.add_parser("list", help="list the known methods").set_defaults(func=_list)
    show = ps.add_parser("show", help="show one method's values and their sources")
    show.add_argument("name")
    show.set_defaults(func=_show)
    ps.add_parser("diagram", help="print the procedure state machine as a Mermaid diagram").set_defaults(
        func=_diagram)


def _list(args: argparse.Namespace) -> int:
    for path in list_protocols(args.dir):
        proto = load_protocol(path)
        print(f"{proto.name:<16} {proto.title}")
    return 0


def _show(args: argparse.Namespace) -> int:
    proto = load_protocol(args.name, args.dir)
    print(f"{proto.name}: {proto.title}")
    print(f"file: {proto.path}")
    for key, value, source in proto.rows():
        print(f"  {key:<32} {value:<14} {source}")
    return 0


def _diagram(args: argparse.Namespace) -> int:
    from sweattest.core.procedure.diagram import mermaid

    print(mermaid())
    return 0
