"""PDF reports rendered in a process of their own.

A render keeps a CPU busy for a second or more in Python code; in the web server's process it would compete
for the interpreter with a stimulation loop running at the bench. In its own process, at a lower CPU priority,
it cannot hold the loop.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor

from sweattest.outputs.report.pdf import html_to_pdf

#: Seconds one render may take before the request is answered with an error.
RENDER_TIMEOUT_S = 120.0
#: The renderer runs at a lower CPU priority: on a busy computer the bench's stimulation loop comes first.
NICENESS = 10


class PdfRenderer:
    """One worker process, started at the first report and stopped with the server."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()  # guards starting and stopping the pool, never a render

    def render(self, html: str) -> bytes:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=1, initializer=_lower_priority,
                                                 mp_context=multiprocessing.get_context("spawn"))
            pool = self._pool
        return pool.submit(html_to_pdf, html).result(timeout=RENDER_TIMEOUT_S)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _lower_priority() -> None:
    if hasattr(os, "nice"):
        os.nice(NICENESS)
