"""Steering: results carry every ``more`` word and no ``less`` word, ranked by the same
score as unsteered: every qualifying item when the steering names them (a label index,
track tags), else among the STEER_WIDTH_FACTOR x k nearest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicrec_core.catalog.index import CatalogIndex, IndexBuilder, ItemMeta
from musicrec_core.errors import (
    BadWordsError,
    ContradictoryWordsError,
    NoVocabularyError,
    UnknownWordError,
)
from musicrec_core.recommender import Recommender
from musicrec_core.steering import MAX_WORDS, Vocabulary, catalog_vocabulary
from musicrec_core.steering.carried_tags import TAG_THRESHOLD
from musicrec_core.steering.filter import STEER_WIDTH_FACTOR, LabelSteering
from tests.helpers.band_embedder import BandEnergyEmbedder
from tests.helpers.steering_indexes import TRACK_TAGS, build_tagged_library, build_vggish_library

LABEL_CYCLE = (
    ("Music", "Jazz"),
    ("Music", "Piano"),
    ("Music", "Jazz", "Singing"),
    ("Speech",),
    ("Music", "Electric guitar"),
)
"""The labels of segment i are LABEL_CYCLE[i % 5]: a fifth sing, two fifths are jazz."""
SEGMENTS = 60
QUERY = np.eye(16, dtype=np.float32)[0]


@pytest.fixture(scope="module")
def recommender(tmp_path_factory: pytest.TempPathFactory) -> Recommender:
    """60 AudioSet-style segments of 60 videos; segment i lies further from QUERY as i
    grows, so the unsteered order is 0, 1, 2, ..."""
    embedder = BandEnergyEmbedder()
    angles = np.linspace(0.0, 1.4, SEGMENTS)
    vectors = np.zeros((SEGMENTS, 16), dtype=np.float32)
    vectors[:, 0], vectors[:, 1] = np.cos(angles), np.sin(angles)
    target = tmp_path_factory.mktemp("steered") / "index"
    metas = [
        ItemMeta(group=f"vid{i:02d}", start_s=0.0, end_s=10.0, labels=LABEL_CYCLE[i % 5])
        for i in range(SEGMENTS)
    ]
    with IndexBuilder(target, embedder=embedder.id, pooling="mean") as builder:
        builder.add_many(vectors, metas)
        builder.commit({"source": "audioset"})
    opened = Recommender(CatalogIndex.load(target), embedder)
    yield opened
    opened.close()


def steered(recommender: Recommender, vocabulary: Vocabulary, k: int, more=(), less=()):
    steering = LabelSteering.from_words(vocabulary, list(more), list(less))
    return recommender.recommend_vector(QUERY, k, pooling="mean", steering=steering)


def test_more_keeps_only_items_carrying_the_label_in_score_order(
    recommender: Recommender, audioset_vocabulary: Vocabulary
) -> None:
    result = steered(recommender, audioset_vocabulary, 4, more=["jazz"])
    assert [item.group for item in result.items] == ["vid00", "vid02", "vid05", "vid07"]
    assert all("Jazz" in item.labels for item in result.items)
    scores = [item.score for item in result.items]
    assert scores == sorted(scores, reverse=True)
    outcome = result.steering
    assert outcome is not None and outcome.exact and outcome.unit == "segment"
    assert (outcome.qualified, outcome.searched) == (24, 24)  # 2 in 5 of all 60
    shown = result.to_json()["steering"]
    assert shown["more"][0]["names"] == ["Jazz"] and (shown["exact"], shown["qualified"]) == (
        True,
        24,
    )


def test_a_label_word_covers_the_classes_below_it(
    recommender: Recommender, audioset_vocabulary: Vocabulary
) -> None:
    result = steered(recommender, audioset_vocabulary, 2, more=["guitar"])
    assert [item.group for item in result.items] == ["vid04", "vid09"]


def test_less_excludes_and_more_words_must_all_be_carried(
    recommender: Recommender, audioset_vocabulary: Vocabulary
) -> None:
    result = steered(recommender, audioset_vocabulary, 3, more=["jazz"], less=["singing"])
    assert [item.group for item in result.items] == ["vid00", "vid05", "vid10"]
    both = steered(recommender, audioset_vocabulary, 3, more=["jazz", "singing"])
    assert [item.group for item in both.items] == ["vid02", "vid07", "vid12"]


def test_a_negated_word_means_none_of_its_labels(
    recommender: Recommender, audioset_vocabulary: Vocabulary
) -> None:
    result = steered(recommender, audioset_vocabulary, 4, more=["no vocals"])
    assert [item.group for item in result.items] == ["vid00", "vid01", "vid04", "vid05"]
    flipped = steered(recommender, audioset_vocabulary, 2, less=["no vocals"])
    assert [item.group for item in flipped.items] == ["vid02", "vid03"]


def test_too_few_qualifying_are_counted_not_padded(
    recommender: Recommender, audioset_vocabulary: Vocabulary
) -> None:
    result = steered(recommender, audioset_vocabulary, 20, more=["piano"])
    assert len(result.items) == 12 and result.steering.qualified == 12
    summary = result.steering.summary(20, len(result.items))
    assert "12 segments of the catalog qualify" in summary
    assert "fewer than the 20 asked: only 12 shown" in summary


def test_a_label_no_item_carries_is_said_so(
    recommender: Recommender, audioset_vocabulary: Vocabulary
) -> None:
    nothing = steered(recommender, audioset_vocabulary, 5, more=["theremin"])
    assert nothing.items == () and nothing.steering.qualified == 0
    assert "0 segments of the catalog qualify" in nothing.steering.summary(5, 0)


def test_less_words_alone_filter_a_fixed_width(
    recommender: Recommender, audioset_vocabulary: Vocabulary
) -> None:
    """Nothing required: k = 1 searches 20 segments as unsteered, the first not singing."""
    result = steered(recommender, audioset_vocabulary, 1, less=["singing"])
    outcome = result.steering
    assert not outcome.exact and (outcome.searched, outcome.width) == (STEER_WIDTH_FACTOR,) * 2
    assert outcome.qualified == 16  # 4 of the 20 (2, 7, 12, 17) sing
    assert [item.group for item in result.items] == ["vid00"]
    assert "16 of the 20 nearest results searched qualify" in outcome.summary(1, 1)


@pytest.mark.parametrize(
    ("more", "less"),
    [(["jazz"], ["Jazz"]), (["singing", "no vocals"], []), (["jazz"], ["music"])],
)
def test_contradictory_words_are_refused(
    audioset_vocabulary: Vocabulary, more: list[str], less: list[str]
) -> None:
    """The same label both ways, a negated word ruling out a more word, and a less word
    whose sub-classes hold the more word's label."""
    with pytest.raises(ContradictoryWordsError, match="rule out"):
        LabelSteering.from_words(audioset_vocabulary, more, less)


