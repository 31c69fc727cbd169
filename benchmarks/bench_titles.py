"""Reply time with YouTube title lookups vs without, warm and cold title cache.

Run: ``python benchmarks/bench_titles.py [--repeats 30] [--cold-repeats 10]``

A "reply" here is what the bot computes for one request once the clip is decoded: embed
a 10-second clip (the fast band-energy test embedder, so the figure is not hidden under
model time), search an index of 20,000 segments of 10,000 YouTube videos, and, with
titles, over-fetch :func:`candidate_count` ``(5)`` results and fill in the top 5 through
:meth:`TitleLookup.titled`. The baseline, measured in the same run, is the same reply
asking for 5 results and looking nothing up.

- warm: every video is in the title cache (SQLite on disk). Goal: <= +20 ms.
- cold: an empty cache each time and an oEmbed stand-in on 127.0.0.1 that holds each answer
  for 200 ms; the 5 lookups run concurrently. Goal: <= +300 ms.
- cold, top result gone: as cold, with the best result's video answering 404, so one
  more lookup (the next distinct result) follows: two rounds, about +400 ms.

Reported: the median reply time in milliseconds and the difference to the baseline.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from musicrec_core.catalog.index import CatalogIndex, IndexBuilder, ItemMeta  # noqa: E402
from musicrec_core.catalog.pooling import DEFAULT_POOLING, pooled_dim  # noqa: E402
from musicrec_core.clip import SAMPLE_RATE_HZ, Clip  # noqa: E402
from musicrec_core.recommender import Recommender  # noqa: E402
from musicrec_core.titles import (  # noqa: E402
    OEmbedClient,
    TitleCache,
    TitleLookup,
    candidate_count,
)
from tests.helpers.band_embedder import BandEnergyEmbedder  # noqa: E402
from tests.helpers.http_server import LocalHTTPServer  # noqa: E402
from tests.helpers.oembed import OEmbedStandIn, video  # noqa: E402

VIDEOS = 10_000
SEGMENTS = 2
K = 5
ANSWER_DELAY_S = 0.2
BUDGET_S = 1.5


def build_index(directory: Path, embedder: BandEnergyEmbedder) -> Path:
    dim = pooled_dim(embedder.dim, DEFAULT_POOLING)
    rng = np.random.default_rng(0)
    vectors = np.abs(rng.standard_normal((VIDEOS * SEGMENTS, dim))).astype(np.float32)
    metas = [
        ItemMeta(video(n), 10.0 * s, 10.0 * s + 10, ("Music",))
        for s in range(SEGMENTS)
        for n in range(VIDEOS)
    ]
    with IndexBuilder(directory, embedder=embedder.id, pooling=DEFAULT_POOLING) as builder:
        builder.add_many(vectors, metas)
        builder.commit()
    return directory


def median_ms(reply: Callable[[], object], repeats: int, setup: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        setup()
        started = time.perf_counter()
        reply()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--cold-repeats", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    clip = Clip((0.1 * rng.standard_normal(10 * SAMPLE_RATE_HZ)).astype(np.float32))
    embedder = BandEnergyEmbedder()
    with (
        tempfile.TemporaryDirectory(prefix="musicrec-bench-titles-") as work,
        LocalHTTPServer() as server,
    ):
        work_dir = Path(work)
        index = CatalogIndex.load(build_index(work_dir / "index", embedder))
        recommender = Recommender(index, embedder)
        stand_in = OEmbedStandIn(server)
        print(f"registering {VIDEOS:,} videos on the stand-in ...", file=sys.stderr)
        for n in range(VIDEOS):
            stand_in.found(video(n), f"Song {n}", channel=f"Band {n}", stall_s=ANSWER_DELAY_S)
        candidates = recommender.recommend(clip, candidate_count(K))
        best = candidates.items[0].group

        def baseline() -> object:
            return recommender.recommend(clip, K)

        def titled_reply(lookup: TitleLookup) -> Callable[[], object]:
            def reply() -> object:
                result = lookup.titled(recommender.recommend(clip, candidate_count(K)), K)
                assert len(result.items) == K
                return result

            return reply

        rows: list[tuple[str, float]] = []
        base = median_ms(baseline, args.repeats, lambda: None)
        rows.append(("baseline: no lookup", base))

        warm = TitleLookup(
            OEmbedClient(stand_in.endpoint), TitleCache(work_dir / "warm.sqlite3"), budget_s=5
        )
        titled_reply(warm)()  # fills the cache
        assert all(item.title for item in titled_reply(warm)().items)  # type: ignore[attr-defined]
        rows.append(("warm cache", median_ms(titled_reply(warm), args.repeats, lambda: None)))

        state: dict[str, TitleLookup] = {}

        def fresh_lookup(gone: bool) -> Callable[[], object]:
            def setup() -> None:
                if "lookup" in state:
                    state["lookup"].close()
                path = work_dir / f"cold-{time.monotonic_ns()}.sqlite3"
                client = OEmbedClient(stand_in.endpoint, timeout_s=5)
                if gone:
                    client.ask(video(VIDEOS - 1))  # the endpoint has answered: 404 means gone
                state["lookup"] = TitleLookup(client, TitleCache(path), budget_s=BUDGET_S)

            return setup

        def cold_reply() -> object:
            return titled_reply(state["lookup"])()

        cold = median_ms(cold_reply, args.cold_repeats, fresh_lookup(gone=False))
        rows.append((f"cold cache, {ANSWER_DELAY_S * 1000:.0f} ms answers", cold))
        stand_in.gone(best, stall_s=ANSWER_DELAY_S)
        cold_gone = median_ms(cold_reply, args.cold_repeats, fresh_lookup(gone=True))
        rows.append(("cold cache, top result gone", cold_gone))
        state["lookup"].close()
        warm.close()
        index.close()

    print(f"{'reply (k=5, 20,000 segments)':34} {'median ms':>10} {'vs baseline':>12}")
    for name, value in rows:
        print(f"{name:34} {value:10.1f} {value - base:+11.1f}")


if __name__ == "__main__":
    main()
