"""How numpy's OpenBLAS uses threads: how long idle workers spin (set before it loads), and
how many threads one product runs on, for onnxruntime to match.

OpenBLAS runs each matrix product on every core, then keeps its worker threads spinning
for 2**28 CPU cycles (about 0.1 s at 2.6 GHz) in case another product follows. The musicnn
network is one burst of products; after it, the spinning threads take a core for about
100 ms from whatever runs next: the next query's ffprobe and ffmpeg, whose start-up is
CPU-bound (about 60 ms each of dynamic loading), or the bot's other decodes. On a 2-core
machine, a 10-s clip decoded right after an embedding took 112-116 ms; with the spin
shortened, 73-94 ms, while the embedding itself took the same time and gave the same
numbers bit for bit (only how idle threads wait changes).

:data:`THREAD_TIMEOUT` (2**22 cycles, about 2 ms) keeps the threads warm through the
network's short gaps between products and lets them sleep right after it. OpenBLAS reads
``OPENBLAS_THREAD_TIMEOUT`` once, when numpy loads it, so :func:`limit_idle_spin` runs
from the package's ``__init__`` before any musicrec module imports numpy; a value the
operator set is kept.

onnxruntime (musicnn's float32 path) has a thread pool of its own; :func:`compute_threads`
gives it as many threads as OpenBLAS uses, so an operator's ``OPENBLAS_NUM_THREADS`` limits
both, and its idle threads are told not to spin at all.
"""

from __future__ import annotations

import os

__all__ = ["THREAD_TIMEOUT", "compute_threads", "limit_idle_spin"]

THREAD_TIMEOUT = "22"
"""``OPENBLAS_THREAD_TIMEOUT``: idle worker threads spin for 2**THREAD_TIMEOUT CPU cycles."""


def limit_idle_spin() -> None:
    """Set ``OPENBLAS_THREAD_TIMEOUT`` unless it is set (effective before numpy loads)."""
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", THREAD_TIMEOUT)


def compute_threads() -> int:
    """Threads OpenBLAS runs one matrix product on: ``OPENBLAS_NUM_THREADS``, else
    ``GOTO_NUM_THREADS``, else ``OMP_NUM_THREADS`` (the first set to a positive integer),
    else the CPUs this process may run on (OpenBLAS's own order of precedence)."""
    for name in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return len(os.sched_getaffinity(0))
