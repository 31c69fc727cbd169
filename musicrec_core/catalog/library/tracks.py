"""What a library track is: its key, the windows cut from it, and its embedded windows.

Mental model: every input becomes a *track*, every track a few 10-second *windows* spread
across it, every window one index item, so any part of a song can match a query.

Track identity (the items' ``group``): a file's key is the sha256 of its bytes
(:func:`track_key`), so a copy of a song in two folders is one track; a link's key is its
video id, so YouTube queries of that video exclude it. The recommender returns one window
per group.

Windows (:func:`plan_windows`): ``n`` windows of :data:`~musicrec_core.clip.CLIP_SECONDS`,
centred in ``n`` equal parts of the track (so intros and fade-outs are not favoured), and
fewer for short tracks so windows never overlap: ``min(n, floor(duration / 10 s))``, at
least one (a track shorter than a window is one shorter window). By default
(:data:`DEFAULT_WINDOWS`) a track of up to 5 minutes is covered whole, so a query from any
part of it overlaps an indexed window; each window is indexed as it is and as its phone
view (:mod:`~musicrec_core.catalog.library.views`).

Labels: when the embedder gives music tags (musicnn), each window's item carries the
*track's* top :data:`TRACK_TAG_LABELS` tags (tag probabilities averaged over its windows,
kept in :class:`TrackEmbedding`); otherwise no labels. Every tag of the track, with its
averaged probability as its score, is kept in the index too
(:meth:`~musicrec_core.catalog.index.loaded.CatalogIndex.track_tags`), for steering.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicrec_core.catalog.library.owners import TrackOwner
from musicrec_core.clip import CLIP_SECONDS
from musicrec_core.embedders.base import Tag
from musicrec_core.hashing import file_sha256

__all__ = ["DEFAULT_WINDOWS", "TRACK_TAG_LABELS", "TrackEmbedding", "plan_windows", "track_key"]

DEFAULT_WINDOWS = 30
"""Windows per track unless told otherwise: a track of up to 5 minutes is covered whole
(``benchmarks/bench_quality.py``: clean same-track hit@1 went from 0.90 with 6 windows to
0.98; longer tracks get 30 windows spread across them)."""

TRACK_TAG_LABELS = 5
"""How many of a track's best music tags its items carry as labels."""


def plan_windows(
    duration_s: float | None, n_windows: int, window_s: float = CLIP_SECONDS
) -> tuple[float, ...]:
    """Start offsets (seconds, rounded to ms) of the windows to embed for one track.

    ``min(n_windows, floor(duration_s / window_s))`` windows (at least one), each centred in
    its equal share of the track and kept inside it. Unknown or short durations give one
    window at 0.
    """
    if n_windows < 1:
        raise ValueError(f"n_windows must be at least 1, got {n_windows}")
    if duration_s is None or duration_s <= window_s:
        return (0.0,)
    count = max(1, min(n_windows, int(duration_s // window_s)))
    share = duration_s / count
    latest = duration_s - window_s
    return tuple(
        round(min(latest, max(0.0, (i + 0.5) * share - window_s / 2)), 3) for i in range(count)
    )


def track_key(path: Path) -> str:
    """The library key (group) of a local file: the hex sha256 of its bytes.

    It equals the ``content_sha256`` of a clip cut from that file (or from an upload of
    its bytes), which is how the recommender leaves a query's own track out of its results.
    """
    return file_sha256(path)


@dataclass(frozen=True)
class TrackEmbedding:
    """One track's embedded windows (what the cache stores).

    Attributes:
        title: the track title (tags, yt-dlp or file name), or None.
        starts: float64 [w], window offsets in the source, in seconds.
        ends: float64 [w], window ends, in seconds.
        frames: float32 [total_frames, dim], the windows' frames one window after another.
        lengths: int64 [w], frames per window (each >= 1, summing to total_frames).
        phone_frames: float32 [total_phone_frames, dim], the frames of the windows' phone
            views (:func:`~musicrec_core.catalog.library.views.phone_view`), in the same order.
        phone_lengths: int64 [w], frames per phone view (each >= 1).
        tags: track tags (window probabilities averaged, phone views left out), best
            first; () without tags.
        owner: the file's album and artist tags; None when not read (a cache entry
            written before owners were kept).
    """

    title: str | None
    starts: np.ndarray
    ends: np.ndarray
    frames: np.ndarray
    lengths: np.ndarray
    phone_frames: np.ndarray
    phone_lengths: np.ndarray
    tags: tuple[Tag, ...]
    owner: TrackOwner | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        """The names of the best :data:`TRACK_TAG_LABELS` tags."""
        return tuple(tag.name for tag in self.tags[:TRACK_TAG_LABELS])
