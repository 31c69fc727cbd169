"""What checking an API key and its rate costs a request: per-call CPU time, same run.

Run: ``python benchmarks/bench_api_keys.py [--keys 100] [--calls 200000]``

Measured, interleaved in rounds so all see the same machine:
- baseline: ``hashlib.sha256`` of the presented key and a dict lookup, the least any
  hash-index check can cost;
- lookup: :meth:`ApiKeyStore.lookup` of a live key (hash, prefix check, lock, the
  once-a-second ``PRAGMA data_version`` with the real clock);
- lookup, re-read every call: the same with the file changed by another connection before
  every call and a clock that lets every call check, so every lookup reloads the table
  (the cost of the change itself is measured alone and taken off): what the first request
  after a ``musicrec api-key`` command pays;
- bucket + in-flight: :meth:`TokenBucket.take` and :meth:`InFlight.enter`/``leave``.

Prints microseconds per call and each one's ratio to the baseline. Issue 21 allows the
whole API 3 ms over the in-process call at p50; the key check should be a few microseconds.
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from musicrec_core.api.key_limits import KeyLimits  # noqa: E402
from musicrec_core.api.keys import ApiKeyStore  # noqa: E402
from musicrec_core.api.rate import InFlight, TokenBucket  # noqa: E402

ROUNDS = 5


def per_call_us(action: Callable[[], object], calls: int) -> float:
    """CPU microseconds per call of ``action`` over ``calls`` calls."""
    start = time.process_time()
    for _ in range(calls):
        action()
    return (time.process_time() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100, help="live keys in the store")
    parser.add_argument("--calls", type=int, default=200_000, help="calls per measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "keys.sqlite3"
        store = ApiKeyStore(path)
        keys = [store.add(f"client-{i}", KeyLimits()) for i in range(args.keys)]
        presented = keys[len(keys) // 2]
        table = {hashlib.sha256(key.encode()).digest(): key for key in keys}

        def baseline() -> object:
            return table.get(hashlib.sha256(presented.encode()).digest())

        ticks = iter(range(10**9))
        rereading = ApiKeyStore(path, clock=lambda: float(next(ticks)))
        writer = sqlite3.connect(path, isolation_level=None)
        writer.execute("PRAGMA synchronous = OFF")

        def touch() -> object:  # a change (a no-op UPDATE moves nothing) by another connection
            return writer.execute(
                "UPDATE api_keys SET created_at = created_at + 1 WHERE name = 'client-0'"
            )

        def lookup_reread() -> object:
            touch()
            return rereading.lookup(presented)

        bucket = TokenBucket(rate=1e9, burst=10**9)
        flight = InFlight(4)

        def rate_check() -> object:
            bucket.take()
            flight.enter()
            flight.leave()
            return None

        figures: dict[str, list[float]] = {}
        reread_calls = max(1, args.calls // 20)
        for _ in range(ROUNDS):
            figures.setdefault("baseline", []).append(per_call_us(baseline, args.calls))
            figures.setdefault("lookup", []).append(
                per_call_us(lambda: store.lookup(presented), args.calls)
            )
            figures.setdefault("bucket + in-flight", []).append(per_call_us(rate_check, args.calls))
            write = per_call_us(touch, reread_calls)
            both = per_call_us(lookup_reread, reread_calls)
            figures.setdefault("lookup, re-read every call", []).append(max(0.0, both - write))
        assert store.lookup(presented) is not None
        assert rereading.lookup(presented) is not None
        writer.close()
    base = statistics.median(figures["baseline"])
    print(f"{args.keys} live keys, {args.calls} calls per measurement, median of {ROUNDS} rounds")
    for name, values in figures.items():
        us = statistics.median(values)
        print(f"{name:28s} {us:9.2f} us/call  {us / base:7.1f}x baseline")


if __name__ == "__main__":
    main()
