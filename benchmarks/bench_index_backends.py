"""Vector backends side by side: Annoy (the default) and usearch, same data, same run.

Run: ``nice python benchmarks/bench_index_backends.py [--size 1000000] [--queries 300]
[--cache /tmp/bench_index_cache]``

Data: bench_index.py's *hard* set (size / 100 overlapping isotropic clusters, 128-d), its
held-out queries, and exact cosine top-10 as the truth. Each backend's index is built with
IndexBuilder at its defaults and kept under ``--cache`` (a later run reuses it and reports
the build time recorded then; delete the folder to rebuild); a build prints its wall and
CPU seconds (the CPU is the fairer figure on a shared machine) and the load average.

Each backend is then measured in its own fresh process (so one's pages never count for the
other): CatalogIndex.load time, resident and proportional bytes of the vector file's
mapping (Rss / Pss from /proc/self/smaps) right after the load and after the queries, and
the growth of the whole process's RSS; recall@10 and p50 / p99 latency of
CatalogIndex.search(query, 10) one query at a time, at the manifest's default effort
(second pass over the queries; the first warms the page cache), and for usearch at a few
other efforts. A server that answers random queries long enough maps the whole file, so
the file's bytes per item are its steady-state memory; the Rss after a few hundred queries
shows how far from that a fresh server starts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_index import (  # noqa: E402
    REPO_ROOT,
    bench_exact,
    build_ours,
    exact_top,
    make_data,
    recall,
    unit,
)

sys.path.insert(0, str(REPO_ROOT))

from musicrec_core.catalog.index import BACKENDS, DEFAULT_BACKEND, CatalogIndex  # noqa: E402

K = 10
USEARCH_EFFORTS = (64, 128, 256, 512)
"""Extra usearch efforts (HNSW ef) measured beside its default."""


def mapping_bytes(suffix: str) -> tuple[int, int]:
    """(Rss, Pss) in bytes of this process's mappings of files whose path ends with
    ``suffix``."""
    rss = pss = 0
    inside = False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        if "-" in fields[0] and ":" not in fields[0]:
            inside = len(fields) == 6 and fields[5].endswith(suffix)
        elif inside and fields[0] in ("Rss:", "Pss:"):
            value = int(fields[1]) * 1024
            rss, pss = (rss + value, pss) if fields[0] == "Rss:" else (rss, pss + value)
    return rss, pss


def process_rss() -> int:
    """VmRSS of this process, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def timed_pass(index: CatalogIndex, queries: np.ndarray, effort: int) -> tuple[np.ndarray, list]:
    """Per-query seconds and found ids of one pass, one query at a time."""
    seconds, found = [], []
    for query in queries:
        started = time.perf_counter()
        hits = index.search(query, K, search_k=effort)
        seconds.append(time.perf_counter() - started)
        found.append([item_id for item_id, _ in hits])
    return np.array(seconds), found


def child(folder: Path, queries_file: Path) -> None:
    """Measure one built index in this fresh process; prints one JSON object."""
    saved = np.load(queries_file)
    queries, truth = saved["queries"], saved["truth"]
    rss_before = process_rss()
    started = time.perf_counter()
    index = CatalogIndex.load(folder)
    load_s = time.perf_counter() - started
    vectors_file = BACKENDS[index.backend].vectors_file
    after_load = mapping_bytes(vectors_file)
    efforts = [index.default_search_k]
    if index.backend == "usearch":
        efforts += [e for e in USEARCH_EFFORTS if e != index.default_search_k]
    rows, after_queries, rss_growth = [], (0, 0), 0
    for effort in efforts:
        timed_pass(index, queries, effort)  # warms the pages this effort reads
        seconds, found = timed_pass(index, queries, effort)
        if effort == index.default_search_k:
            after_queries, rss_growth = mapping_bytes(vectors_file), process_rss() - rss_before
        rows.append(
            {
                "effort": effort,
                "recall": recall(found, truth),
                "p50_ms": float(np.percentile(seconds, 50) * 1000),
                "p99_ms": float(np.percentile(seconds, 99) * 1000),
            }
        )
    size = (index.directory / vectors_file).stat().st_size
    print(
        json.dumps(
            {
                "backend": index.backend,
                "items": len(index),
                "file_bytes": size,
                "build_s": index.manifest.get("build_seconds"),
                "load_ms": load_s * 1000,
                "after_load": after_load,
                "after_queries": after_queries,
                "rss_growth": rss_growth,
                "rows": rows,
            }
        )
    )
    index.close()


def measure(folder: Path, queries_file: Path) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(folder), "--queries-file", str(queries_file)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/bench_index_cache"))
    parser.add_argument("--backends", nargs="+", default=[DEFAULT_BACKEND, "usearch"])
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--queries-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.queries_file)
        return
    args.cache.mkdir(parents=True, exist_ok=True)
    data, queries = make_data("hard", args.size, args.queries)
    units = unit(data)
    truth = exact_top(units, queries)
    exact_s = bench_exact(units, queries)
    del units
    queries_file = args.cache / f"queries-hard-{args.size}-{args.queries}.npz"
    np.savez(queries_file, queries=queries, truth=truth)
    print(
        f"bench_index_backends: hard {args.size:,} x 128-d, {args.queries} queries, recall@10; "
        f"exact numpy {exact_s * 1000:.2f} ms/query"
    )
    results = {}
    for backend in args.backends:
        folder = args.cache / f"{backend}-hard-{args.size}"
        if not folder.exists():
            cpu_before = time.process_time()
            build_s, peak_mb = build_ours(data, folder, None, backend)
            print(
                f"  built {backend}: {build_s:.0f} s ({time.process_time() - cpu_before:.0f} "
                f"CPU-s, all threads), peak RSS {peak_mb:.0f} MB; {os.getloadavg()[0]:.1f} load",
                flush=True,
            )
        results[backend] = measure(folder, queries_file)
    base = results[args.backends[0]]["file_bytes"]
    mib = 1 << 20
    for name, result in results.items():
        items = result["items"]
        print(
            f"  {name:<8} file {result['file_bytes'] / mib:7.0f} MiB = "
            f"{result['file_bytes'] / items:6.0f} B/item (x{result['file_bytes'] / base:.2f}); "
            f"build {result['build_s']:.0f} s; load {result['load_ms']:.1f} ms; mapping "
            f"Rss/Pss after load {result['after_load'][0] / mib:.1f}/"
            f"{result['after_load'][1] / mib:.1f} MiB, after queries "
            f"{result['after_queries'][0] / mib:.0f}/{result['after_queries'][1] / mib:.0f} MiB "
            f"({result['after_queries'][0] / items:.0f} B/item); process RSS "
            f"+{result['rss_growth'] / mib:.0f} MiB"
        )
        for row in result["rows"]:
            print(
                f"    effort {row['effort']:>6}: recall@10 {row['recall']:.3f}  "
                f"p50 {row['p50_ms']:.2f} ms  p99 {row['p99_ms']:.2f} ms  "
                f"(x{exact_s * 1000 / row['p50_ms']:.1f} vs exact at p50)"
            )


if __name__ == "__main__":
    main()
