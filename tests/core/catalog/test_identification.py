"""The identified recording first: a phone recording of a library track is answered with
that track first, whatever the embedding says, fresh or replayed from a cached query."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.catalog import ranking
from musicrec_core.catalog.identification import identified_group, rank_identified
from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.catalog.library import build_library, track_key
from musicrec_core.catalog.ranking import rank_groups
from musicrec_core.clip import SAMPLE_RATE_HZ, Clip
from musicrec_core.fingerprint import spectral_peaks
from musicrec_core.recommender import Recommender
from tests.helpers.band_embedder import BandEnergyEmbedder
from tests.helpers.melody import melody, phone_recording, write_audio
from tests.helpers.shown_score import assert_shown_score_is_the_order

SEEDS = (40, 41, 42, 43)


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four 30-s melodies."""
    folder = tmp_path_factory.mktemp("identified")
    for seed in SEEDS:
        write_audio(folder / f"tune{seed}.flac", melody(seed, 30.0))
    return folder


@pytest.fixture(scope="module")
def recommender(music: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recommender]:
    index_dir = tmp_path_factory.mktemp("index") / "index"
    build_library([str(music)], index_dir, BandEnergyEmbedder(), windows=3)
    with Recommender(CatalogIndex.load(index_dir), BandEnergyEmbedder()) as opened:
        yield opened


def _phone_clip(seed: int, start_s: float, where: Path) -> Clip:
    excerpt = melody(seed, 30.0)[int(start_s * SAMPLE_RATE_HZ) :][: 10 * SAMPLE_RATE_HZ]
    return phone_recording(excerpt, where / f"phone{seed}.mp3", seed=seed)


def test_a_phone_recording_gets_its_track_first(
    recommender: Recommender, music: Path, tmp_path: Path
) -> None:
    clip = _phone_clip(42, 11.0, tmp_path)
    result = recommender.recommend_many([clip], k=3)[0]
    assert result.items[0].group == track_key(music / "tune42.flac")
    assert result.query_peaks is not None and result.query_peaks.shape[1] == 2
    # Replayed from what a clip cache keeps: the same answer, not without the peaks.
    replayed = recommender.recommend_vector(
        result.query_vector,
        3,
        pooling=recommender.index.pooling,
        query=result.query,
        query_peaks=result.query_peaks,
    )
    assert replayed.items == result.items


def test_identification_overrides_the_embedding(
    recommender: Recommender, music: Path, tmp_path: Path
) -> None:
    """The query vector of another track's window, the peaks of tune41: tune41 first, and
    the style order follows it."""
    index = recommender.index
    other = track_key(music / "tune43.flac")
    item = next(i for i in range(len(index)) if index.meta(i).group == other)
    vector = index.vector(item)
    peaks = spectral_peaks(_phone_clip(41, 4.0, tmp_path).samples)
    assert rank_groups(index, vector, 3, set())[0].meta.group == other
    ranked = rank_identified(index, vector, 3, set(), peaks)
    assert ranked[0].meta.group == track_key(music / "tune41.flac")
    assert other in {found.meta.group for found in ranked}
    assert len({found.meta.group for found in ranked}) == 3
    # Excluded (the query's own file): never returned.
    excluded = {track_key(music / "tune41.flac")}
    assert excluded.isdisjoint(
        found.meta.group for found in rank_identified(index, vector, 3, excluded, peaks)
    )


@pytest.fixture(params=[True, False], ids=["style order", "item by item"])
def style(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Whether indexes loaded in the test rank in style order; False: item by item, as an
    index too large for profiles does."""
    if not request.param:
        monkeypatch.setattr(ranking, "PROFILE_MAX_ITEMS", 0)
    return request.param


def test_the_identified_track_is_marked_not_scored(
    recommender: Recommender, music: Path, tmp_path: Path, style: bool
) -> None:
    """Another track's vector with tune41's peaks: tune41 first, marked identified, without
    a score, the rest by falling score; item by item (an index too large for profiles) the
    identified track is put in front the same way."""
    other = track_key(music / "tune43.flac")
    with CatalogIndex.load(recommender.index.directory) as index:  # profiles built afresh
        vector = index.vector(next(i for i in range(len(index)) if index.meta(i).group == other))
        assert (ranking.profiles_of(index) is not None) == style
        result = Recommender(index, BandEnergyEmbedder()).recommend_vector(
            vector,
            3,
            pooling=index.pooling,
            query_peaks=spectral_peaks(_phone_clip(41, 4.0, tmp_path).samples),
        )
    first, *rest = result.items
    assert first.group == track_key(music / "tune41.flac")
    assert (first.identified, first.score) == (True, None)
    assert not any(item.identified for item in rest) and len(rest) == 2
    assert_shown_score_is_the_order(result)


def test_a_track_not_in_the_library_is_not_identified(
    recommender: Recommender, tmp_path: Path
) -> None:
    peaks = spectral_peaks(_phone_clip(99, 5.0, tmp_path).samples)
    assert identified_group(recommender.index, peaks) is None
    clean = melody(98, 12.0)[: 10 * SAMPLE_RATE_HZ]
    assert identified_group(recommender.index, spectral_peaks(clean)) is None


def test_an_index_without_landmarks_ranks_as_before(music: Path, tmp_path: Path) -> None:
    embedder = BandEnergyEmbedder()
    build_library([str(music)], tmp_path / "plain", embedder, windows=3, landmarks=False)
    clip = _phone_clip(42, 11.0, tmp_path)
    with Recommender(CatalogIndex.load(tmp_path / "plain"), embedder) as recommender:
        result = recommender.recommend(clip, 3)
        assert result.query_peaks is None
        expected = rank_groups(
            recommender.index, result.query_vector, 3, clip.provenance.own_groups
        )
        assert [item.item_id for item in result.items] == [found.item_id for found in expected]


def test_among_qualifying_items_the_identified_track_still_comes_first(
    recommender: Recommender, music: Path, tmp_path: Path, style: bool
) -> None:
    """Results restricted to the items of some tracks (a steering's qualifying items): the
    identified tune41 first when it is among them, never when it is not."""
    keys = {seed: track_key(music / f"tune{seed}.flac") for seed in SEEDS}
    peaks = spectral_peaks(_phone_clip(41, 4.0, tmp_path).samples)
    with CatalogIndex.load(recommender.index.directory) as index:
        assert (ranking.profiles_of(index) is not None) == style
        groups = [index.meta(i).group for i in range(len(index))]
        vector = index.vector(groups.index(keys[43]))

        def among(*seeds: int) -> np.ndarray:
            wanted = {keys[seed] for seed in seeds}
            return np.array([i for i, g in enumerate(groups) if g in wanted], dtype=np.int32)

        ranked = rank_identified(index, vector, 3, set(), peaks, among(41, 40))
        assert [found.meta.group for found in ranked][0] == keys[41] and ranked[0].identified
        assert {found.meta.group for found in ranked} == {keys[41], keys[40]}
        without = rank_identified(index, vector, 3, set(), peaks, among(40, 42))
        assert {found.meta.group for found in without} == {keys[40], keys[42]}
        assert not any(found.identified for found in without)
