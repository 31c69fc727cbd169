"""Catalog index: Annoy (our CatalogIndex) vs exact numpy search vs Voyager, on 128-d data.

Run: ``python benchmarks/bench_index.py [--sizes 100000 1000000] [--queries 300]``
     ``python benchmarks/bench_index.py --sweep`` (the n_trees x search_k tuning table)
     ``python benchmarks/bench_index.py --pooling`` (the pooling-rule experiment)

Data (generated, float32, 128-d, seeded): cluster centres ~ N(0, 1) per dimension;
queries are held-out points of the same distribution.
- easy: 16 tight clusters of low intrinsic dimension: point = centre + z @ B + noise, z ~
  N(0, 1) in 8 dimensions, B a fixed 8 x 128 matrix of N(0, 0.3), noise N(0, 0.05).
- hard: size / 100 clusters, point = centre + N(0, 1) in all 128 dimensions: the clusters
  overlap (a point lies about 11.3 from its centre, two centres about 16 apart), and within
  a cluster the points are isotropic, the worst case for trees.

Per data set and size, in one process:
- exact: normalised matrix @ query + argpartition, one query at a time (the baseline);
  also the ground truth for recall@10 (cosine, i.e. the angular metric).
- ours: IndexBuilder (Annoy angular + SQLite metadata + manifest, default n_trees) and
  CatalogIndex.search at the default search_k: recall@10, queries/s on one thread,
  speed-up over exact, build time, file size, CatalogIndex.load time (page cache warm:
  the files were just written), peak RSS of the build.
- voyager: cosine HNSW (M=16, ef_construction=100, ef=... tuned to reach the same recall
  where possible), same figures (size = saved file, load = Index.load).
Peak RSS is VmHWM, reset before each phase through /proc/self/clear_refs.

Goals (hard, 1M): recall@10 >= 0.95 at >= 30x exact speed; load <= 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from musicrec_core.catalog.index import (  # noqa: E402
    DEFAULT_N_TREES,
    CatalogIndex,
    IndexBuilder,
    ItemMeta,
)
from musicrec_core.embedders.base import EmbedderId  # noqa: E402

DIM = 128
K = 10
EMBEDDER = EmbedderId(name="bench", version="1", dim=DIM)


def make_data(name: str, size: int, queries: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """(data [size, 128], queries [queries, 128]) float32 for setting ``name``."""
    rng = np.random.default_rng(seed)
    clusters = 16 if name == "easy" else size // 100
    centres = rng.normal(size=(clusters, DIM)).astype(np.float32)
    basis = rng.normal(scale=0.3, size=(8, DIM)).astype(np.float32)
    out = np.empty((size + queries, DIM), dtype=np.float32)
    for start in range(0, size + queries, 200_000):
        rows = min(start + 200_000, size + queries) - start
        block = centres[rng.integers(0, clusters, rows)]
        if name == "easy":
            block += rng.normal(size=(rows, 8)).astype(np.float32) @ basis
            block += rng.normal(scale=0.05, size=(rows, DIM)).astype(np.float32)
        else:
            block += rng.normal(size=(rows, DIM)).astype(np.float32)
        out[start : start + rows] = block
    return out[:size], out[size:]


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def exact_top(units: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Ground truth: int [q, K] ids of the K most cosine-similar rows, batched."""
    truth = np.empty((len(queries), K), dtype=np.int64)
    for start in range(0, len(queries), 64):
        scores = unit(queries[start : start + 64]) @ units.T
        top = np.argpartition(-scores, K, axis=1)[:, :K]
        truth[start : start + 64] = top
    return truth


def reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def peak_rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    hits = sum(len(set(f) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return hits / (K * len(truth))


def per_query_seconds(
    search: Callable[[np.ndarray], list[int]], queries: np.ndarray
) -> tuple[float, list[list[int]]]:
    """Best of two passes over the queries, one query at a time; returns (s/query, results)."""
    best = float("inf")
    results: list[list[int]] = []
    for _ in range(2):
        started = time.perf_counter()
        results = [search(q) for q in queries]
        best = min(best, (time.perf_counter() - started) / len(queries))
    return best, results


@dataclass
class Row:
    engine: str
    recall: float
    query_ms: float
    speedup: float
    build_s: float
    size_mb: float
    load_s: float
    peak_mb: float

    def line(self) -> str:
        return (
            f"  {self.engine:<22} recall@10 {self.recall:.3f}  {1000 / self.query_ms:8.0f} q/s "
            f"({self.query_ms:7.3f} ms)  x{self.speedup:6.1f} vs exact  build {self.build_s:6.1f} s"
            f"  size {self.size_mb:7.1f} MB  load {self.load_s * 1000:6.1f} ms  "
            f"peak RSS {self.peak_mb:6.0f} MB"
        )


def bench_exact(units: np.ndarray, queries: np.ndarray) -> float:
    sample = queries[: max(10, min(len(queries), 40))]

    def search(q: np.ndarray) -> list[int]:
        scores = units @ (q / np.linalg.norm(q))
        return np.argpartition(-scores, K)[:K].tolist()

    seconds, _ = per_query_seconds(search, sample)
    return seconds


def build_ours(
    data: np.ndarray, folder: Path, n_trees: int | None, backend: str = "annoy"
) -> tuple[float, float]:
    """Publish ``data`` as an index at ``folder``; returns (build seconds, peak RSS MB)."""
    reset_peak()
    started = time.perf_counter()
    with IndexBuilder(
        folder, embedder=EMBEDDER, pooling="mean", backend=backend, n_trees=n_trees
    ) as builder:
        meta = ItemMeta(group="g", start_s=0.0, end_s=10.0, labels=("Music",))
        for start in range(0, len(data), 50_000):
            chunk = data[start : start + 50_000]
            builder.add_many(chunk, [meta] * len(chunk))
        builder.commit()
    return time.perf_counter() - started, peak_rss_mb()


def bench_ours(
    data: np.ndarray, queries: np.ndarray, truth: np.ndarray, exact_s: float, folder: Path
) -> Row:
    build_s, peak = build_ours(data, folder, DEFAULT_N_TREES)
    started = time.perf_counter()
    index = CatalogIndex.load(folder, expect_embedder=EMBEDDER)
    load_s = time.perf_counter() - started
    seconds, found = per_query_seconds(lambda q: [i for i, _ in index.search(q, K)], queries)
    size = sum(entry["size"] for entry in index.manifest["files"].values())
    index.close()
    return Row(
        f"annoy (ours, k={index.default_search_k})",
        recall(found, truth),
        seconds * 1000,
        exact_s / seconds,
        build_s,
        size / 1e6,
        load_s,
        peak,
    )


def bench_voyager(
    data: np.ndarray, queries: np.ndarray, truth: np.ndarray, exact_s: float, folder: Path
) -> list[Row]:
    import voyager

    reset_peak()
    started = time.perf_counter()
    index = voyager.Index(voyager.Space.Cosine, num_dimensions=DIM, M=16, ef_construction=100)
    index.add_items(data, num_threads=-1)
    build_s = time.perf_counter() - started
    peak = peak_rss_mb()
    path = folder / "voyager.index"
    index.save(str(path))
    del index
    started = time.perf_counter()
    index = voyager.Index.load(str(path))
    load_s = time.perf_counter() - started
    rows = []
    for ef in (32, 64, 128):
        seconds, found = per_query_seconds(
            lambda q, ef=ef: index.query(q, k=K, query_ef=ef)[0].tolist(), queries
        )
        rows.append(
            Row(
                f"voyager (ef={ef})",
                recall(found, truth),
                seconds * 1000,
                exact_s / seconds,
                build_s,
                path.stat().st_size / 1e6,
                load_s,
                peak,
            )
        )
    return rows


def run_main(sizes: list[int], n_queries: int, with_voyager: bool) -> None:
    print(
        f"bench_index: 128-d, recall@10, one thread per query; n_trees={DEFAULT_N_TREES}, "
        f"default search_k = 4% of the items in [10k, 100k]; {os.cpu_count()} CPUs"
    )
    for size in sizes:
        for name in ("easy", "hard"):
            data, queries = make_data(name, size, n_queries)
            units = unit(data)
            truth = exact_top(units, queries)
            exact_s = bench_exact(units, queries)
            print(f"{name} {size:,}: exact numpy {exact_s * 1000:.2f} ms/query")
            with tempfile.TemporaryDirectory(prefix="musicrec-bench-") as tmp:
                print(bench_ours(data, queries, truth, exact_s, Path(tmp) / "index").line())
                del units
                if with_voyager and (size <= 100_000 or name == "hard"):
                    for row in bench_voyager(data, queries, truth, exact_s, Path(tmp)):
                        print(row.line())
            sys.stdout.flush()


def run_sweep(size: int, n_queries: int, trees: list[int]) -> None:
    """Recall and speed for n_trees x search_k on the hard set (the tuning table)."""
    data, queries = make_data("hard", size, n_queries)
    units = unit(data)
    truth = exact_top(units, queries)
    exact_s = bench_exact(units, queries)
    print(f"sweep, hard {size:,}: exact {exact_s * 1000:.2f} ms/query")
    for n_trees in trees:
        with tempfile.TemporaryDirectory(prefix="musicrec-bench-") as tmp:
            build_s, _ = build_ours(data, Path(tmp) / "i", n_trees)
            index = CatalogIndex.load(Path(tmp) / "i")
            size_mb = sum(e["size"] for e in index.manifest["files"].values()) / 1e6
            print(f"  n_trees {n_trees}: build {build_s:.1f} s, {size_mb:.0f} MB")
            for search_k in (2_000, 5_000, 10_000, 20_000, 40_000):
                seconds, found = per_query_seconds(
                    lambda q, k=search_k, index=index: [
                        i for i, _ in index.search(q, K, search_k=k)
                    ],
                    queries,
                )
                print(
                    f"    search_k {search_k:>6}: recall@10 {recall(found, truth):.3f} "
                    f"{seconds * 1000:6.3f} ms  x{exact_s / seconds:5.1f}"
                )
            index.close()


def _quantized_windows(
    centres: np.ndarray, spreads: np.ndarray, rng: np.random.Generator, videos: int
) -> np.ndarray:
    """One 10-s window per video, quantized and dequantized like VGGish: [videos, 10, 128]."""
    from musicrec_core.embedders.vggish.postprocess import dequantize

    values = centres + spreads * rng.normal(size=(videos, 10, DIM))
    return dequantize(((np.clip(values, -2, 2) + 2) * 255 / 4).astype(np.uint8))


def run_pooling(videos: int = 2000, seed: int = 3) -> None:
    """Which pooling rule finds a video's other window? (the DEFAULT_POOLING evidence)

    Synthetic videos: a video has a centre (N(0, c) per dimension) and its own spread per
    dimension; each second is centre + spread * N(0, 1), quantized like VGGish (clip to
    [-2, 2], 8 bits). The index holds one 10-s window per video, the queries another 10-s
    window of the same video; top-1 = the own video comes first (cosine). Regimes: videos
    differing by their centre (large c) or only by their spread (small c), with spreads
    that differ a lot between videos (uniform 0.3..1.5) or little (0.6..0.8).
    """
    from musicrec_core.catalog.pooling import POOLING_RULES, pool_many

    print(f"pooling experiment: {videos} synthetic videos, query = another 10-s window")
    for centre_scale in (0.5, 0.2, 0.1):
        for low, high in ((0.3, 1.5), (0.6, 0.8)):
            rng = np.random.default_rng(seed)
            centres = rng.normal(scale=centre_scale, size=(videos, 1, DIM))
            spreads = rng.uniform(low, high, size=(videos, 1, DIM))

            indexed, asked = (_quantized_windows(centres, spreads, rng, videos) for _ in range(2))
            scores = []
            for rule in POOLING_RULES:
                a, b = unit(pool_many(indexed, rule)), unit(pool_many(asked, rule))
                top1 = float(np.mean(np.argmax(b @ a.T, axis=1) == np.arange(videos)))
                scores.append(f"{rule} {top1:.3f}")
            print(f"  centre std {centre_scale}, spreads {low}..{high}: " + ", ".join(scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--no-voyager", action="store_true")
    parser.add_argument("--sweep", action="store_true", help="tuning table instead")
    parser.add_argument("--trees", type=int, nargs="+", default=[20, 50, 100])
    parser.add_argument("--pooling", action="store_true", help="pooling experiment instead")
    args = parser.parse_args()
    if args.pooling:
        run_pooling()
    elif args.sweep:
        run_sweep(args.sizes[0], args.queries, args.trees)
    else:
        run_main(args.sizes, args.queries, not args.no_voyager)


if __name__ == "__main__":
    main()
