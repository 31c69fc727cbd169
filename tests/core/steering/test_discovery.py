"""Discovery without a clip: items carrying all the words, one per video or track, in a
seeded shuffle; bad words refused with a reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.errors import (
    BadWordsError,
    ContradictoryWordsError,
    NoItemsError,
    UnknownWordError,
)
from musicrec_core.steering import TAG_THRESHOLD, Vocabulary
from musicrec_core.steering.discovery import (
    FULL_SHUFFLE_MAX,
    Discovery,
    discover,
    spread_page,
)
from tests.helpers.steering_indexes import (
    TRACK_TAGS,
    build_audioset_index,
    build_tagged_library,
    strip_label_index,
)

JAZZ_SEGMENTS = (("Music", "Jazz", "Piano"), ("Music", "Jazz", "Singing"), ("Music", "Jazz"))
SEGMENTS = (
    [(f"jazz{v}", labels) for v in range(20) for labels in JAZZ_SEGMENTS]
    + [(f"rock{v}", ("Music", "Rock music", "Electric guitar")) for v in range(5)]
    + [("talk", ("Speech",))]
)
"""20 jazz videos of three segments each, 5 rock videos of one, one speech segment."""


@pytest.fixture(scope="module")
def audioset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_audioset_index(tmp_path_factory.mktemp("discover") / "index", SEGMENTS)


@pytest.fixture
def audioset_index(audioset_dir: Path) -> CatalogIndex:
    with CatalogIndex.load(audioset_dir) as index:
        yield index


def labels_of(found: Discovery) -> list[set[str]]:
    return [set(item.meta.labels) for item in found.items]


def test_only_items_with_all_words_one_per_video(
    audioset_index: CatalogIndex, audioset_vocabulary: Vocabulary
) -> None:
    found = discover(audioset_index, audioset_vocabulary, ["Jazz", "pianos"], 50, seed=0)
    assert found.qualified == 20 and found.unit == "segment"
    assert len(found.items) == 20
    assert all({"Jazz", "Piano"} <= labels for labels in labels_of(found))
    jazz = discover(audioset_index, audioset_vocabulary, ["jazz"], 50, seed=0)
    assert jazz.qualified == 60  # segments qualify; the page keeps one per video
    groups = [item.meta.group for item in jazz.items]
    assert sorted(groups) == sorted(f"jazz{v}" for v in range(20))
    assert jazz.items[0].url.startswith(f"https://www.youtube.com/watch?v={groups[0]}&t=")


def test_a_word_covers_the_classes_below_it_and_a_negated_word_excludes(
    audioset_index: CatalogIndex, audioset_vocabulary: Vocabulary
) -> None:
    guitar = discover(audioset_index, audioset_vocabulary, ["guitar"], 50, seed=0)
    assert guitar.qualified == 5  # Electric guitar is below Guitar
    quiet = discover(audioset_index, audioset_vocabulary, ["jazz", "no vocals"], 50, seed=3)
    assert quiet.qualified == 40 and quiet.resolutions[1].negated
    assert all("Singing" not in labels for labels in labels_of(quiet))


def test_the_seed_changes_the_page_and_the_same_seed_repeats_it(
    audioset_index: CatalogIndex, audioset_vocabulary: Vocabulary
) -> None:
    def page(seed: int) -> list[int]:
        found = discover(audioset_index, audioset_vocabulary, ["music"], 5, seed=seed)
        return [item.item_id for item in found.items]

    assert len(page(0)) == 5
    assert page(0) == page(0)
    assert page(1) != page(0)


def test_an_index_published_before_the_label_index_still_discovers(
    tmp_path: Path, audioset_vocabulary: Vocabulary
) -> None:
    index_dir = build_audioset_index(tmp_path / "index", SEGMENTS)
    with CatalogIndex.load(index_dir) as index:
        stored = discover(index, audioset_vocabulary, ["jazz", "piano"], 7, seed=4)
    strip_label_index(index_dir)
    with CatalogIndex.load(index_dir) as index:
        derived = discover(index, audioset_vocabulary, ["jazz", "piano"], 7, seed=4)
    assert derived.qualified == stored.qualified == 20
    assert derived.items == stored.items


@pytest.mark.parametrize(
    ("words", "error", "said"),
    [
        (["jazzz"], UnknownWordError, "Jazz"),
        (["singing", "no vocals"], ContradictoryWordsError, "contradict"),
        (["violin"], NoItemsError, "0 segments of this catalog carry all of: violin"),
        (["music"] * 9, BadWordsError, "at most 8 words"),
        ([], BadWordsError, "at least one word"),
    ],
)
def test_bad_words_get_a_reason(
    audioset_index: CatalogIndex,
    audioset_vocabulary: Vocabulary,
    words: list[str],
    error: type[Exception],
    said: str,
) -> None:
    with pytest.raises(error, match=said):
        discover(audioset_index, audioset_vocabulary, words, 5, seed=0)


def test_a_library_track_qualifies_by_its_tag_score(tmp_path: Path) -> None:
    with CatalogIndex.load(build_tagged_library(tmp_path / "library")) as index:
        vocabulary = Vocabulary.for_tags("mtt")
        piano = discover(index, vocabulary, ["piano"], 5, seed=0)
        drums = discover(index, vocabulary, ["drums"], 5, seed=0)
        both = discover(index, vocabulary, ["Classical", "piano"], 5, seed=0)
        with pytest.raises(NoItemsError, match="0 tracks of this catalog carry all of"):
            discover(index, vocabulary, ["piano", "techno"], 5, seed=0)
    scores = {group: {t.name: t.probability for t in tags} for group, tags in TRACK_TAGS.items()}
    assert scores["track-b"]["piano"] < TAG_THRESHOLD <= scores["track-a"]["piano"]
    assert [item.meta.group for item in piano.items] == ["track-a"]  # one window per track
    assert piano.qualified == 1 and piano.unit == "track"
    assert [item.meta.group for item in drums.items] == ["track-b"]
    assert [item.meta.group for item in both.items] == ["track-a"]


def test_a_library_is_read_whole_once_not_per_discover(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first discover reads every item's group; later ones only their page's items."""
    asked: list[int] = []
    metas = CatalogIndex.metas

    def counted(self: CatalogIndex, item_ids):
        wanted = list(item_ids)
        asked.append(len(wanted))
        return metas(self, wanted)

    monkeypatch.setattr(CatalogIndex, "metas", counted)
    with CatalogIndex.load(build_tagged_library(tmp_path / "library")) as index:
        vocabulary = Vocabulary.for_tags("mtt")
        discover(index, vocabulary, ["piano"], 5, seed=0)
        first = list(asked)
        asked.clear()
        discover(index, vocabulary, ["drums"], 5, seed=1)
    assert len(index) in first and max(asked) < len(index)


def test_a_large_candidate_set_is_sampled_and_falls_back_to_a_full_shuffle() -> None:
    many = np.arange(FULL_SHUFFLE_MAX * 2, dtype=np.int32)

    def by_video(ids: np.ndarray) -> list[str]:
        return [str(i // 3) for i in ids]

    page = spread_page(many, 10, 5, by_video)
    assert page == spread_page(many, 10, 5, by_video) != spread_page(many, 10, 6, by_video)
    assert len({i // 3 for i in page}) == 10
    few_groups = spread_page(many, 10, 5, lambda ids: [str(i % 4) for i in ids])
    assert sorted(i % 4 for i in few_groups) == [0, 1, 2, 3]  # every group, then the end
