"""Render time of the demo report: median of 20 HTML and 20 PDF renders (goals: HTML <= 20 ms, PDF <= 1 s).

Run from the repository root: ``python benchmarks/report_render.py``. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sweattest.outputs.lims.csv_file import render_csv  # noqa: E402
from sweattest.outputs.lims.hl7 import render_oru  # noqa: E402
from sweattest.outputs.report import render_html  # noqa: E402
from sweattest.outputs.report.pdf import html_to_pdf  # noqa: E402
from tests.golden.build import simulated  # noqa: E402
from tests.golden.regenerate import CONFIG  # noqa: E402

REPEATS = 20


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that the benchmark runs")
    args = parser.parse_args()
    repeats = 2 if args.quick else args.repeats
    with tempfile.TemporaryDirectory() as tmp:
        record = simulated(Path(tmp))[0].record
    render_html(record, CONFIG)  # template compiled once, as in a running program
    html = render_html(record, CONFIG)
    sent_at = record.generated_at
    figures = {
        "html_median_ms": median_ms(lambda: render_html(record, CONFIG), repeats),
        "pdf_median_ms": median_ms(lambda: html_to_pdf(render_html(record, CONFIG)), repeats),
        "hl7_median_ms": median_ms(lambda: render_oru(record, CONFIG, sent_at=sent_at), repeats),
        "csv_median_ms": median_ms(lambda: render_csv(record), repeats),
        "repeats": repeats,
        "html_bytes": len(html.encode()),
        "goal_html_ms": 20, "goal_pdf_ms": 1000,
    }
    for key, value in figures.items():
        print(f"{key:>16}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
