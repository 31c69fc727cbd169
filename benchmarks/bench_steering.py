"""Steered queries on a synthetic AudioSet-format catalog, against the same queries unsteered.

Run: ``python benchmarks/bench_steering.py [--items 100000] [--queries 200] [-k 10]``

The catalog: ``--items`` segments, each taking the label set of a random real segment of
AudioSet's balanced and eval lists (``../shared/data/audioset``), so label frequencies and
co-occurrences are AudioSet's; its 128-d vector is the sum of a random unit direction per
label plus Gaussian noise of the same size, so segments sharing labels lie near each other.
It is built with :class:`IndexBuilder` as an AudioSet build does.

Each query: a random stored segment's vector plus noise, and one ``more`` word, a label
drawn from the 50 most frequent genres and instruments (classes below "Music genre" or
"Musical instrument"). Reported, for k and the fixed width STEER_WIDTH_FACTOR x k:

- answered in full: the share of steered queries with k results (goal: at least 90 %),
  and the spread of ``qualified`` for the rest;
- similarity kept: the mean cosine of the steered results to the query over the mean of
  the unsteered top-k's (goal: at least 90 %);
- latency: median and 95th percentile per query of the unsteered and steered search, and
  the median of the per-query difference (goal: at most 20 ms added).

``--width-factor`` tries another width than STEER_WIDTH_FACTOR (for this run only).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from musicrec_core import recommender as recommender_module  # noqa: E402
from musicrec_core.catalog.audioset.build import AUDIOSET_EMBEDDER  # noqa: E402
from musicrec_core.catalog.index import CatalogIndex, IndexBuilder, ItemMeta  # noqa: E402
from musicrec_core.catalog.labels import read_labels, read_ontology_nodes  # noqa: E402
from musicrec_core.recommender import Recommender  # noqa: E402
from musicrec_core.steering import STEER_WIDTH_FACTOR, LabelSteering, Vocabulary  # noqa: E402
from tests.helpers.shared_data import AUDIOSET_METADATA  # noqa: E402

COMMON_LABELS = 50
SEGMENT_LISTS = ("balanced_train_segments.csv", "eval_segments.csv")


class _Identity:
    """Stands for the VGGish embedder: the queries are vectors, nothing is embedded."""

    id = AUDIOSET_EMBEDDER


def real_label_sets(names_by_mid: dict[str, str]) -> list[tuple[str, ...]]:
    """Every segment's label names from the balanced and eval lists."""
    sets = []
    for file_name in SEGMENT_LISTS:
        with open(AUDIOSET_METADATA / file_name, newline="") as handle:
            rows = csv.reader(
                (line for line in handle if not line.startswith("#")), skipinitialspace=True
            )
            for row in rows:
                names = tuple(names_by_mid[mid] for mid in row[3].split(",") if mid in names_by_mid)
                if names:
                    sets.append(names)
    return sets


