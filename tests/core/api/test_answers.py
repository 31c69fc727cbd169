"""The API's answer shape: public ids (YouTube ids, lib_<sha256>) and their inverse, no
server path in an answer, and the score mapped onto OpenSubsonic's sonicMatch similarity."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from musicrec_core.api.answers import answer_from, group_for_public_id, public_id
from musicrec_core.embedders.base import Tag
from musicrec_core.recommendation import Recommendation, RecommendationSet
from musicrec_core.recommender import youtube_url

SONG_SHA = hashlib.sha256(b"the bytes of a library file").hexdigest()


def _item(rank: int, group: str, *, youtube: bool, score: float | None) -> Recommendation:
    return Recommendation(
        rank=rank,
        group=group,
        title=f"title {rank}",
        start_s=20.0,
        end_s=30.0,
        score=score,
        window_cosine=0.5,
        labels=("Jazz", "Piano"),
        url=youtube_url(group, 20.0) if youtube else None,
        source=None if youtube else "/srv/music/private/Artist - Song.flac",
        item_id=rank * 10,
        identified=score is None,
    )


def _results() -> RecommendationSet:
    items = (
        _item(1, SONG_SHA, youtube=False, score=None),
        _item(2, "dQw4w9WgXcQ", youtube=True, score=0.87654),
        _item(3, hashlib.sha256(b"another file").hexdigest(), youtube=False, score=0.5),
    )
    return RecommendationSet(
        query=None,
        query_vector=np.zeros(4, np.float32),
        query_tags=(Tag("jazz", 0.912345),),
        items=items,
        catalog="fp-1",
    )


def test_items_are_named_by_public_id_and_never_by_their_path() -> None:
    answer = answer_from(_results())
    assert [(m.id, m.kind) for m in answer.items] == [
        ("lib_" + SONG_SHA, "library"),
        ("dQw4w9WgXcQ", "youtube"),
        ("lib_" + hashlib.sha256(b"another file").hexdigest(), "library"),
    ]
    text = json.dumps(answer.model_dump())
    assert "/srv/music" not in text and "Song.flac" not in text
    assert answer.items[1].url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=20s"
    assert answer.items[0].url is None
    assert (answer.catalog, answer.query_tags[0].probability) == ("fp-1", 0.9123)


def test_similarity_is_the_score_and_one_for_the_identified_recording() -> None:
    items = answer_from(_results()).items
    assert [(m.identified, m.score, m.similarity) for m in items] == [
        (True, None, 1.0),
        (False, 0.8765, 0.8765),
        (False, 0.5, 0.5),
    ]


def test_public_ids_map_back_to_catalog_groups() -> None:
    for item in _results().items:
        assert group_for_public_id(public_id(item)[0]) == item.group


@pytest.mark.parametrize(
    "text",
    [
        "",
        "dQw4w9WgXc",
        "dQw4w9WgXcQQ",
        "lib_" + SONG_SHA.upper(),
        SONG_SHA,
        "../etc/passwd",
        "lib_" + SONG_SHA[:-1],
    ],
)
def test_anything_else_is_not_a_public_id(text: str) -> None:
    with pytest.raises(ValueError, match="11-character YouTube video id"):
        group_for_public_id(text)
