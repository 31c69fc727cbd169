"""A link pasted again: what the embedded-clip cache saves, measured through the bot's service.

Run: ``python benchmarks/bench_repeat_link.py [--repeats 5]``

A 4-minute "video" (mono Opus in WebM, 64 kbit/s) is served by the tests' HTTP server on
127.0.0.1 and reached through the fetch module's test seam, so the first request runs the
real path: the request service admits it, looks the link up in the clip cache (a miss),
takes one fetch from the hourly budget, runs the yt-dlp child (metadata, then the 30-s
default span by ffmpeg), decodes, embeds with the queue's batcher, stores the query in the
cache and builds the reply. The second request for the same link and window is answered
from the cache. Each repeat starts with an empty cache (its own cache directory).

The embedder is the tests' band-energy embedder (milliseconds per clip) and the catalog a
200-item index, so the figures isolate what a repeat saves on the YouTube side; with
VGGish the first request grows by one embedding (tens of ms on CPU) and the second does
not. Title lookups are off (they are measured by bench_titles.py).

Reported: body bytes the server sent and the time from the call to the reply being sent,
for each request (medians over the repeats), and the budget used. Goal: the second
request sends no bytes and takes <= 5 % of the first's time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bot.service import RequestService  # noqa: E402
from musicrec_core.catalog.index import CatalogIndex, IndexBuilder, ItemMeta  # noqa: E402
from musicrec_core.recommender import Recommender  # noqa: E402
from musicrec_core.service.batching import RecommendQueue  # noqa: E402
from musicrec_core.service.request import AudioRequest  # noqa: E402
from musicrec_core.sources.youtube import parse_youtube_link  # noqa: E402
from musicrec_core.sources.ytdlp_fetch import _serve_test_video  # noqa: E402
from tests.bot.helpers import make_interaction, make_settings  # noqa: E402
from tests.helpers.band_embedder import BandEnergyEmbedder  # noqa: E402
from tests.helpers.http_server import LocalHTTPServer  # noqa: E402
from tests.helpers.media import video_soundtrack  # noqa: E402

VIDEO_ID = "benchRepeat"
CATALOG_ITEMS = 200


def small_catalog(target: Path) -> Path:
    """An index of random band-energy vectors under the band embedder's id."""
    embedder = BandEnergyEmbedder()
    rng = np.random.default_rng(0)
    vectors = np.abs(rng.normal(size=(CATALOG_ITEMS, embedder.dim))).astype(np.float32)
    metas = [
        ItemMeta(group=f"cat{i:08d}", start_s=0.0, end_s=10.0, labels=("Music",))
        for i in range(CATALOG_ITEMS)
    ]
    with IndexBuilder(target, embedder=embedder.id, pooling="mean") as builder:
        builder.add_many(vectors, metas)
        builder.commit()
    return target


async def one_repeat(
    index_dir: Path, server: LocalHTTPServer, path: str
) -> tuple[tuple[float, int], tuple[float, int], str]:
    """(seconds, bytes) of the first and the second request, and the budget line."""
    recommender = Recommender(CatalogIndex.load(index_dir), BandEnergyEmbedder())
    settings = make_settings(index_dir, title_lookup=False, recommend_cooldown_s=0)
    queue = RecommendQueue(recommender, queue_size=8, batch_window_s=0.0, max_batch=4)
    queue.start()
    service = RequestService(queue, settings)
    link = parse_youtube_link(f"https://youtu.be/{VIDEO_ID}")
    figures = []
    try:
        for member in (1, 2):
            interaction = make_interaction(None, user_id=member)
            before = server.bytes_served(path)
            start = time.perf_counter()
            await service.answer(interaction, AudioRequest(link=link), count=5)
            seconds = time.perf_counter() - start
            interaction.followup.send.assert_awaited_once()
            figures.append((seconds, server.bytes_served(path) - before))
        budget = service.youtube_status()["YouTube fetches"]
    finally:
        await service.close()
        recommender.close()
    return figures[0], figures[1], budget


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-repeat-") as folder:
        directory = Path(folder)
        media = video_soundtrack(directory / "video.webm", seconds=240)
        index_dir = small_catalog(directory / "index")
        firsts, seconds_, budget = [], [], ""
        with LocalHTTPServer(send_buffer_bytes=32 * 1024) as server:
            url = server.add("/video.webm", media.read_bytes(), content_type="audio/webm")
            with _serve_test_video(VIDEO_ID, url):
                for repeat in range(args.repeats + 1):  # the first is a warm-up
                    os.environ["MUSICREC_CACHE_DIR"] = str(directory / f"cache{repeat}")
                    first, second, budget = asyncio.run(
                        one_repeat(index_dir, server, "/video.webm")
                    )
                    if repeat:
                        firsts.append(first)
                        seconds_.append(second)
    first_s = statistics.median(s for s, _ in firsts)
    second_s = statistics.median(s for s, _ in seconds_)
    first_b = statistics.median(b for _, b in firsts)
    second_b = max(b for _, b in seconds_)
    print(f"Repeated link, 4-min WebM/Opus over loopback, default window, {args.repeats} repeats:")
    print(f"  first request  : {first_b / 1e3:8.1f} kB served, {first_s * 1000:8.1f} ms to reply")
    print(f"  second request : {second_b / 1e3:8.1f} kB served, {second_s * 1000:8.1f} ms to reply")
    print(f"  second / first : {second_s / first_s * 100:.2f} % of the time (goal <= 5 %)")
    print(f"  budget used    : {budget}")


if __name__ == "__main__":
    main()