def test_narrowing_a_word_is_not_a_contradiction(
    recommender: Recommender, audioset_vocabulary: Vocabulary
) -> None:
    """More "singing" with less "no vocals" asks for Singing twice over; "music" without jazz
    leaves the other music."""
    result = steered(recommender, audioset_vocabulary, 2, more=["singing"], less=["no vocals"])
    assert [item.group for item in result.items] == ["vid02", "vid07"]
    other = steered(recommender, audioset_vocabulary, 2, more=["music"], less=["jazz"])
    assert [item.group for item in other.items] == ["vid01", "vid04"]


def test_bad_words_are_refused_with_a_reason(audioset_vocabulary: Vocabulary) -> None:
    with pytest.raises(BadWordsError, match=f"at most {MAX_WORDS}"):
        LabelSteering.from_words(audioset_vocabulary, ["jazz"] * 40, ["piano"] * 10)
    with pytest.raises(UnknownWordError) as unknown:
        LabelSteering.from_words(audioset_vocabulary, ["**jazz**"], [])
    assert "Jazz" in unknown.value.nearest
    with pytest.raises(UnknownWordError):
        LabelSteering.from_words(audioset_vocabulary, [], ["<@123456> @everyone"])


def test_a_library_filters_by_tag_score_against_the_threshold(tmp_path: Path) -> None:
    with CatalogIndex.load(build_tagged_library(tmp_path / "index")) as index:
        recommender = Recommender(index, _StubEmbedder(index))
        vocabulary = catalog_vocabulary(index)
        query = index.vector(0)

        def groups(more=(), less=()) -> list[str]:
            steering = LabelSteering.from_words(vocabulary, list(more), list(less))
            result = recommender.recommend_vector(query, 2, pooling="mean", steering=steering)
            return [item.group for item in result.items]

        # track-a: piano 0.8125, drums 0.0625; track-b: drums 0.625, piano 0.03125
        assert (
            TRACK_TAGS["track-b"][2].probability
            < TAG_THRESHOLD
            < TRACK_TAGS["track-a"][0].probability
        )
        assert groups(more=["piano"]) == ["track-a"]
        assert groups(more=["drums"]) == ["track-b"]
        assert groups(less=["piano"]) == ["track-b"]
        assert groups(more=["techno"], less=["drums"]) == []


def test_a_library_steering_can_be_given_its_own_threshold(tmp_path: Path) -> None:
    with CatalogIndex.load(build_tagged_library(tmp_path / "index")) as index:
        recommender = Recommender(index, _StubEmbedder(index))
        vocabulary = catalog_vocabulary(index)

        def piano(threshold: float) -> tuple[list[str], object]:
            steering = LabelSteering.from_words(vocabulary, ["piano"], [], tag_threshold=threshold)
            result = recommender.recommend_vector(
                index.vector(0), 2, pooling="mean", steering=steering
            )
            return sorted(item.group for item in result.items), steering.to_json()["tag_threshold"]

        # track-a: piano 0.8125; track-b: piano 0.03125
        assert piano(0.03125) == (["track-a", "track-b"], 0.03125)
        assert piano(0.9) == ([], 0.9)
        with pytest.raises(ValueError, match="tag threshold"):
            LabelSteering.from_words(vocabulary, ["piano"], [], tag_threshold=0.0)
    default = LabelSteering.from_words(vocabulary, ["piano"], [])
    assert default.to_json()["tag_threshold"] == TAG_THRESHOLD


def test_a_vggish_library_cannot_be_steered(tmp_path: Path) -> None:
    with (
        CatalogIndex.load(build_vggish_library(tmp_path / "index")) as index,
        pytest.raises(NoVocabularyError, match="VGGish library"),
    ):
        catalog_vocabulary(index)


class _StubEmbedder(BandEnergyEmbedder):
    """Any embedder whose id is the index's: recommend_vector embeds nothing."""

    def __init__(self, index: CatalogIndex) -> None:
        super().__init__()
        self._id = index.embedder

    @property
    def id(self):  # type: ignore[override]
        return self._id
