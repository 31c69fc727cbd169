"""What a query answers: :class:`Recommendation` (one video or track) and
:class:`RecommendationSet` (the ordered answer), with the JSON shape ``musicrec recommend
--json`` prints.

The number a member sees is :attr:`Recommendation.score`: the value the list is ordered by,
in [0, 1] (docs/scores.md). A track recognised by its spectral fingerprint comes first and
is marked :attr:`Recommendation.identified` instead of being given a score.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import numpy as np

from musicrec_core.clip import Provenance
from musicrec_core.embedders.base import Tag

if TYPE_CHECKING:
    from musicrec_core.steering.filter import SteeredOutcome

__all__ = ["Recommendation", "RecommendationSet", "source_name"]


@dataclass(frozen=True)
class Recommendation:
    """One recommended video or track, shown by one of its items (the nearest the query).

    Attributes:
        rank: 1-based position in the result list.
        group: YouTube video id, or the library track key (sha256 of the file's bytes).
        title: video or track title when known (library tracks: tags, yt-dlp or file name).
        start_s: offset of the shown window in the source, in seconds.
        end_s: end of the shown window, in seconds.
        score: the score the list is ordered by, in [0, 1], non-increasing down the list
            after an identified item (:func:`musicrec_core.catalog.ranking.unit_score` of):
            item by item (AudioSet catalogs, a library too large for profiles) the shown
            window's cosine to the query; in a library's style order the mean of three
            cosines (the track's profile to the first track's profile, the track's profile
            to the query, the shown window to the query). Values at or below 0 read 0.
            None for an identified track, which is first because it was recognised.
        window_cosine: the cosine of the query and the shown window, in [-1, 1] (equal to
            ``score`` item by item, when positive; in style order only one of its parts).
        labels: AudioSet label names or music tags of the item, best first.
        url: YouTube watch link starting at the window (``&t=<whole seconds>s``); None for
            local files.
        source: file path or link the item was built from (None for AudioSet items).
        item_id: the item's id in the index (for :meth:`Recommender.recommend_from_item`).
        identified: the query's spectral landmarks identified this track as the recording
            the clip came from (:mod:`musicrec_core.catalog.identification`); it is first.
        channel: the YouTube channel that uploaded the video, once looked up
            (:mod:`musicrec_core.titles`); None otherwise.
        thumbnail_url: the video's thumbnail on a YouTube image host, once looked up.
    """

    rank: int
    group: str
    title: str | None
    start_s: float
    end_s: float
    score: float | None
    window_cosine: float
    labels: tuple[str, ...]
    url: str | None
    source: str | None
    item_id: int
    identified: bool = False
    channel: str | None = None
    thumbnail_url: str | None = None

    def __post_init__(self) -> None:
        if self.identified != (self.score is None):
            raise ValueError("an identified recommendation has no score, any other has one")
        if self.score is not None and not 0.0 <= self.score <= 1.0:
            raise ValueError(f"a score lies in [0, 1], got {self.score}")

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (the shape ``musicrec recommend --json`` prints per item)."""
        return {
            "rank": self.rank,
            "group": self.group,
            "title": self.title,
            "channel": self.channel,
            "thumbnail": self.thumbnail_url,
            "start": round(self.start_s, 3),
            "end": round(self.end_s, 3),
            "score": None if self.score is None else round(self.score, 4),
            "identified": self.identified,
            "window_cosine": round(self.window_cosine, 4),
            "labels": list(self.labels),
            "url": self.url,
            "source": self.source,
            "item_id": self.item_id,
        }


@dataclass(frozen=True)
class RecommendationSet:
    """The answer to one query.

    Attributes:
        query: where the query clip came from (None when unknown).
        query_vector: float32 [D], the pooled query vector that was searched.
        query_tags: the query clip's music tags, best first (embedders with tags, else ()).
        items: at most k recommendations, best first, one per group.
        catalog: the fingerprint of the index the items come from
            (:attr:`CatalogIndex.fingerprint`).
        query_peaks: int64 [p, 2], the query clip's spectral peaks (frame, bin) when the
            index holds landmarks, else None; :meth:`Recommender.recommend_vector` takes
            them back, so a cached query is identified like a fresh one.
        steering: for a steered query, the words as resolved and how many items qualified
            (:class:`~musicrec_core.steering.filter.SteeredOutcome`); None unsteered.
    """

    query: Provenance | None
    query_vector: np.ndarray
    query_tags: tuple[Tag, ...]
    items: tuple[Recommendation, ...]
    catalog: str
    query_peaks: np.ndarray | None = None
    steering: SteeredOutcome | None = None

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict: query provenance, query tags (name, probability), the steering
        (only when steered) and items."""
        steered = {} if self.steering is None else {"steering": self.steering.to_json()}
        return {
            "query": None if self.query is None else self.query.to_json(),
            "query_tags": [
                {"name": tag.name, "probability": round(tag.probability, 4)}
                for tag in self.query_tags
            ],
            **steered,
            "items": [item.to_json() for item in self.items],
        }


def source_name(source: str) -> str:
    """What an answer shows of a catalog item's source: its file name, never the server path.

    ``"/home/me/Music/Artist/song.flac"`` -> ``"song.flac"``; a URL gives its last segment.
    """
    return PurePosixPath(source.replace("\\", "/").rstrip("/")).name or source
