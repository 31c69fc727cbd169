"""``bench_ingest.py`` here against another checkout, interleaved: the ingest rates' medians.

Run: ``python benchmarks/bench_ingest_compare.py --baseline /path/to/main [--runs 3]``

Each run starts ``benchmarks/bench_ingest.py`` of one checkout in a child process (its own
code and test helpers, so the baseline really is the other code), alternating between the
two checkouts so that load on the shared machine hits both alike. Each child already takes
the best of five interleaved passes; this script takes the median over ``--runs`` children
of each ingest rate it prints (folder, and tar.gz stream) and the ratio this/baseline.
Goal: this checkout within 10 % of the baseline (ratio >= 0.90).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
_RATE = re.compile(r"ours, (folder|tar\.gz stream):\s+([\d,]+) segments/s")


def ingest_rates(checkout: Path, segments: int) -> dict[str, float]:
    """segments/s of each ingest path bench_ingest.py of ``checkout`` prints."""
    child = subprocess.run(
        [
            sys.executable,
            str(checkout / "benchmarks" / "bench_ingest.py"),
            "--segments",
            str(segments),
            "--index-items",
            "20000",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return {path: float(rate.replace(",", "")) for path, rate in _RATE.findall(child.stdout)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="the checkout to beat")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--segments", type=int, default=40_000)
    args = parser.parse_args()
    checkouts = {"this": REPO_ROOT, "baseline": args.baseline.resolve()}
    rates: dict[str, list[dict[str, float]]] = {name: [] for name in checkouts}
    for run in range(args.runs):
        for name, checkout in checkouts.items():
            rates[name].append(ingest_rates(checkout, args.segments))
            print(f"  run {run + 1} {name:<8}: {rates[name][-1]}", flush=True)
    print(f"bench_ingest_compare: median of {args.runs} interleaved runs, segments/s")
    for path in ("folder", "tar.gz stream"):
        medians = {
            name: statistics.median(run[path] for run in runs) for name, runs in rates.items()
        }
        print(
            f"  {path:<14} this {medians['this']:10,.0f}   baseline {medians['baseline']:10,.0f}"
            f"   ratio {medians['this'] / medians['baseline']:.3f}  (goal >= 0.90)"
        )


if __name__ == "__main__":
    main()
