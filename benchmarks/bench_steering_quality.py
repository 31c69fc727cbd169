"""Steering on real music: how often a steered top-5 comes from the soundtracks its word
should favour, against the unsteered top-5 of the same queries, over a sweep of the
library tag threshold.

Run: ``python3 scripts/fetch_corpus.py [DIR] [--per-collection 8]`` once, then
``python benchmarks/bench_steering_quality.py [--corpus DIR] [--json out.json]``

The library: bench_quality's corpus (one collection per Debian soundtrack) indexed with
today's defaults and the musicnn MTT embedder (``build_library``; the embedding cache makes a
rebuild cheap). The words and the collections each should favour come from
``benchmarks/steering_judgements.json``, written from the collections' descriptions before
anything was measured.

Queries, leave-one-out: every track of the corpus, ``--clips-per-track`` 10-s windows at
seeded random offsets, each asked as a file would be (``Recommender.recommend_many``, its own
track left out of its answers). That answer is the baseline; then, for every word and every
threshold, the same query vector is asked again with ``LabelSteering.from_words(vocabulary,
[word], [], tag_threshold=t)`` (``Recommender.recommend_vector``), so steered and unsteered
differ only by the steering.

Figures per word and threshold, over all queries:
- *favoured@5*: favoured answers / (5 x queries); a missing answer counts as not favoured,
  so a threshold that leaves too few answers loses here.
- *precision*: favoured answers / answers given.
- *full*: the share of queries answered with all 5.
- *carriers*: the library tracks that carry the word at that threshold (favoured ones in
  brackets): with a width of 20 x k = 100 and a small library every track is searched.
The baseline: favoured@5 of the unsteered top-5 (always 5 answers).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from fetch_corpus import default_corpus_dir  # noqa: E402
from quality_data import Track, load_corpus  # noqa: E402

from musicrec_core import paths  # noqa: E402
from musicrec_core.catalog.index import CatalogIndex  # noqa: E402
from musicrec_core.catalog.library import build_library  # noqa: E402
from musicrec_core.clip import CLIP_SECONDS, Clip  # noqa: E402
from musicrec_core.embedders import load_embedder  # noqa: E402
from musicrec_core.recommender import RecommendationSet, Recommender  # noqa: E402
from musicrec_core.sources import clip_from_source  # noqa: E402
from musicrec_core.steering import LabelSteering, catalog_vocabulary  # noqa: E402
from musicrec_core.steering.carried_tags import carried_tags  # noqa: E402
from musicrec_core.tf_banner import silence_tensorflow_banner  # noqa: E402

JUDGEMENTS = ROOT / "benchmarks" / "steering_judgements.json"
K = 5
THRESHOLDS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
"""The tag thresholds swept (tag probabilities averaged over a track's windows)."""


@dataclass(frozen=True)
class Tally:
    """One word at one threshold (or unsteered), summed over the queries."""

    favoured: int
    answers: int
    full: int
    queries: int

    def figures(self) -> dict[str, float]:
        return {
            "favoured@5": self.favoured / (K * self.queries),
            "precision": self.favoured / self.answers if self.answers else 0.0,
            "full": self.full / self.queries,
        }


def query_clips(tracks: Sequence[Track], per_track: int, seed: int) -> list[Clip]:
    """``per_track`` 10-s windows of every track, offsets uniform in [0, duration - 10 s],
    each cut as a file the member names would be (its sha256 known, so its own track is left
    out of its answers)."""
    rng = np.random.default_rng(seed)
    clips = []
    for track in tracks:
        latest = max(0.0, track.duration_s - CLIP_SECONDS)
        for _ in range(per_track):
            start_s = round(float(rng.uniform(0, latest)), 3)
            clips.append(clip_from_source(str(track.path), start_s=start_s))
    return clips


def tally(answers: Sequence[RecommendationSet], favoured: set[str], collection_of) -> Tally:
    """Count favoured answers, answers and full answers over ``answers``."""
    good = given = full = 0
    for answer in answers:
        groups = [item.group for item in answer.items]
        if answer.query.own_groups & set(groups):
            raise SystemExit(f"a query's own track is among its answers: {answer.query}")
        good += sum(collection_of[group] in favoured for group in groups)
        given += len(groups)
        full += len(groups) == K
    return Tally(good, given, full, len(answers))


def carriers(index: CatalogIndex, word_tags: frozenset[str], threshold: float) -> list[str]:
    """The library tracks carrying one of ``word_tags`` at ``threshold``."""
    groups = sorted({meta.group for meta in index.metas(range(len(index)))})
    tags = index.track_tags(groups)
    return [g for g in groups if carried_tags(tags.get(g, ()), threshold) & word_tags]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=default_corpus_dir())
    parser.add_argument("--clips-per-track", type=int, default=2)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--work", type=Path, default=paths.cache_root() / "bench-steering")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    started = time.perf_counter()
    silence_tensorflow_banner()

    judgements = json.loads(JUDGEMENTS.read_text())["words"]
    tracks = load_corpus(args.corpus)
    collection_of = {track.key: track.collection for track in tracks}
    collections = sorted({track.collection for track in tracks})
    missing = {c for j in judgements.values() for c in j["favour"]} - set(collections)
    if missing:
        raise SystemExit(f"the judgements name collections not in the corpus: {sorted(missing)}")
    print(f"corpus: {len(tracks)} tracks in {len(collections)} collections ({args.corpus})")

    embedder = load_embedder("musicnn")
    build_start = time.perf_counter()
    index_dir = args.work / "index"
    report = build_library([str(args.corpus / name) for name in collections], index_dir, embedder)
    print(
        f"index: {report.items} items, {report.embedded} tracks embedded, {report.reused} "
        f"from the cache, {time.perf_counter() - build_start:.0f} s ({embedder.id})"
    )

    index = CatalogIndex.load(index_dir, expect_embedder=embedder.id)
    vocabulary = catalog_vocabulary(index)
    recommender = Recommender(index, embedder)
    query_start = time.perf_counter()
    clips = query_clips(tracks, args.clips_per_track, args.seed)
    unsteered = recommender.recommend_many(clips, K)
    print(
        f"{len(clips)} queries decoded, embedded and answered: "
        f"{time.perf_counter() - query_start:.0f} s"
    )
    steer_start = time.perf_counter()

    results: dict[str, dict[str, object]] = {}
    for word, judgement in judgements.items():
        favoured = set(judgement["favour"])
        word_tags = frozenset(vocabulary.resolve(word).tags)
        row: dict[str, object] = {
            "favour": sorted(favoured),
            "tags": sorted(word_tags),
            "unsteered": tally(unsteered, favoured, collection_of).figures(),
            "steered": {},
        }
        for threshold in THRESHOLDS:
            steering = LabelSteering.from_words(vocabulary, [word], [], tag_threshold=threshold)
            steered = [
                recommender.recommend_vector(
                    answer.query_vector,
                    K,
                    pooling=index.pooling,
                    query=answer.query,
                    query_peaks=answer.query_peaks,
                    steering=steering,
                )
                for answer in unsteered
            ]
            carrying = carriers(index, word_tags, threshold)
            row["steered"][str(threshold)] = {
                **tally(steered, favoured, collection_of).figures(),
                "carriers": len(carrying),
                "favoured_carriers": sum(collection_of[g] in favoured for g in carrying),
            }
        results[word] = row
    recommender.close()
    steered_count = len(clips) * len(judgements) * len(THRESHOLDS)
    print(f"{steered_count} steered answers: {time.perf_counter() - steer_start:.0f} s")

    print(
        f"{len(clips)} queries ({args.clips_per_track} per track, seed {args.seed}), k = {K}, "
        f"1-min load average {os.getloadavg()[0]:.1f}"
    )
    print_tables(results)
    print(f"whole run: {time.perf_counter() - started:.0f} s")
    if args.json:
        document = {
            "corpus": {"tracks": len(tracks), "collections": collections},
            "queries": len(clips),
            "seed": args.seed,
            "embedder": str(embedder.id),
            "thresholds": list(THRESHOLDS),
            "words": results,
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {args.json}")


def print_tables(results: dict[str, dict[str, object]]) -> None:
    """Per word: the baseline, then favoured@5 / full / carriers at each threshold; then the
    means over words at each threshold."""
    header = "".join(f"{t:>18}" for t in THRESHOLDS)
    print("\nfavoured@5 of the steered top-5, full, carriers [favoured] by tag threshold\n")
    print(f"{'word':<10}{'unsteered':>10}{header}")
    for word, row in results.items():
        cells = []
        for threshold in THRESHOLDS:
            f = row["steered"][str(threshold)]
            carrying = f"{f['carriers']:2d}[{f['favoured_carriers']}]"
            cells.append(f"{f['favoured@5']:.2f} {f['full']:.2f} {carrying}")
        print(
            f"{word:<10}{row['unsteered']['favoured@5']:>10.2f}"
            + "".join(f"{c:>18}" for c in cells)
        )
    print(f"\n{'mean':<10}{'unsteered':>10}{header}")
    for figure in ("favoured@5", "precision", "full"):
        base = statistics.mean(row["unsteered"][figure] for row in results.values())
        means = [
            statistics.mean(row["steered"][str(t)][figure] for row in results.values())
            for t in THRESHOLDS
        ]
        print(f"{figure:<10}{base:>10.3f}" + "".join(f"{m:>18.3f}" for m in means))
    best = max(THRESHOLDS, key=lambda t: mean_figures(results, t))
    favoured, full = mean_figures(results, best)
    print(f"\nhighest mean favoured@5: threshold {best} ({favoured:.3f}, {full:.0%} in full)")
    lenient_full = mean_figures(results, THRESHOLDS[0])[1]
    keeping = [t for t in THRESHOLDS if mean_figures(results, t)[1] >= lenient_full]
    chosen = max(keeping, key=lambda t: mean_figures(results, t))
    favoured, full = mean_figures(results, chosen)
    print(
        f"highest mean favoured@5 answering as many words in full as {THRESHOLDS[0]} does: "
        f"threshold {chosen} ({favoured:.3f}, {full:.0%} in full)"
    )


def mean_figures(results: dict[str, dict[str, object]], threshold: float) -> tuple[float, float]:
    """The mean over words of favoured@5 and of full at ``threshold`` (a tie on favoured@5
    goes to the fuller answers)."""
    rows = [row["steered"][str(threshold)] for row in results.values()]
    return (
        statistics.mean(r["favoured@5"] for r in rows),
        statistics.mean(r["full"] for r in rows),
    )


if __name__ == "__main__":
    main()
