"""`sweattest interpret CASE.json`: the manual-entry worksheet (format: docs/interpret.md)."""

from __future__ import annotations

import argparse
import json

from sweattest.bench.interpret import interpret_case
from sweattest.cli.context import Context, command
from sweattest.core.jsonfile import read_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("interpret", help="interpret a sweat-test case entered by hand (JSON worksheet)",
                       description="Apply the clinical rules (adequacy, chloride range, bilateral agreement, "
                                   "CFF 2017 interpretation, eligibility) to CASE.json and print the result "
                                   "as JSON.")
    p.add_argument("case", metavar="CASE.json", help="the case file, or - to read it from stdin")
    command(p, _run, config=True)


def _run(ctx: Context) -> int:
    config = ctx.config
    result = interpret_case(read_json(ctx.args.case, "case"), config.protocol_folder, config.ranges, config.eligibility,
                            config.zone, config.difference_limit, config.adequacy)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0
