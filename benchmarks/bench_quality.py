"""Recommendation quality on real music: same-track hits for clean and degraded clips,
style precision, and the latency of an answer.

Run: ``python3 scripts/fetch_corpus.py`` once (installs the soundtracks), then
``python benchmarks/bench_quality.py [--queries 120] [--seed 12] [--json out.json]``

One library index is built with today's defaults over the corpus (``build_library``; the
embedding cache makes a rebuild cheap), then seeded queries (a random track, a 10-s window
at a random offset; :mod:`quality_data`) are asked clean, *phone* (pink noise at 10 dB SNR,
300-3400 Hz, 32 kbit/s MP3) and *speed* (+3 %, pitch and tempo).

Methods, all on the same queries in the same run:
- **default**: ``Recommender.recommend_many`` on the index, exactly what ``musicrec
  recommend`` does (today: up to ``DEFAULT_WINDOWS`` windows per track, each also indexed
  as its phone view; results in style order, :mod:`musicrec_core.catalog.ranking`; a clip
  whose spectral landmarks identify its track confidently gets that track first,
  :mod:`musicrec_core.catalog.identification`).
- **embedding only**: the default's index and query vectors ranked without the landmark
  identification (``ranking.rank_groups``), to show what the identification adds.
- **item by item**: the same index and query vectors, each track ranked by its best item
  (``ranking.nearest_groups``: the default before the style order).
- **musicnn plain** (the baseline the issue measured): the mean of each window's patch
  embeddings, :data:`PLAIN_WINDOWS` windows per track, exact cosine.
- **MFCC** (baseline): MFCC mean+std of the same windows, each dimension standardised by
  the catalog's mean and std, exact cosine, every window indexed.

Metrics: hit@1 / hit@5, the query's own track first / among the first five distinct tracks;
style@5, the share of the first five *other* tracks that come from the query's own
collection (chance: about 0.2 with six equal collections). Latency: ``musicrec recommend
FILE --index DIR`` as a fresh process (median of ``--latency-repeats``) and the same in
process (file -> clip -> recommendations, median of 5, model loaded). The 1-minute load
average is printed: the machine is shared, so compare runs with that in mind.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from fetch_corpus import default_corpus_dir  # noqa: E402
from quality_data import (  # noqa: E402
    CONDITIONS,
    Query,
    Track,
    exact_rankings,
    load_corpus,
    make_queries,
    mfcc_window,
    query_clip,
    score_rankings,
)
from quality_identification import identification_figures, print_identification  # noqa: E402

from musicrec_core import paths  # noqa: E402
from musicrec_core.audio import load_clip  # noqa: E402
from musicrec_core.catalog.index import CatalogIndex  # noqa: E402
from musicrec_core.catalog.library import build_library  # noqa: E402
from musicrec_core.catalog.library.cache import EmbeddingCache  # noqa: E402
from musicrec_core.catalog.library.tracks import plan_windows  # noqa: E402
from musicrec_core.catalog.pooling import pool_segments  # noqa: E402
from musicrec_core.catalog.ranking import nearest_groups, rank_groups  # noqa: E402
from musicrec_core.clip import Clip  # noqa: E402
from musicrec_core.embedders import load_embedder  # noqa: E402
from musicrec_core.embedders.base import Embedder  # noqa: E402
from musicrec_core.recommender import Recommender  # noqa: E402
from musicrec_core.sources import clip_from_source  # noqa: E402
from musicrec_core.tf_banner import silence_tensorflow_banner  # noqa: E402

PLAIN_WINDOWS = 6
"""Windows per track of the plain musicnn baseline and of the MFCC baseline."""
DEPTH = 6
"""Distinct tracks ranked per query: five others even when the own track is among them."""


def default_rankings(
    recommender: Recommender, clips: Sequence[Clip], batch: int = 16
) -> tuple[list[list[str]], list[np.ndarray]]:
    """The first DEPTH distinct tracks ``recommend_many`` returns for each clip, and the
    query vectors it searched."""
    rankings, vectors = [], []
    for start in range(0, len(clips), batch):
        results = recommender.recommend_many(clips[start : start + batch], DEPTH, include_self=True)
        rankings += [[item.group for item in result.items] for result in results]
        vectors += [result.query_vector for result in results]
    return rankings, vectors


def item_rankings(index: CatalogIndex, vectors: Sequence[np.ndarray]) -> list[list[str]]:
    """The first DEPTH distinct tracks for each query vector, each ranked by its best item."""
    return [[found.meta.group for found in nearest_groups(index, v, DEPTH, set())] for v in vectors]


def plain_rankings(
    embedder: Embedder, tracks: Sequence[Track], clips: Sequence[Clip], cache_root: Path
) -> list[list[str]]:
    """musicnn as the issue measured it: mean-pooled windows, exact cosine."""
    cache = EmbeddingCache(cache_root, embedder.id, PLAIN_WINDOWS)
    items, groups = [], []
    for track in tracks:
        stored = cache.get(track.key)
        if stored is None:
            raise SystemExit(f"no {PLAIN_WINDOWS}-window cache entry for {track.path}")
        items.append(pool_segments(stored.frames, stored.lengths, "mean"))
        groups += [track.key] * stored.lengths.size
    queries = np.stack([e.vectors.mean(axis=0) for e in embedder.embed_many(list(clips))])
    return exact_rankings(np.concatenate(items), groups, queries, DEPTH)


def mfcc_rankings(
    tracks: Sequence[Track], clips_by_condition: dict[str, list[Clip]]
) -> dict[str, list[list[str]]]:
    """The MFCC baseline's rankings per condition (catalog windows decoded here)."""
    items, groups = [], []
    for track in tracks:
        for start in plan_windows(track.duration_s, PLAIN_WINDOWS):
            items.append(mfcc_window(load_clip(track.path, start_s=start).samples))
            groups.append(track.key)
    catalog = np.stack(items)
    mean, std = catalog.mean(axis=0), catalog.std(axis=0) + 1e-6
    rankings = {}
    for condition, clips in clips_by_condition.items():
        queries = np.stack([mfcc_window(clip.samples) for clip in clips])
        rankings[condition] = exact_rankings((catalog - mean) / std, groups, (queries - mean) / std)
    return rankings


