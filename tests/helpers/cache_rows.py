"""Rows with verifiable content for the clip and title caches, and a writer process.

Row ``n`` of the clip cache is :func:`clip_row` (a vector drawn from seed ``n``, a title
naming ``n``); row ``n`` of the title cache is :func:`title_row`. So whoever reads a row
back can say whether it is exactly what was written.

Run as a program, this module is one process of a bot that shares the caches::

    python -m tests.helpers.cache_rows CLIPS TITLES FIRST COUNT

opens both caches, then for each ``n`` in ``FIRST .. FIRST+COUNT-1`` writes clip row
``n`` and title row ``n``; after each write it reads the row back through its own
connection (a write the cache skipped reads back as absent) and prints ``clip n`` or
``title n`` once it is there, ``lost clip n`` / ``lost title n`` when it is not. With
``COUNT`` 0 it opens the caches, prints ``open``, and holds them until stdin closes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from musicrec_core.clip import Provenance
from musicrec_core.clip_cache import CachedQuery, ClipCache
from musicrec_core.embedders.base import Tag
from musicrec_core.titles.cache import TitleCache
from musicrec_core.titles.oembed import VideoAnswer
from tests.helpers.oembed import video

SPACE = "vggish/-/1/128/mean"
WINDOW = "default"
MAX_BYTES = 2**30
"""Large enough that no row is ever evicted."""


def clip_row(n: int) -> CachedQuery:
    """Clip row ``n``: a float32 [128] vector from seed ``n``, tags and a title naming it."""
    vector = np.random.default_rng(n).standard_normal(128).astype(np.float32)
    provenance = Provenance(
        kind="youtube", ref=video(n), title=f"clip {n}", channel=f"channel {n}", start_s=float(n)
    )
    return CachedQuery(provenance, vector, (Tag(f"tag {n}", 0.5),))


def title_row(n: int) -> VideoAnswer:
    """Title row ``n``: a found video whose title and channel name ``n``."""
    return VideoAnswer(video(n), "found", f"title {n}", f"channel {n}")


def clip_matches(cache: ClipCache, n: int) -> bool:
    """Whether ``cache`` holds clip row ``n`` exactly."""
    got, want = cache.get(video(n), WINDOW, SPACE), clip_row(n)
    return (
        got is not None
        and got.provenance == want.provenance
        and got.tags == want.tags
        and np.array_equal(got.vector, want.vector)
    )


def title_matches(cache: TitleCache, n: int) -> bool:
    """Whether ``cache`` holds title row ``n`` exactly."""
    return cache.get(video(n)) == title_row(n)


def _write(clips: Path, titles: Path, first: int, count: int) -> None:
    with ClipCache(clips, max_bytes=MAX_BYTES) as clip_cache, TitleCache(titles) as title_cache:
        if count == 0:
            print("open", flush=True)
            sys.stdin.read()
            return
        for n in range(first, first + count):
            clip_cache.put(video(n), WINDOW, SPACE, clip_row(n))
            print("clip" if clip_matches(clip_cache, n) else "lost clip", n, flush=True)
            title_cache.put(title_row(n))
            print("title" if title_matches(title_cache, n) else "lost title", n, flush=True)


if __name__ == "__main__":
    _write(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
