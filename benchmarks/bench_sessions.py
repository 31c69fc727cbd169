"""Listening sessions on a synthetic catalog: flow of a mix against the plain top-N, how a
path moves towards B, and CPU per session (issue 20's figures).

Run: ``nice python benchmarks/bench_sessions.py [--items 100000] [--sessions 100] [-n 50]
[--steps 10] [--pairs 100] [--cache /tmp/sessions-100k]``

The catalog: ``--items`` 128-d items, one per video (as AudioSet), built with
:class:`IndexBuilder` and its shipped Annoy settings. Each item is the unit sum of one of
100 style directions, one of 2,000 sub-style directions (0.7 of a style's length) and
Gaussian noise of the same length, so there are neighbourhoods to flow through.

Each seed is a random item (its own group excluded, as a query's own video is). In the
same run, for each seed:

- plain top-N: ``nearest_groups`` for N results, in rank order (the baseline);
- a mix of N, the owner rules on (each video its own owner: they reduce to "no repeats"
  here) and off.

Flow: the mean cosine between consecutive tracks (the N - 1 steps of the list, seed not
counted) and the worst step; the threshold is the 10th-percentile *distance* of random
pairs, i.e. the 90th-percentile cosine of 200,000 random pairs (a step is "close" when
its cosine is above it). Path: ``--pairs`` random pairs (A, B) of items, ``--steps``
points, by the shipped rule (each point planned from the track before: the remaining way
split evenly) and, as the baseline in the same run, the rule before it (every point fixed
on the A-B circle at the start, :func:`fixed_points_path`); for each, the steps kept (the
rest merged), the share of steps kept at which the cosine to B rises (the first step
against A's own), and the share of paths whose every step (A -> first, between items,
last -> B) beats the threshold. CPU: ``time.process_time`` per session (after the seeds
are embedded: vectors given).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from musicrec_core.catalog.audioset.build import AUDIOSET_EMBEDDER  # noqa: E402
from musicrec_core.catalog.index import CatalogIndex, IndexBuilder, ItemMeta  # noqa: E402
from musicrec_core.catalog.ranking import nearest_groups  # noqa: E402
from musicrec_core.sessions import Session, mix, path  # noqa: E402
from musicrec_core.sessions.candidates import CandidateSearch, unit  # noqa: E402
from musicrec_core.sessions.items import PathItem  # noqa: E402
from musicrec_core.sessions.path import nearest_ahead, sphere_points  # noqa: E402
from musicrec_core.sessions.variety import Variety  # noqa: E402

STYLES, SUB_STYLES = 100, 2000


def build(target: Path, items: int, seed: int = 0) -> np.ndarray:
    """Build the catalog in ``target``; returns each item's sub-style (int [items])."""
    rng = np.random.default_rng(seed)
    dim = AUDIOSET_EMBEDDER.dim
    styles = _unit(rng.standard_normal((STYLES, dim)))
    subs = _unit(rng.standard_normal((SUB_STYLES, dim)))
    sub_style = rng.integers(0, STYLES, SUB_STYLES)
    chosen = []
    with IndexBuilder(target, embedder=AUDIOSET_EMBEDDER, pooling="mean") as builder:
        for start in range(0, items, 10_000):
            count = min(10_000, items - start)
            sub = rng.integers(0, SUB_STYLES, count)
            chosen.append(sub)
            noise = _unit(rng.standard_normal((count, dim)))
            vectors = _unit(styles[sub_style[sub]] + 0.7 * subs[sub] + noise)
            metas = [
                ItemMeta(group=f"v{start + i:07d}", start_s=30.0, end_s=40.0, labels=())
                for i in range(count)
            ]
            builder.add_many(vectors.astype(np.float32), metas)
        builder.commit({"source": "audioset"})
    return np.concatenate(chosen)


def fixed_points_path(
    index: CatalogIndex,
    a_vector: np.ndarray,
    b_vector: np.ndarray,
    steps: int,
    *,
    exclude_groups: set[str],
) -> Session[PathItem]:
    """The path rule before the shipped one (the baseline): every point fixed on the A-B
    circle at i / (steps + 1), the nearest playable item nearer B than the step before."""
    a, b = unit(a_vector), unit(b_vector)
    search, rules = CandidateSearch(index), Variety(steps, excluded=exclude_groups)
    items, to_b = [], float(a @ b)
    for point in sphere_points(a, b, steps):
        found = nearest_ahead(search, rules, point, a, b, to_b)
        if found is not None:
            rules.take(found[0].meta)
            items.append(found[0])
            to_b = found[0].to_b
    return Session(tuple(items), steps)


