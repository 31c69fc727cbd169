"""Listening sessions on real music: style precision and flow of a mix against the plain
top-N on bench_quality's library (issue 20's figures).

Run: ``python3 scripts/fetch_corpus.py [DIR]`` once, then
``nice python benchmarks/bench_sessions_real.py [--corpus DIR] [-n 15] [--seeds-per-track 2]``

The library: bench_quality's corpus (one collection per Debian game soundtrack: each one
album and one style) indexed with today's defaults and the musicnn MTT embedder
(``build_library``; the embedding cache makes a rebuild cheap).

Seeds: ``--seeds-per-track`` windows of every track, at random (seeded), each as its
stored vector (where a clean query of that window lands), the seed's own track excluded.
In the same run, for each seed, N tracks by:

- top-N, item by item: ``nearest_groups`` in rank order (the plain top-N);
- top-N, style order: ``rank_groups`` (what ``musicrec recommend`` ranks by);
- a mix with the owner rules on, each collection one owner (its album: the corpus files
  carry album and artist tags on some tracks only, so the collection is passed as the
  owner); with the rules on and the owners the index keeps from the files' tags (the
  default, :func:`~musicrec_core.sessions.variety.catalog_owner`); and off, for each
  of ``--weights`` (the weight of the cosine to the previous track; the shipped
  PREVIOUS_WEIGHT by default).

Style precision: the share of the N tracks from the seed's own collection. With the rules
on, no owner holds more than N // 3 of a session, so the most the album rule allows is,
seed by seed, the smaller of the plain top-N's share and (N // 3) / N (printed as their
mean). Flow: the mean cosine between consecutive tracks (N - 1 steps; the played
items' stored vectors) and the worst step, against the 10th-percentile distance of random
pairs (the 90th-percentile cosine of 20,000 random pairs of items of different tracks).
Variety: the share of sessions holding the rules (no track twice, no album twice in a row,
none more than N // 3 times), which the rules-on mixes must hold in 100 %.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "scripts"))

from fetch_corpus import default_corpus_dir  # noqa: E402
from quality_data import load_corpus  # noqa: E402

from musicrec_core import paths  # noqa: E402
from musicrec_core.catalog.index import CatalogIndex, ItemMeta  # noqa: E402
from musicrec_core.catalog.library import build_library  # noqa: E402
from musicrec_core.catalog.ranking import nearest_groups, rank_groups  # noqa: E402
from musicrec_core.embedders import load_embedder  # noqa: E402
from musicrec_core.sessions import PREVIOUS_WEIGHT, mix, owner_cap  # noqa: E402
from musicrec_core.tf_banner import silence_tensorflow_banner  # noqa: E402


def _unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def rules_hold(played: list[ItemMeta], owner: Callable[[ItemMeta], str], n: int) -> bool:
    """Whether a session of ``n`` asked holds the variety rules: no track twice, no owner
    twice in a row, no owner more than owner_cap(n) times."""
    owners = [owner(meta) for meta in played]
    return (
        len({meta.group for meta in played}) == len(played)
        and all(a != b for a, b in pairwise(owners))
        and max(Counter(owners).values(), default=0) <= owner_cap(n)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=default_corpus_dir())
    parser.add_argument("-n", type=int, default=15)
    parser.add_argument("--seeds-per-track", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--weights", default=str(PREVIOUS_WEIGHT), help="comma-separated")
    parser.add_argument("--work", type=Path, default=paths.cache_root() / "bench-sessions")
    args = parser.parse_args()
    silence_tensorflow_banner()
    tracks = load_corpus(args.corpus)
    collection_of = {track.key: track.collection for track in tracks}
    collections = sorted(set(collection_of.values()))
    embedder = load_embedder("musicnn")
    report = build_library(
        [str(args.corpus / c) for c in collections], args.work / "index", embedder
    )
    print(
        f"corpus: {len(tracks)} tracks in {len(collections)} collections ({args.corpus}); "
        f"index: {report.items} items, {report.embedded} tracks embedded"
    )

    def album(meta: ItemMeta) -> str:
        return collection_of[meta.group]

    weights = [float(weight) for weight in args.weights.split(",")]
    variants = (
        ("album rule on", True, album),
        ("tag owners on (the default)", True, None),
        ("rules off", False, album),
    )
    rng = np.random.default_rng(args.seed)
    with CatalogIndex.load(args.work / "index", expect_embedder=embedder.id) as index:
        metas = index.metas(range(len(index)))
        items_of: dict[str, list[int]] = {}
        for item_id, meta in enumerate(metas):
            items_of.setdefault(meta.group, []).append(item_id)
        vectors = _unit(index.vectors(np.arange(len(index))))
        pairs = rng.integers(0, len(index), (40_000, 2))
        pairs = pairs[[metas[i].group != metas[j].group for i, j in pairs]][:20_000]
        close = float(np.quantile(np.einsum("ij,ij->i", *(vectors[pairs.T])), 0.9))
        figures: dict[str, dict[str, list[float]]] = {}
        for group, ids in items_of.items():
            clean = ids[: len(ids) // 2]  # a track's windows, then their phone views
            for seed_id in rng.choice(clean, min(args.seeds_per_track, len(clean)), False):
                seed, own = index.vector(int(seed_id)), {group}
                ways = {
                    "top-N, item by item": [
                        f.item_id for f in nearest_groups(index, seed, args.n, own)
                    ],
                    "top-N, style order": [
                        f.item_id for f in rank_groups(index, seed, args.n, own)
                    ],
                }
                for weight in weights:
                    for rules, variety, owner in variants:
                        session = mix(
                            index,
                            [seed],
                            args.n,
                            variety=variety,
                            exclude_groups=own,
                            owner=owner,
                            previous_weight=weight,
                        )
                        ways[f"mix w={weight}, {rules}"] = [item.item_id for item in session.items]
                for label, played in ways.items():
                    steps = np.einsum("ij,ij->i", vectors[played[:-1]], vectors[played[1:]])
                    same = [collection_of[metas[i].group] == collection_of[group] for i in played]
                    row = figures.setdefault(
                        label, {"style": [], "mean": [], "worst": [], "held": []}
                    )
                    row["held"].append(rules_hold([metas[i] for i in played], album, args.n))
                    row["style"].append(float(np.mean(same)))
                    row["mean"].append(float(steps.mean()))
                    row["worst"].append(float(steps.min()))
    cap = owner_cap(args.n) / args.n
    seeds = len(next(iter(figures.values()))["style"])
    print(
        f"{seeds} seeds, N = {args.n}; p10 random-pair distance = cosine {close:.3f}; "
        f"the album rule allows at most {cap:.2f} from one soundtrack"
    )
    base_style = statistics.mean(figures["top-N, item by item"]["style"])
    allowed = statistics.mean(min(share, cap) for share in figures["top-N, item by item"]["style"])
    print(f"with the album rule, the plain top-N's share capped seed by seed: {allowed:.3f}")
    base_flow = statistics.mean(figures["top-N, item by item"]["mean"])
    print(
        "way | style precision | vs plain top-N | mean step cosine | vs plain top-N | "
        "worst step (median) | seeds whose worst step beats p10 distance | sessions "
        "holding the album rules"
    )
    for label, row in figures.items():
        style, flow = statistics.mean(row["style"]), statistics.mean(row["mean"])
        beats = statistics.mean(worst > close for worst in row["worst"])
        print(
            f"{label} | {style:.3f} | {style / base_style:.2f} | {flow:.3f} | "
            f"{flow / base_flow:.2f} | {statistics.median(row['worst']):.3f} | {beats:.0%} | "
            f"{statistics.mean(row['held']):.0%}"
        )


if __name__ == "__main__":
    main()