def build(target: Path, items: int, label_sets: list, names: list[str], weight: float, rng) -> None:
    dim = AUDIOSET_EMBEDDER.dim
    directions = rng.standard_normal((len(names), dim)).astype(np.float32)
    directions *= weight / np.linalg.norm(directions, axis=1, keepdims=True)
    column = {name: i for i, name in enumerate(names)}
    chosen = [label_sets[i] for i in rng.integers(len(label_sets), size=items)]
    with IndexBuilder(target, embedder=AUDIOSET_EMBEDDER, pooling="mean") as builder:
        for start in range(0, items, 10_000):
            batch = chosen[start : start + 10_000]
            vectors = rng.standard_normal((len(batch), dim)).astype(np.float32) / np.sqrt(dim)
            for row, label_names in enumerate(batch):
                vectors[row] += directions[[column[n] for n in label_names]].sum(axis=0)
            metas = [
                ItemMeta(group=f"v{start + row:09d}", start_s=30.0, end_s=40.0, labels=label_names)
                for row, label_names in enumerate(batch)
            ]
            builder.add_many(vectors, metas)
        builder.commit({"source": "audioset"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument(
        "--label-weight",
        type=float,
        default=1.0,
        help="length of each label's direction against the noise's 1 (0: labels and "
        "vectors independent)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        help="keep the built catalog in this folder and reuse it when it is already there "
        "(the same --items and --label-weight; a 1M build takes minutes)",
    )
    parser.add_argument(
        "--width-factor",
        type=int,
        default=STEER_WIDTH_FACTOR,
        help="try another width than the recommender's STEER_WIDTH_FACTOR (set for this run)",
    )
    args = parser.parse_args()
    recommender_module.STEER_WIDTH_FACTOR = args.width_factor
    rng = np.random.default_rng(19)
    classes = read_labels(AUDIOSET_METADATA / "class_labels_indices.csv")
    vocabulary = Vocabulary.for_audioset(
        classes, read_ontology_nodes(AUDIOSET_METADATA / "ontology.json")
    )
    label_sets = real_label_sets({c.mid: c.name for c in classes})
    musical = set(vocabulary.resolve("Music genre").names) | set(
        vocabulary.resolve("Musical instrument").names
    )
    counts = Counter(name for names in label_sets for name in names if name in musical)
    common = [name for name, _ in counts.most_common(COMMON_LABELS)]
    with tempfile.TemporaryDirectory() as work:
        target = args.cache or Path(work) / "index"
        if not (target / "CURRENT").is_file():
            started = time.perf_counter()
            names = [c.name for c in classes]
            build(target, args.items, label_sets, names, args.label_weight, rng)
            print(f"built {args.items:,} items in {time.perf_counter() - started:.1f} s")
        recommender = Recommender(CatalogIndex.load(target), _Identity())
        index = recommender.index
        full, shortfalls, plain_ms, steered_ms, ratios = 0, [], [], [], []
        for _ in range(args.queries):
            base = index.vector(int(rng.integers(len(index))))
            query = (base + rng.standard_normal(base.shape).astype(np.float32) * 0.05).astype(
                np.float32
            )
            steering = LabelSteering.from_words(vocabulary, [str(rng.choice(common))], [])
            t0 = time.perf_counter()
            plain = recommender.recommend_vector(query, args.k, pooling="mean")
            t1 = time.perf_counter()
            steered = recommender.recommend_vector(query, args.k, pooling="mean", steering=steering)
            t2 = time.perf_counter()
            plain_ms.append((t1 - t0) * 1000)
            steered_ms.append((t2 - t1) * 1000)
            if len(steered.items) == args.k:
                full += 1
            else:
                shortfalls.append(steered.steering.qualified)
            if steered.items:
                mean = statistics.fmean(i.window_cosine for i in steered.items)
                ratios.append(mean / statistics.fmean(i.window_cosine for i in plain.items))
        recommender.close()
    width = args.width_factor * args.k
    print(f"k={args.k}, width {width}, {args.queries} queries, one of {len(common)} labels each")
    short = ", ".join(f"{n} qualified: {c}" for n, c in sorted(Counter(shortfalls).items()))
    print(f"answered in full: {full / args.queries:.1%}; the rest: {short or 'none'}")
    share = [counts[name] / len(label_sets) for name in common]
    print(f"the labels' share of real segments: {min(share):.2%} to {max(share):.2%}")
    print(f"similarity kept: mean steered/unsteered cosine ratio {statistics.fmean(ratios):.3f}")
    for name, times in (("unsteered", plain_ms), ("steered", steered_ms)):
        p95 = statistics.quantiles(times, n=20)[-1]
        print(f"{name}: median {statistics.median(times):.2f} ms, p95 {p95:.2f} ms")
    added = [s - p for s, p in zip(steered_ms, plain_ms, strict=True)]
    print(f"added by steering: median {statistics.median(added):.2f} ms")


if __name__ == "__main__":
    main()