def _unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def steps_of(vectors: np.ndarray) -> np.ndarray:
    """Cosines between consecutive unit rows."""
    return np.einsum("ij,ij->i", vectors[:-1], vectors[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("-n", type=int, default=50)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--cache", type=Path)
    args = parser.parse_args()
    folder = args.cache or Path(tempfile.mkdtemp(prefix="bench-sessions-"))
    if not (folder / "CURRENT").is_file():
        started = time.perf_counter()
        build(folder, args.items)
        print(f"built {args.items} items in {time.perf_counter() - started:.0f} s")
    rng = np.random.default_rng(1)
    with CatalogIndex.load(folder) as index:

        def unit_of(ids: list[int]) -> np.ndarray:
            return _unit(index.vectors(np.array(ids, dtype=np.int64)))

        pairs = rng.integers(0, len(index), (200_000, 2))
        left, right = unit_of(pairs[:, 0].tolist()), unit_of(pairs[:, 1].tolist())
        close = float(np.quantile(np.einsum("ij,ij->i", left, right), 0.9))
        print(
            f"catalog {len(index)} items; random pairs: 90th-percentile cosine {close:.3f} "
            "(= 10th-percentile distance)"
        )
        figures: dict[str, dict[str, list[float]]] = {}
        for seed_id in rng.integers(0, len(index), args.sessions).tolist():
            seed = index.vector(seed_id)
            own = {index.meta(seed_id).group}
            ways = {}
            started = time.process_time()
            plain = nearest_groups(index, seed, args.n, own)
            ways["plain top-N"] = ([f.item_id for f in plain], time.process_time() - started)
            for label, variety in (("mix, rules on", True), ("mix, rules off", False)):
                started = time.process_time()
                session = mix(index, [seed], args.n, variety=variety, exclude_groups=own)
                ways[label] = ([i.item_id for i in session.items], time.process_time() - started)
            for label, (ids, cpu) in ways.items():
                flow = steps_of(unit_of(ids))
                row = figures.setdefault(label, {"mean": [], "worst": [], "cpu": [], "n": []})
                row["mean"].append(float(flow.mean()))
                row["worst"].append(float(flow.min()))
                row["cpu"].append(cpu * 1000)
                row["n"].append(len(ids))
        base = statistics.mean(figures["plain top-N"]["mean"])
        print(f"\nflow, {args.sessions} seeds, N = {args.n}")
        print(
            "way | mean step cosine | vs plain | worst step (median) | seeds whose worst "
            "step beats p10 distance | CPU ms p50 / p95 | length"
        )
        for label, row in figures.items():
            cpu = sorted(row["cpu"])
            beats = sum(w > close for w in row["worst"]) / len(row["worst"])
            print(
                f"{label} | {statistics.mean(row['mean']):.3f} | "
                f"{statistics.mean(row['mean']) / base:.2f} | "
                f"{statistics.median(row['worst']):.3f} | {beats:.0%} | "
                f"{statistics.median(cpu):.1f} / {cpu[int(0.95 * (len(cpu) - 1))]:.1f} | "
                f"{min(row['n'])}-{max(row['n'])}"
            )
        rules = {"re-planned (shipped)": path, "fixed points (before)": fixed_points_path}
        paths = {label: {"rising": [], "close": [], "cpu": [], "kept": []} for label in rules}
        for _ in range(args.pairs):
            a_id, b_id = rng.integers(0, len(index), 2).tolist()
            a, b = index.vector(a_id), index.vector(b_id)
            own = {index.meta(a_id).group, index.meta(b_id).group}
            for label, rule in rules.items():
                row = paths[label]
                started = time.process_time()
                session = rule(index, a, b, args.steps, exclude_groups=own)
                row["cpu"].append((time.process_time() - started) * 1000)
                to_b = [float(unit(a) @ unit(b))] + [i.to_b for i in session.items]
                row["rising"] += [later > earlier for earlier, later in pairwise(to_b)]
                chain = unit_of([a_id, *(i.item_id for i in session.items), b_id])
                row["close"].append(bool((steps_of(chain) > close).all()))
                row["kept"].append(len(session.items))
        print(f"\npath, {args.pairs} random pairs, {args.steps} steps")
        print(
            "rule | steps kept (mean, min-max) | cosine to B rises at (of steps kept) | "
            "paths whose every step beats p10 distance | CPU ms p50 / p95"
        )
        for label, row in paths.items():
            cpu = sorted(row["cpu"])
            print(
                f"{label} | {statistics.mean(row['kept']):.1f}, {min(row['kept'])}-"
                f"{max(row['kept'])} | {statistics.mean(row['rising'] or [0]):.0%} | "
                f"{statistics.mean(row['close']):.0%} | {statistics.median(cpu):.1f} / "
                f"{cpu[int(0.95 * (len(cpu) - 1))]:.1f}"
            )


if __name__ == "__main__":
    main()
