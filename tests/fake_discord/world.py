"""A small catalog for end-to-end runs: generated tones and noise, embedded for real.

:func:`build_catalog` writes one YouTube-kind item per "video" (an 11-character id, a
title, AudioSet-style labels), each embedded with the given embedder from real ffmpeg
output and pooled with the index's rule, so the bot's answers are true search results.
With ``library=True`` the items are local files instead, as ``musicrec index
build-library`` makes them: their source is the absolute path of the generated file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicrec_core.audio import load_clip
from musicrec_core.catalog.index import IndexBuilder, ItemMeta
from musicrec_core.catalog.pooling import DEFAULT_POOLING, pool
from musicrec_core.embedders.base import Embedder
from tests.helpers.media import generate_media


@dataclass(frozen=True)
class CatalogVideo:
    """One catalog entry: its id, what it sounds like and its labels."""

    video_id: str
    title: str
    tone_hz: float | None
    labels: tuple[str, ...]


CATALOG_VIDEOS = (
    CatalogVideo("tone0220aaa", "Low hum", 220.0, ("Music", "Drone")),
    CatalogVideo("tone0330bbb", "Open string", 330.0, ("Music", "Guitar")),
    CatalogVideo("tone0440ccc", "Concert A", 440.0, ("Music", "Sine wave")),
    CatalogVideo("tone0660ddd", "Fifth above", 660.0, ("Music", "Flute")),
    CatalogVideo("tone0880eee", "High A", 880.0, ("Music", "Whistling")),
    CatalogVideo("tone1760fff", "Very high A", 1760.0, ("Music", "Beep, bleep")),
    CatalogVideo("noisewhiteg", "White noise", None, ("Noise", "White noise")),
)

LIBRARY_TRACKS = tuple(
    CatalogVideo(f"track{number:02d}", f"Track {number}", 110.0 * 2 ** (number / 4), ("Music",))
    for number in range(13)
)
"""More tracks than one reply may list (a quarter octave apart from 110 Hz), for a library."""


def build_catalog(
    index_dir: Path,
    media_dir: Path,
    embedder: Embedder,
    *,
    videos: int | None = None,
    seconds: float = 12.0,
    catalog: tuple[CatalogVideo, ...] = CATALOG_VIDEOS,
    library: bool = False,
) -> list[CatalogVideo]:
    """Generate, embed and index the first ``videos`` of ``catalog`` (None: all).

    Publishes a new version into ``index_dir`` (created if needed). Returns the videos in
    item-id order. ``library``: file items whose source is the media file's absolute path.
    """
    chosen = catalog[:videos]
    media_dir.mkdir(parents=True, exist_ok=True)
    clips = []
    paths = []
    for video in chosen:
        path = generate_media(
            media_dir / f"{video.video_id}.wav",
            seconds=seconds,
            tone_hz=video.tone_hz,
            sample_rate=16_000,
            channels=1,
        )
        paths.append(path.resolve())
        clips.append(load_clip(path, start_s=1.0))
    embeddings = embedder.embed_many(clips)
    vectors = np.stack([pool(e.vectors, DEFAULT_POOLING) for e in embeddings])
    with IndexBuilder(
        index_dir, embedder=embedder.id, pooling=DEFAULT_POOLING, n_trees=4
    ) as builder:
        for video, vector, path in zip(chosen, vectors, paths, strict=True):
            builder.add(
                vector.astype(np.float32),
                ItemMeta(
                    group=video.video_id,
                    start_s=1.0,
                    end_s=11.0,
                    labels=video.labels,
                    title=video.title,
                    source=(
                        str(path)
                        if library
                        else f"https://www.youtube.com/watch?v={video.video_id}"
                    ),
                    kind="file" if library else "youtube",
                ),
            )
        builder.commit()
    return list(chosen)
