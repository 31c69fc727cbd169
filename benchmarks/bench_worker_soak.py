"""The decode worker pool under 1,000 sequential hostile files: nothing leaks, nothing grows.

Run: ``nice -n 19 python benchmarks/bench_worker_soak.py [--files 1000] [--check-at 100]``

The tests' hostile corpus (``tests/helpers/hostile_media.py``: empty, random bytes,
truncated MP3s, text, PNG, video without audio, 0.3 s, 3 hours of silence, NaN/inf float
WAVs, an HLS playlist, an ffconcat list) goes through ``load_clip`` and the process-wide
worker pool, one file after another, in a loop, ``--files`` files in all. Every file must
give its expected outcome (a clip, or exactly its typed error); the run stops otherwise.

At file ``--check-at`` and at the last one it records (after ``gc.collect()``):

- this process's resident memory (``VmRSS``) and PSS of it and its workers summed
  (``/proc/PID/smaps_rollup``), and the workers' own PSS;
- open descriptors of this process and of each worker (``/proc/PID/fd``);
- live child processes (any process whose parent is this one), and how many distinct
  worker processes served so far (a worker is replaced when it dies, runs out of memory or
  holds more than its resident cap after a file);
- entries of the temporary folder (``tempfile.gettempdir()``) and ``/dev/shm`` not there
  before the loop.

Prints both rows and the growth between them. Goals: no more children, descriptors or
temporary entries at the end than at the check, and memory growth under 5 %.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from proc_tree import children, descriptors, kib_field, pss_bytes  # noqa: E402

from musicrec_core.audio import load_clip  # noqa: E402
from musicrec_core.audio.decode_workers import default_workers  # noqa: E402
from tests.helpers.hostile_media import hostile_files  # noqa: E402

TEMPORARY_FOLDERS = (Path(tempfile.gettempdir()), Path("/dev/shm"))


def temporary_entries() -> set[Path]:
    return {entry for folder in TEMPORARY_FOLDERS for entry in folder.iterdir()}


def snapshot(served: set[int], before: set[Path]) -> dict[str, float]:
    """The figures of the module docstring, now."""
    gc.collect()
    workers = children(os.getpid())
    worker_pss = sum(pss_bytes(pid) for pid in workers)
    own_pss = pss_bytes(os.getpid())
    return {
        "rss MiB": kib_field("/proc/self/status", "VmRSS") / 2**20,
        "pss MiB": own_pss / 2**20,
        "worker pss MiB": worker_pss / 2**20,
        "tree pss MiB": (own_pss + worker_pss) / 2**20,
        "fds": descriptors(os.getpid()),
        "worker fds": sum(descriptors(pid) for pid in workers),
        "children": len(workers),
        "workers served": len(served),
        "new temp entries": len(temporary_entries() - before),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--check-at", type=int, default=100)
    args = parser.parse_args()
    pool = default_workers()
    if pool is None:
        raise SystemExit("PyAV or soxr is not installed: there are no decode workers to soak")
    print(f"1-min load average at the start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as scratch:
        corpus = list(hostile_files(Path(scratch) / "hostile").items())
        before = temporary_entries()
        served: set[int] = set()
        rows: dict[int, dict[str, float]] = {}
        began = time.perf_counter()
        for number, (name, (path, expected)) in enumerate(itertools.cycle(corpus), start=1):
            try:
                load_clip(path)
                outcome: type[Exception] | None = None
            except Exception as exc:  # compared with the expected class below
                outcome = type(exc)
            if expected is None and outcome is not None:
                raise SystemExit(f"file {number} ({name}): {outcome.__name__}, expected a clip")
            if expected is not None and (outcome is None or not issubclass(outcome, expected)):
                raise SystemExit(f"file {number} ({name}): {outcome}, expected {expected}")
            served.update(pool.idle_pids())
            if number in (args.check_at, args.files):
                rows[number] = snapshot(served, before)
            if number == args.files:
                break
        elapsed = time.perf_counter() - began
    first, last = rows[args.check_at], rows[args.files]
    print(f"{args.files} files ({len(corpus)} hostile kinds in a loop) in {elapsed:.0f} s, "
          f"{elapsed / args.files * 1e3:.0f} ms a file; every outcome as expected")  # fmt: skip
    print(f"{'':<18}{f'file {args.check_at}':>12}{f'file {args.files}':>12}{'change':>10}")
    for key in first:
        change = last[key] - first[key]
        relative = f"{change / first[key] * 100:+.1f}%" if key.endswith("MiB") else f"{change:+g}"
        print(f"{key:<18}{first[key]:12.1f}{last[key]:12.1f}{relative:>10}")
    growth = max(
        (last[key] - first[key]) / first[key] for key in ("rss MiB", "pss MiB", "tree pss MiB")
    )
    leaks = [key for key in ("fds", "worker fds", "children", "new temp entries")
             if last[key] > first[key]]  # fmt: skip
    print(f"largest memory growth {growth * 100:+.1f}% (goal < 5 %); "
          f"grown counts: {', '.join(leaks) or 'none'}")  # fmt: skip
    print(f"1-min load average at the end: {os.getloadavg()[0]:.2f}")
    pool.close()
    return 0 if growth < 0.05 and not leaks else 1


if __name__ == "__main__":
    sys.exit(main())
