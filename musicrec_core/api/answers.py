"""What the HTTP API answers for a recommendation: pydantic models and the one function that
fills them from a :class:`~musicrec_core.recommender.RecommendationSet`.

Shape (docs/api.md): ``{"catalog", "query_tags": [{"name", "probability"}], "steering",
"items": [Match]}``. A :class:`Match` names its item by a **public id**:

- a YouTube video: its 11-character video id (``kind: "youtube"``), with a watch link that
  starts at the window;
- a library file: ``lib_`` followed by the 64 hex digits of the sha256 of the file's bytes
  (``kind: "library"``), the catalog's own key for the track. It is stable across rebuilds
  of the index from the same files, and a media server can find its own file for it by
  hashing its files (docs/api.md). A server path or file name is never sent: only the
  display title the index holds.

Scores: ``score`` is the one number the list is ordered by, in [0, 1] (docs/scores.md), or
null for a track identified by its spectral fingerprint (``identified: true``, first).
``similarity`` is the same for OpenSubsonic's ``sonicMatch`` (1.0 = the same song): the
score, or 1.0 when identified.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from musicrec_core.recommendation import Recommendation, RecommendationSet

__all__ = [
    "LIBRARY_PREFIX",
    "Answer",
    "CatalogItem",
    "Match",
    "QueryTag",
    "answer_from",
    "group_for_public_id",
    "group_public_id",
    "public_id",
]

LIBRARY_PREFIX = "lib_"
"""How a library item's public id starts."""
_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_DECIMALS = 4


class QueryTag(BaseModel):
    """One music tag of the query clip (embedders with tags)."""

    name: str
    probability: float = Field(ge=0, le=1)


class CatalogItem(BaseModel):
    """One catalog video or track, by its public id."""

    id: str = Field(description="YouTube video id, or lib_<sha256 of the file's bytes>.")
    kind: Literal["youtube", "library"]
    title: str | None = Field(description="Display title, when known.")
    channel: str | None = Field(description="YouTube channel, once looked up.")
    start: float = Field(description="Start of the item's window, seconds into the source.")
    end: float = Field(description="End of the window, seconds.")
    url: str | None = Field(description="YouTube watch link starting at `start`; null for files.")
    labels: list[str] = Field(description="AudioSet labels or music tags, best first.")


class Match(CatalogItem):
    """One recommended video or track (maps onto OpenSubsonic's ``sonicMatch``)."""

    thumbnail: str | None = Field(description="YouTube thumbnail, once looked up.")
    score: float | None = Field(
        ge=0, le=1, description="The score the list is ordered by; null when identified."
    )
    identified: bool = Field(description="Recognised as the recording the query came from.")
    similarity: float = Field(
        ge=0, le=1, description="sonicMatch similarity: the score, or 1.0 when identified."
    )


class Answer(BaseModel):
    """A recommendation list, best first, one item per video or track."""

    catalog: str = Field(description="Fingerprint of the catalog the items come from.")
    query_tags: list[QueryTag]
    steering: dict[str, Any] | None = Field(
        default=None, description="For a steered query: the words as resolved and counts."
    )
    items: list[Match]


def public_id(item: Recommendation) -> tuple[str, Literal["youtube", "library"]]:
    """``item``'s public id and kind: its video id for a YouTube item (one with a watch
    link), ``lib_<hex sha256>`` for a library file.

    Raises:
        ValueError: a file item whose group is not a sha256 (no such index is built).
    """
    return group_public_id(item.group, youtube=item.url is not None)


def group_public_id(group: str, *, youtube: bool) -> tuple[str, Literal["youtube", "library"]]:
    """The public id and kind of catalog group ``group``: a YouTube video's own id, or
    ``lib_<hex sha256>`` for a library file's track key.

    Raises:
        ValueError: a file's group that is not a sha256 (no such index is built).
    """
    if youtube:
        return group, "youtube"
    if not _SHA256_HEX.fullmatch(group):
        raise ValueError("a library item's group is the hex sha256 of its file")
    return LIBRARY_PREFIX + group, "library"


def group_for_public_id(text: str) -> str:
    """The catalog group a public id names (the inverse of :func:`public_id`), for
    ``exclude`` lists and seeds.

    Raises:
        ValueError: ``text`` is neither an 11-character YouTube id nor ``lib_`` and 64
            lowercase hex digits (the message does not echo it).
    """
    if _YOUTUBE_ID.fullmatch(text):
        return text
    if text.startswith(LIBRARY_PREFIX) and _SHA256_HEX.fullmatch(text[len(LIBRARY_PREFIX) :]):
        return text[len(LIBRARY_PREFIX) :]
    raise ValueError(
        "an id is an 11-character YouTube video id or lib_ and 64 lowercase hex digits"
    )


def _match(item: Recommendation) -> Match:
    identifier, kind = public_id(item)
    score = None if item.score is None else round(item.score, _DECIMALS)
    return Match(
        id=identifier,
        kind=kind,
        title=item.title,
        channel=item.channel,
        start=round(item.start_s, 3),
        end=round(item.end_s, 3),
        url=item.url,
        thumbnail=item.thumbnail_url,
        labels=list(item.labels),
        score=score,
        identified=item.identified,
        similarity=1.0 if item.identified else score,
    )


def answer_from(results: RecommendationSet) -> Answer:
    """The API's answer for ``results``: every item by its public id, never its source
    path, with the ordering score and its sonicMatch similarity."""
    return Answer(
        catalog=results.catalog,
        query_tags=[
            QueryTag(name=tag.name, probability=round(tag.probability, _DECIMALS))
            for tag in results.query_tags
        ],
        steering=None if results.steering is None else results.steering.to_json(),
        items=[_match(item) for item in results.items],
    )
