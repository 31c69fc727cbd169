"""Steering that names its qualifying items ranks all of them: a label whose segments all
lie beyond the fixed width is still answered in full, one segment per video, by the score
the unsteered query gives the same video (item by item with one segment per video, style
order with two)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.catalog import ranking
from musicrec_core.catalog.index import CatalogIndex, IndexBuilder, ItemMeta
from musicrec_core.cli.recommend import format_table
from musicrec_core.recommendation import RecommendationSet
from musicrec_core.recommender import Recommender
from musicrec_core.steering import STEER_WIDTH_FACTOR, Vocabulary, catalog_vocabulary
from musicrec_core.steering.filter import LabelSteering, SteeredOutcome
from tests.core.steering.test_filter import _StubEmbedder
from tests.helpers.band_embedder import BandEnergyEmbedder
from tests.helpers.steering_indexes import build_tagged_library, strip_label_index
from tests.helpers.width_only_steering import WidthOnly

SEGMENTS = 240
FIRST_JAZZ = 200
"""Segments 200..239, the furthest from the query, carry Jazz."""
ANGLES = np.linspace(0.0, 1.4, SEGMENTS)
QUERY = np.eye(16, dtype=np.float32)[0]


@pytest.fixture(scope="module", params=[1, 2], ids=["one-per-video", "two-per-video"])
def index_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    per_video = request.param
    vectors = np.zeros((SEGMENTS, 16), dtype=np.float32)
    vectors[:, 0], vectors[:, 1] = np.cos(ANGLES), np.sin(ANGLES)
    metas = [
        ItemMeta(
            group=f"v{i // per_video:03d}",
            start_s=10.0 * (i % per_video),
            end_s=10.0 * (i % per_video) + 10,
            labels=("Music", "Jazz") if i >= FIRST_JAZZ else ("Music",),
        )
        for i in range(SEGMENTS)
    ]
    target = tmp_path_factory.mktemp("far-jazz") / "index"
    exhaustive = SEGMENTS * 1000  # Annoy inspects every node: unsteered finds every video
    with IndexBuilder(
        target, embedder=BandEnergyEmbedder().id, pooling="mean", search_k=exhaustive
    ) as builder:
        builder.add_many(vectors, metas)
        builder.commit({"source": "audioset"})
    return target


def ask(index_dir: Path, steering, k: int):
    with CatalogIndex.load(index_dir) as index:
        recommender = Recommender(index, BandEnergyEmbedder())
        return recommender.recommend_vector(QUERY, k, pooling="mean", steering=steering)


def test_a_label_beyond_the_width_is_answered_in_full_one_segment_per_video(
    index_dir: Path, audioset_vocabulary: Vocabulary
) -> None:
    jazz = LabelSteering.from_words(audioset_vocabulary, ["jazz"], [])
    result = ask(index_dir, jazz, 5)
    per_video = 240 // len(ask(index_dir, None, SEGMENTS).items)
    first = [FIRST_JAZZ + per_video * n for n in range(5)]
    assert [item.item_id for item in result.items] == first  # each video's nearest segment
    assert [item.group for item in result.items] == [f"v{i // per_video:03d}" for i in first]
    assert all("Jazz" in item.labels for item in result.items)
    unsteered = {item.group: item.score for item in ask(index_dir, None, SEGMENTS).items}
    scores = [item.score for item in result.items]
    assert scores == pytest.approx([unsteered[item.group] for item in result.items], abs=1e-5)
    assert scores == sorted(scores, reverse=True)
    if per_video == 1:  # item by item: the score is the segment's cosine
        assert scores == pytest.approx(np.cos(ANGLES[first]), abs=1e-5)
    outcome = result.steering
    assert outcome.exact and (outcome.qualified, outcome.unit) == (40, "segment")
    filtered = ask(index_dir, WidthOnly(jazz), 5)
    assert filtered.items == () and not filtered.steering.exact
    assert (filtered.steering.qualified, filtered.steering.searched) == (
        0,
        5 * STEER_WIDTH_FACTOR,
    )


def test_fewer_videos_than_k_are_counted(index_dir: Path, audioset_vocabulary: Vocabulary) -> None:
    """40 segments qualify, of 40 or 20 videos: k = 45 gets them all, and says so."""
    result = ask(index_dir, LabelSteering.from_words(audioset_vocabulary, ["jazz"], []), 45)
    videos = len({item.group for item in result.items})
    assert videos == len(result.items) and videos in (20, 40)
    scores = [item.score for item in result.items]
    assert scores == sorted(scores, reverse=True)
    summary = result.steering.summary(45, len(result.items))
    assert "40 segments of the catalog qualify" in summary
    assert f"fewer than the 45 asked: only {videos} shown" in summary


def test_an_index_published_before_the_label_index_derives_it(
    index_dir: Path, audioset_vocabulary: Vocabulary, tmp_path: Path
) -> None:
    old = tmp_path / "old"
    shutil.copytree(index_dir, old)
    strip_label_index(old)
    jazz = LabelSteering.from_words(audioset_vocabulary, ["jazz"], [])
    assert ask(old, jazz, 3).items == ask(index_dir, jazz, 3).items
    assert ask(old, jazz, 3).steering.exact


def test_a_library_ranks_every_track_whose_tags_qualify(tmp_path: Path) -> None:
    with CatalogIndex.load(build_tagged_library(tmp_path / "index")) as index:
        recommender = Recommender(index, _StubEmbedder(index))
        steering = LabelSteering.from_words(catalog_vocabulary(index), ["piano"], [])
        result = recommender.recommend_vector(index.vector(2), 2, pooling="mean", steering=steering)
    assert [item.group for item in result.items] == ["track-a"]
    outcome = result.steering
    assert outcome.exact and (outcome.qualified, outcome.unit) == (1, "track")


def test_a_broad_word_found_among_the_nearest_is_ranked_as_exactly(
    index_dir: Path, audioset_vocabulary: Vocabulary, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every segment carries Music (above SEARCH_FIRST_SHARE: looked for among the nearest
    first); ranking all of them gives the same answer, the unsteered one."""
    music = LabelSteering.from_words(audioset_vocabulary, ["music"], [])
    searched_first = ask(index_dir, music, 5).items
    assert searched_first == ask(index_dir, None, 5).items
    monkeypatch.setattr(ranking, "SEARCH_FIRST_SHARE", 1.0)
    assert [item.item_id for item in ask(index_dir, music, 5).items] == [
        item.item_id for item in searched_first
    ]


def test_the_table_says_why_nothing_was_found(
    index_dir: Path, audioset_vocabulary: Vocabulary
) -> None:
    """No segment carries Theremin; a qualifying segment left out (the query's own)."""
    theremin = LabelSteering.from_words(audioset_vocabulary, ["theremin"], [])
    table = format_table(ask(index_dir, theremin, 3), 3).splitlines()
    assert "0 segments of the catalog qualify" in table[0]
    assert table[1] == "No recommendations: nothing in the catalog carries those words."
    jazz = LabelSteering.from_words(audioset_vocabulary, ["jazz"], [])
    outcome = SteeredOutcome(jazz, 1, 1, 1, exact=True, unit="segment")
    only_own = RecommendationSet(None, QUERY, (), (), "cafe0123", steering=outcome)
    assert format_table(only_own, 3).splitlines()[-1] == (
        "No recommendations: only the query's own video or track carries those words."
    )