def fresh_process_seconds(query: Path, index_dir: Path, repeats: int) -> float:
    """Median wall time of ``musicrec recommend`` in a new process."""
    command = [sys.executable, "-m", "musicrec_core.cli", "recommend", str(query)]
    command += ["--index", str(index_dir), "-k", "5"]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def in_process_seconds(recommender: Recommender, query: Path, repeats: int = 5) -> float:
    """Median wall time of file -> clip -> recommendations with the model loaded."""
    recommender.recommend(clip_from_source(str(query)), 5)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        recommender.recommend(clip_from_source(str(query)), 5)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def print_table(results: dict[str, dict[str, dict[str, float]]]) -> None:
    columns = [(c, m) for c in CONDITIONS for m in ("hit@1", "hit@5")]
    columns += [("clean", "style@5"), ("phone", "style@5")]
    header = "  ".join(f"{c} {m}".rjust(13) for c, m in columns)
    print(f"{'method':<16}{header}")
    for method, by_condition in results.items():
        cells = "  ".join(f"{by_condition[c][m]:13.3f}" for c, m in columns)
        print(f"{method:<16}{cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=default_corpus_dir())
    parser.add_argument("--queries", type=int, default=120)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--work", type=Path, default=paths.cache_root() / "bench-quality")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--latency-repeats", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    silence_tensorflow_banner()

    tracks = load_corpus(args.corpus)
    collection_of = {track.key: track.collection for track in tracks}
    collections = sorted({track.collection for track in tracks})
    print(f"corpus: {len(tracks)} tracks in {len(collections)} collections ({args.corpus})")

    embedder = load_embedder("musicnn")
    index_dir = args.work / "index"
    build_start = time.perf_counter()
    inputs = [str(args.corpus / name) for name in collections]
    report = build_library(inputs, index_dir, embedder)
    build_s = time.perf_counter() - build_start
    print(
        f"index: {report.items} items, {report.embedded} tracks embedded, "
        f"{report.reused} from the cache, {build_s:.1f} s"
    )
    # The plain baseline reads the 6-window cache entries (embedded once, then reused).
    plain_cache = paths.cache_root() / "embeddings"
    build_library(
        inputs, args.work / "plain-index", embedder, windows=PLAIN_WINDOWS, landmarks=False
    )

    queries: list[Query] = make_queries(tracks, args.queries, args.seed)
    clips = {c: [query_clip(q, c, args.work / "queries") for q in queries] for c in CONDITIONS}
    results: dict[str, dict[str, dict[str, float]]] = {
        "default": {},
        "embedding only": {},
        "item by item": {},
        "musicnn plain": {},
    }
    index = CatalogIndex.load(index_dir, expect_embedder=embedder.id)
    recommender = Recommender(index, embedder)
    for condition in CONDITIONS:
        styled, vectors = default_rankings(recommender, clips[condition])
        for method, rankings in (
            ("default", styled),
            (
                "embedding only",
                [[f.meta.group for f in rank_groups(index, v, DEPTH, set())] for v in vectors],
            ),
            ("item by item", item_rankings(index, vectors)),
            ("musicnn plain", plain_rankings(embedder, tracks, clips[condition], plain_cache)),
        ):
            results[method][condition] = score_rankings(rankings, queries, collection_of).summary()
    results["MFCC"] = {}
    for condition, rankings in mfcc_rankings(tracks, clips).items():
        results["MFCC"][condition] = score_rankings(rankings, queries, collection_of).summary()

    identification = identification_figures(index, tracks, queries, clips, plain_cache)
    phone_file = next((args.work / "queries").glob("q0000-*-phone.mp3"))
    latency = {
        "fresh_process_s": fresh_process_seconds(phone_file, index_dir, args.latency_repeats),
        "in_process_s": in_process_seconds(recommender, phone_file),
    }
    recommender.close()

    print(f"{len(queries)} queries (seed {args.seed}), 1-min load average {os.getloadavg()[0]:.1f}")
    print_table(results)
    print_identification(identification)
    print(
        f"latency of `musicrec recommend`: fresh process {latency['fresh_process_s']:.2f} s "
        f"(median of {args.latency_repeats}), in process {latency['in_process_s'] * 1e3:.0f} ms"
    )
    print(f"whole run: {time.perf_counter() - started:.0f} s")
    if args.json:
        document = {
            "corpus": {"tracks": len(tracks), "collections": collections},
            "queries": len(queries),
            "seed": args.seed,
            "index_items": report.items,
            "results": results,
            "latency": latency,
            "identification": identification,
            "load_average": os.getloadavg()[0],
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
