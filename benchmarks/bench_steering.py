"""Steered queries on a synthetic AudioSet-format catalog, against the same queries unsteered.

Run: ``nice python benchmarks/bench_steering.py [--items 1000000] [--queries 200] [-k 10]
[--cache /tmp/steer-1m]`` (a 1M build takes minutes: ``--cache`` keeps it for the next run)

The catalog: ``--items`` segments, each taking the label set of a random real segment of
AudioSet's balanced and eval lists (``../shared/data/audioset``), so label frequencies and
co-occurrences are AudioSet's; its 128-d vector is the sum of a random unit direction per
label plus Gaussian noise of the same size, so segments sharing labels lie near each other.
It is built with :class:`IndexBuilder` as an AudioSet build does.

Each query: one ``more`` word, a label drawn from the 50 most frequent genres and
instruments (classes below "Music genre" or "Musical instrument"), asked twice: of the
vector of a random stored segment plus noise, and of one carrying that label (ORIGINS).
Each is answered three ways in the same run: unsteered, the fixed-width post-filter (the
steering's words judged among STEER_WIDTH_FACTOR x k ranked groups, :class:`WidthOnly`:
the baseline) and the exact path (every segment the label index names, ranked by
cosine). Reported for each steered way:

- answered in full: the share of steered queries with k results (goal: at least 90 %),
  and how many of the rest had none or some qualifying;
- similarity kept: the mean cosine of the steered results to the query over the mean of
  the unsteered top-k's, over the queries answered (goal: at least 90 %). The exact path
  returns the k qualifying videos nearest the query, so no steering by labels keeps more;
  a label far from the query's own (a random segment's) keeps little by construction;
- latency: median and 95th percentile per query, and of the per-query difference to the
  same query unsteered (goal: at most 20 ms added).

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
from tests.helpers.width_only_steering import WidthOnly  # noqa: E402

COMMON_LABELS = 50
ORIGINS = {
    "any": "query from any segment",
    "carrying": "query from a segment carrying the label",
}
"""Where a query's stored vector is drawn from: "redirect" ("like this, but jazz" for any
clip) or "refine" (a clip that already carries the word)."""
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
    parser.add_argument("--items", type=int, default=1_000_000)
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
        started = time.perf_counter()
        index.label_items()
        index.vectors(np.arange(min(len(index), 1000)))
        print(f"first use of the label index and stored vectors: {_ms(started):.0f} ms")
        runs = {
            (origin, name): _Run() for origin in ORIGINS for name in ("unsteered", "width", "exact")
        }
        label_items, label_ids = (
            index.label_items(),
            {n: i for i, n in enumerate(index.label_names)},
        )
        for _ in range(args.queries):
            word = str(rng.choice(common))
            steering = LabelSteering.from_words(vocabulary, [word], [])
            carrying = label_items.items_with_any([label_ids[word]], len(index))
            for origin in ORIGINS:
                pool = carrying if origin == "carrying" else None
                seed = int(rng.choice(pool)) if pool is not None else int(rng.integers(len(index)))
                base = index.vector(seed)
                query = base + rng.standard_normal(base.shape).astype(np.float32) * 0.05
                plain = runs[origin, "unsteered"].ask(recommender, query, args.k, None)
                for name, steer in (("width", WidthOnly(steering)), ("exact", steering)):
                    runs[origin, name].ask(recommender, query, args.k, steer, plain)
        recommender.close()
    width = args.width_factor * args.k
    print(f"k={args.k}, {args.queries} queries of each origin, one of {len(common)} labels each")
    share = [counts[name] / len(label_sets) for name in common]
    print(f"the labels' share of real segments: {min(share):.2%} to {max(share):.2%}")
    title = {"width": f"post-filter, width {width}", "exact": "exact (label index)"}
    for (origin, name), run in runs.items():
        unsteered = runs[origin, "unsteered"]
        print(f"{ORIGINS[origin]}, {title.get(name, name)}: {run.report(args.k, unsteered)}")


class _Run:
    """One way of answering the queries: latencies, shortfalls, cosine ratios."""

    def __init__(self) -> None:
        self.ms: list[float] = []
        self.full = 0
        self.shortfalls: list[int] = []
        self.ratios: list[float] = []

    def ask(self, recommender: Recommender, query: np.ndarray, k: int, steering, plain=None):
        started = time.perf_counter()
        result = recommender.recommend_vector(query, k, pooling="mean", steering=steering)
        self.ms.append(_ms(started))
        if len(result.items) == k:
            self.full += 1
        elif result.steering is not None:
            self.shortfalls.append(result.steering.qualified)
        if plain is not None and result.items:
            mean = statistics.fmean(i.window_cosine for i in result.items)
            self.ratios.append(mean / statistics.fmean(i.window_cosine for i in plain.items))
        return result

    def report(self, k: int, unsteered: _Run) -> str:
        p95 = statistics.quantiles(self.ms, n=20)[-1]
        line = f"median {statistics.median(self.ms):.2f} ms, p95 {p95:.2f} ms"
        if self is unsteered:
            return line
        added = [s - p for s, p in zip(self.ms, unsteered.ms, strict=True)]
        line += f"; added: median {statistics.median(added):.2f} ms"
        line += f", p95 {statistics.quantiles(added, n=20)[-1]:.2f} ms"
        line += f"; answered in full: {self.full / len(self.ms):.1%}"
        short = Counter(self.shortfalls)
        none = short.pop(0, 0)
        line += f" (the rest: {none} with none qualifying, {sum(short.values())} with some)"
        if self.ratios:
            line += f"; similarity kept: {statistics.fmean(self.ratios):.3f} of unsteered"
        return line


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


if __name__ == "__main__":
    main()
