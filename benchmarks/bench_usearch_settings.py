"""usearch's build settings side by side: what each costs to build and what it finds.

Run: ``nice python benchmarks/bench_usearch_settings.py [--size 200000] [--queries 300]
[--settings 16,128,f32 16,64,f32 16,32,f32 16,64,f16 16,64,i8]``

Data: bench_index.py's *hard* set and its held-out queries, with exact cosine top-10 as the
truth. Each setting (connectivity, expansion_add, stored scalar type) builds a usearch
index of the same vectors in this process, in chunks of 50,000, with all threads, and
prints its build's wall and CPU seconds, the saved file's bytes per item, and for a few
search efforts (HNSW's ef: 64, 128, 256) recall@10 and the p50 / p99 of one query at a
time (after one warm-up pass). The first setting is the baseline: each row ends with its
build CPU as a ratio of the first's. The load average is printed with each build, since
wall time on a shared machine says more about the neighbours than about the build.

This is how the shipped default (expansion_add 64, float32 storage) was chosen;
bench_index_backends.py measures the chosen default beside Annoy through the product's
own index classes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from usearch.index import Index

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_index import K, exact_top, make_data, recall, unit  # noqa: E402

CHUNK = 50_000
EFFORTS = (64, 128, 256)


def build(
    data: np.ndarray, connectivity: int, expansion_add: int, dtype: str
) -> tuple[Index, float, float]:
    """A usearch index of ``data`` ([n, 128] float32) and its build's (wall, CPU) seconds."""
    index = Index(
        ndim=data.shape[1],
        metric="cos",
        dtype=dtype,
        connectivity=connectivity,
        expansion_add=expansion_add,
    )
    keys = np.arange(len(data), dtype=np.uint64)
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(data), CHUNK):
        index.add(keys[start : start + CHUNK], data[start : start + CHUNK], threads=0)
    return index, time.perf_counter() - wall, time.process_time() - cpu


def file_bytes_per_item(index: Index, items: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "vectors.usearch")
        index.save(path)
        return os.path.getsize(path) / items


def searched(index: Index, queries: np.ndarray, effort: int) -> tuple[list[list[int]], np.ndarray]:
    """The top-K ids of each query and each query's milliseconds, one query at a time."""
    index.expansion_search = effort
    index.search(queries, K)  # warm-up
    found, millis = [], []
    for query in queries:
        start = time.perf_counter()
        matches = index.search(query, K)
        millis.append((time.perf_counter() - start) * 1000)
        found.append([int(key) for key in matches.keys])
    return found, np.array(millis)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument(
        "--settings",
        nargs="+",
        default=["16,128,f32", "16,64,f32", "16,32,f32", "16,64,f16", "16,64,i8"],
        help="connectivity,expansion_add,dtype for each build; the first is the baseline",
    )
    args = parser.parse_args()
    data, queries = make_data("hard", args.size, args.queries)
    truth = exact_top(unit(data), queries)
    baseline_cpu = None
    for setting in args.settings:
        connectivity, expansion_add, dtype = setting.split(",")
        index, wall, cpu = build(data, int(connectivity), int(expansion_add), dtype)
        baseline_cpu = baseline_cpu or cpu
        size = file_bytes_per_item(index, args.size)
        print(
            f"{setting}: build {wall:.0f} s, {cpu:.0f} CPU-s ({cpu / baseline_cpu:.2f}x the"
            f" first), {size:.0f} bytes per item, load {os.getloadavg()[0]:.1f}"
        )
        for effort in EFFORTS:
            found, millis = searched(index, queries, effort)
            p50, p99 = np.percentile(millis, [50, 99])
            print(
                f"    ef {effort}: recall@10 {recall(found, truth):.3f},"
                f" p50 {p50:.2f} ms, p99 {p99:.2f} ms"
            )
        index.reset()


if __name__ == "__main__":
    main()
