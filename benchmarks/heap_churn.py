"""A large heap churning in the web server's process: ``heap_mb`` of small containers the garbage collector
tracks, ``churn_mb_s`` of them replaced each second (new objects in, old ones out), so the collector runs its
full collections over the whole heap as a long-running server's does. Used by ``benchmarks/web_load.py``."""

from __future__ import annotations

import random
import threading

#: Bytes one cell of the heap takes (a list of a tuple, an int and a short string), measured roughly.
CELL_BYTES = 200
#: Cells in one block; the heap is a list of blocks, and churning replaces whole blocks.
BLOCK = 10_000


def _block(rng: random.Random) -> list:
    n = rng.random()
    return [[(i, n), i, "x" * 8] for i in range(BLOCK)]


class HeapChurn:
    """``with HeapChurn(1024):`` about 1 GB built before the block starts, churned until it ends."""

    def __init__(self, heap_mb: float, churn_mb_s: float = 50.0, seed: int = 1):
        #: wall seconds between two blocks replaced
        self.period_s = BLOCK * CELL_BYTES / (churn_mb_s * 1024 * 1024)
        self.blocks_wanted = max(1, int(heap_mb * 1024 * 1024 / CELL_BYTES / BLOCK))
        self.rng = random.Random(seed)
        self.heap: list[list] = []
        self.replaced = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._churn, name="heap-churn", daemon=True)

    def __enter__(self) -> HeapChurn:
        self.heap = [_block(self.rng) for _ in range(self.blocks_wanted)]
        self._thread.start()
        return self

    def _churn(self) -> None:
        while not self._stop.wait(self.period_s):  # the pace of the churn, on the wall clock
            self.heap[self.rng.randrange(len(self.heap))] = _block(self.rng)
            self.replaced += 1

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.heap = []
