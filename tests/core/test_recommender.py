"""Recommender: distinct groups, exclusion, scores, links, re-query, swaps, refusals.

Indexes are real (IndexBuilder / CatalogIndex on disk); the embedder is the band-energy
test embedder (tests/helpers/band_embedder.py), so every query runs the whole path quickly.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.catalog.index import (
    VECTORS_FILE,
    CatalogIndex,
    IndexBuilder,
    ItemMeta,
)
from musicrec_core.catalog.pooling import DEFAULT_POOLING, pool
from musicrec_core.catalog.ranking import nearest_groups
from musicrec_core.clip import SAMPLE_RATE_HZ, Clip, Provenance
from musicrec_core.errors import (
    CatalogError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    UnknownItemError,
)
from musicrec_core.recommender import (
    OVERFETCH_FACTOR,
    RecommendationSet,
    Recommender,
    youtube_url,
)
from tests.helpers.band_embedder import BAND_EDGES_HZ, BandEnergyEmbedder
from tests.helpers.held_embedder import HeldEmbedder
from tests.helpers.index_damage import flip_middle_bytes, rewrite_stored_vector

N_VIDEOS = 12
SEGMENTS_PER_VIDEO = 3


def band_center_hz(band: int) -> float:
    return float(np.sqrt(BAND_EDGES_HZ[band] * BAND_EDGES_HZ[band + 1]))


def tone(freq_hz: float, *, seconds: float = 3.0, noise: float = 0.05, seed: int = 0) -> np.ndarray:
    """A sine at ``freq_hz`` plus seeded white noise, float32 [seconds * 16000]."""
    t = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    rng = np.random.default_rng(seed)
    samples = 0.5 * np.sin(2 * np.pi * freq_hz * t) + noise * rng.standard_normal(t.shape)
    return samples.astype(np.float32)


def video_id(number: int) -> str:
    return f"video{number:06d}"


def build_index(
    directory: Path,
    embedder: BandEnergyEmbedder,
    entries: Sequence[tuple[np.ndarray, ItemMeta]],
) -> Path:
    """Embed each waveform, pool it with the default rule and publish an index."""
    embeddings = embedder.embed_many([Clip(samples) for samples, _ in entries])
    vectors = np.stack([pool(e.vectors, DEFAULT_POOLING) for e in embeddings])
    with IndexBuilder(directory, embedder=embedder.id, pooling=DEFAULT_POOLING) as builder:
        builder.add_many(vectors, [meta for _, meta in entries])
        builder.commit()
    return directory


def video_entries(prefix: str = "video") -> list[tuple[np.ndarray, ItemMeta]]:
    """N_VIDEOS videos, each a tone in its own band, SEGMENTS_PER_VIDEO noisy segments each."""
    entries = []
    for number in range(N_VIDEOS):
        group = f"{prefix}{number:06d}"[-11:]
        for segment in range(SEGMENTS_PER_VIDEO):
            samples = tone(band_center_hz(number + 2), seed=100 * number + segment)
            meta = ItemMeta(
                group=group,
                start_s=30.0 * segment + 0.7,
                end_s=30.0 * segment + 10.7,
                labels=("Music", f"Label {number}"),
            )
            entries.append((samples, meta))
    return entries


@pytest.fixture(scope="module")
def video_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_index(
        tmp_path_factory.mktemp("videos") / "index", BandEnergyEmbedder(), video_entries()
    )


@pytest.fixture
def recommender(video_index_dir: Path) -> Iterator[Recommender]:
    index = CatalogIndex.load(video_index_dir)
    yield Recommender(index, BandEnergyEmbedder())
    index.close()


def file_clip(number: int, *, seed: int = 999) -> Clip:
    """A query clip (kind "file") sounding like video ``number``."""
    samples = tone(band_center_hz(number + 2), seed=seed)
    return Clip(samples, Provenance(kind="file", ref=f"query{number}.wav"))


def test_youtube_url_starts_at_whole_seconds() -> None:
    assert youtube_url("dQw4w9WgXcQ", 42.9) == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s"


@pytest.mark.parametrize("number", [0, 5, 11])
def test_query_finds_its_video_first_with_distinct_groups(
    recommender: Recommender, number: int
) -> None:
    result = recommender.recommend(file_clip(number), k=5)
    groups = [item.group for item in result.items]
    assert groups[0] == video_id(number)
    assert len(groups) == 5 == len(set(groups))
    assert [item.rank for item in result.items] == [1, 2, 3, 4, 5]
    scores = [item.score for item in result.items]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[0] > 0.9
    best = result.items[0]
    assert best.labels == ("Music", f"Label {number}")
    assert best.url == youtube_url(best.group, best.start_s)
    assert best.url.endswith(f"&t={int(best.start_s)}s")
    assert best.end_s == pytest.approx(best.start_s + 10.0)
    assert result.query.ref == f"query{number}.wav"
    assert result.query_vector.shape == (recommender.index.dim,)
    assert result.query_tags == ()


def test_own_video_is_excluded(recommender: Recommender) -> None:
    clip = Clip(file_clip(4).samples, Provenance(kind="youtube", ref=video_id(4)))
    groups = [item.group for item in recommender.recommend(clip, k=5).items]
    assert video_id(4) not in groups
    assert len(set(groups)) == 5
    kept = recommender.recommend(clip, k=5, include_self=True)
    assert kept.items[0].group == video_id(4)


def test_exclude_groups_drops_those_groups(recommender: Recommender) -> None:
    excluded = {video_id(4), video_id(5)}
    result = recommender.recommend(file_clip(4), k=3, exclude_groups=excluded)
    assert not excluded & {item.group for item in result.items}
    assert len(result.items) == 3


def test_each_clip_of_one_batch_excludes_only_its_own_track(recommender: Recommender) -> None:
    """Two uploads of catalog tracks in ONE recommend_many call: each loses only itself."""

    def upload_of(number: int) -> Clip:
        provenance = Provenance(kind="attachment", ref=f"up{number}.wav")
        return Clip(file_clip(number).samples, provenance).with_content_sha256(video_id(number))

    clips = [upload_of(4), upload_of(7)]
    calls_before = recommender.embedder.calls
    first, second = recommender.recommend_many(clips, k=N_VIDEOS)
    assert recommender.embedder.calls == calls_before + 1
    every = {video_id(n) for n in range(N_VIDEOS)}
    assert {item.group for item in first.items} == every - {video_id(4)}
    assert {item.group for item in second.items} == every - {video_id(7)}

    kept = recommender.recommend_many(clips, k=2, include_self=True)
    assert [result.items[0].group for result in kept] == [video_id(4), video_id(7)]
    both = recommender.recommend_many(
        clips, k=N_VIDEOS, exclude_groups={video_id(0)}, include_self=True
    )
    assert all(video_id(0) not in {item.group for item in r.items} for r in both)


def test_k_larger_than_the_catalog_returns_every_group_once(recommender: Recommender) -> None:
    result = recommender.recommend(file_clip(0), k=N_VIDEOS + 10)
    assert sorted(item.group for item in result.items) == [video_id(n) for n in range(N_VIDEOS)]


def test_k_below_one_is_refused(recommender: Recommender) -> None:
    with pytest.raises(ValueError):
        recommender.recommend(file_clip(0), k=0)


def test_recommend_many_embeds_in_one_call_and_matches_single_queries(
    recommender: Recommender,
) -> None:
    clips = [file_clip(n) for n in (1, 7, 9)]
    embedder = recommender.embedder
    calls_before = embedder.calls
    many = recommender.recommend_many(clips, k=4)
    assert embedder.calls == calls_before + 1
    singles = [recommender.recommend(clip, k=4) for clip in clips]
    for batch_result, single in zip(many, singles, strict=True):
        assert batch_result.items == single.items
    assert recommender.recommend_many([], k=3) == []


def test_many_segments_of_one_group_collapse_even_past_the_first_fetch(
    tmp_path: Path,
) -> None:
    """One group owns far more near-identical items than the first over-fetch asks for."""
    crowd = 8 * OVERFETCH_FACTOR
    entries = [
        (
            tone(band_center_hz(6), seed=seed),
            ItemMeta(group="crowdedvid0", start_s=float(seed), end_s=seed + 10.0, labels=()),
        )
        for seed in range(crowd)
    ]
    entries += [
        (tone(band_center_hz(band), seed=band), ItemMeta(f"other{band:06d}", 0.0, 10.0, ()))
        for band in (5, 7, 9, 12)
    ]
    embedder = BandEnergyEmbedder()
    with CatalogIndex.load(build_index(tmp_path / "index", embedder, entries)) as index:
        result = Recommender(index, embedder).recommend(Clip(tone(band_center_hz(6))), k=3)
    groups = [item.group for item in result.items]
    assert groups[0] == "crowdedvid0"
    assert len(groups) == 3 == len(set(groups))


def test_recall_against_exact_grouped_search(tmp_path: Path) -> None:
    """Items made of random chords; the item-by-item order (nearest_groups, Annoy's search)
    vs exact cosine top-k per group."""
    rng = np.random.default_rng(7)
    t = np.arange(SAMPLE_RATE_HZ) / SAMPLE_RATE_HZ
    entries = []
    for number in range(150):
        freqs = rng.uniform(60.0, 7000.0, size=3)
        weights = rng.uniform(0.2, 1.0, size=3)
        for segment in range(2):
            samples = sum(
                w * np.sin(2 * np.pi * f * (1 + 0.01 * segment) * t)
                for w, f in zip(weights, freqs, strict=True)
            )
            samples = (0.3 * samples / 3).astype(np.float32)
            entries.append((samples, ItemMeta(f"chord{number:06d}", 10.0 * segment, 10.0, ())))
    embedder = BandEnergyEmbedder()
    k = 10
    with CatalogIndex.load(build_index(tmp_path / "index", embedder, entries)) as index:
        stored = np.stack([index.vector(i) for i in range(len(index))])
        unit = stored / np.linalg.norm(stored, axis=1, keepdims=True)
        groups = [meta.group for meta in index.metas(range(len(index)))]
        hits = 0
        queries = range(0, len(index), 10)
        for item_id in queries:
            cosines = unit @ unit[item_id]
            exact: list[str] = []
            for other in np.argsort(-cosines, kind="stable"):
                group = groups[other]
                if group != groups[item_id] and group not in exact:
                    exact.append(group)
                if len(exact) == k:
                    break
            own = {groups[item_id]}
            found = [f.meta.group for f in nearest_groups(index, stored[item_id], k, own)]
            assert groups[item_id] not in found
            hits += len(set(found) & set(exact))
    assert hits / (k * len(queries)) >= 0.95


def test_recommend_from_item_excludes_its_group(recommender: Recommender) -> None:
    index = recommender.index
    item_id = 4 * SEGMENTS_PER_VIDEO + 1
    meta = index.meta(item_id)
    result = recommender.recommend_from_item(item_id, k=4)
    assert meta.group not in {item.group for item in result.items}
    assert len(result.items) == 4
    assert result.query.kind == "youtube" and result.query.ref == meta.group
    assert result.query.start_s == meta.start_s
    np.testing.assert_array_equal(result.query_vector, index.vector(item_id))
    scores = [item.score for item in result.items]
    assert scores == sorted(scores, reverse=True)


def test_recommend_from_unknown_item_is_a_catalog_error(recommender: Recommender) -> None:
    with pytest.raises(CatalogError, match="no item"):
        recommender.recommend_from_item(len(recommender.index), k=3)


@pytest.mark.parametrize("item_id", [-1, 10**9])
def test_an_unknown_item_id_is_a_friendly_unknown_item_error(
    recommender: Recommender, item_id: int
) -> None:
    with pytest.raises(UnknownItemError, match="run /recommend again"):
        recommender.recommend_from_item(item_id, k=3)


def test_recommend_vector_answers_a_stored_query_like_the_clip_did(
    recommender: Recommender,
) -> None:
    clip = Clip(file_clip(3).samples, Provenance(kind="youtube", ref=video_id(3)))
    first = recommender.recommend(clip, k=4)
    again = recommender.recommend_vector(
        first.query_vector,
        4,
        pooling=recommender.index.pooling,
        query=first.query,
        query_tags=first.query_tags,
    )
    assert again.items == first.items  # the query's own video is left out again
    assert video_id(3) not in {item.group for item in again.items}
    assert (again.query, again.catalog) == (first.query, first.catalog)
    with pytest.raises(IndexMismatchError, match="pooled with"):
        recommender.recommend_vector(first.query_vector, 4, pooling="no-such-rule")


def test_recommend_vector_leaves_the_excluded_groups_out(recommender: Recommender) -> None:
    """An autoplay client's played videos, excluded from a cached query's answer."""
    first = recommender.recommend(file_clip(3), k=4)
    played = {first.items[0].group, first.items[2].group}
    again = recommender.recommend_vector(
        first.query_vector, 4, pooling=recommender.index.pooling, exclude_groups=played
    )
    groups = [item.group for item in again.items]
    assert len(groups) == 4 and not played & set(groups)
    assert groups[:2] == [first.items[1].group, first.items[3].group]


def test_query_tags_come_from_the_embedder(video_index_dir: Path) -> None:
    with CatalogIndex.load(video_index_dir) as index:
        result = Recommender(index, BandEnergyEmbedder(tags=True)).recommend(file_clip(3))
    assert result.query_tags[0].name == "band05"
    probabilities = [tag.probability for tag in result.query_tags]
    assert probabilities == sorted(probabilities, reverse=True)
    assert result.to_json()["query_tags"][0]["name"] == "band05"


def test_to_json_shape(recommender: Recommender) -> None:
    document = recommender.recommend(file_clip(2), k=2).to_json()
    assert document["query"]["ref"] == "query2.wav"
    first = document["items"][0]
    assert set(first) == {
        "rank", "group", "title", "channel", "thumbnail", "start", "end", "score",
        "identified", "window_cosine", "labels", "url", "source", "item_id",
    }  # fmt: skip
    assert first["group"] == video_id(2) and first["url"].startswith("https://www.youtube.com/")


def test_an_index_for_another_embedder_version_is_refused(video_index_dir: Path) -> None:
    with (
        CatalogIndex.load(video_index_dir) as index,
        pytest.raises(IndexMismatchError, match="bands 1"),
    ):
        Recommender(index, BandEnergyEmbedder(version="2"))


def test_swap_to_a_mismatched_index_is_refused_and_keeps_the_old(
    recommender: Recommender, tmp_path: Path
) -> None:
    other = build_index(tmp_path / "other", BandEnergyEmbedder(version="2"), video_entries())
    current = recommender.index
    with CatalogIndex.load(other) as mismatched, pytest.raises(IndexMismatchError):
        recommender.swap_index(mismatched)
    assert recommender.index is current
    assert recommender.recommend(file_clip(1), k=1).items[0].group == video_id(1)


def test_swap_index_while_queries_run(video_index_dir: Path, tmp_path: Path) -> None:
    """Threads query non-stop while the index is swapped back and forth (old ones closed).

    Index A holds groups "video…", index B the same sounds as groups "other…". Every
    answer must come wholly from one index (a query never mixes the two) and no query may
    fail, although each swap closes the index it replaces.
    """
    b_dir = build_index(tmp_path / "b", BandEnergyEmbedder(), video_entries(prefix="other"))
    recommender = Recommender(CatalogIndex.load(video_index_dir), BandEnergyEmbedder())
    errors: list[BaseException] = []
    answered = {"video": 0, "other": 0}
    progress = threading.Condition()
    stop = threading.Event()

    def query_forever(number: int) -> None:
        clip = file_clip(number)
        while not stop.is_set():
            try:
                result = recommender.recommend(clip, k=3)
                prefixes = {item.group[:5] for item in result.items}
                assert len(prefixes) == 1, prefixes
                assert result.items[0].group.endswith(f"{number:06d}")
            except BaseException as error:
                errors.append(error)
                return
            with progress:
                answered[prefixes.pop()] += 1
                progress.notify_all()

    threads = [threading.Thread(target=query_forever, args=(n,)) for n in (1, 6, 10)]
    for thread in threads:
        thread.start()
    try:
        for swap in range(8):
            directory, prefix = (b_dir, "other") if swap % 2 == 0 else (video_index_dir, "video")
            with progress:
                before = answered[prefix]
            old = recommender.swap_index(CatalogIndex.load(directory), close_old=True)
            with pytest.raises(CatalogError, match="closed"):
                old.search(np.ones(old.dim, dtype=np.float32), 1)
            with progress:  # let queries run on the new index before the next swap
                progress.wait_for(lambda p=prefix, b=before: answered[p] > b or errors, 60)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        recommender.index.close()
    assert not errors, errors[0]
    assert answered["video"] > 0 and answered["other"] > 0


def test_results_carry_the_fingerprint_of_the_index_they_came_from(
    video_index_dir: Path, tmp_path: Path
) -> None:
    other_dir = build_index(tmp_path / "other", BandEnergyEmbedder(), video_entries("other"))
    with CatalogIndex.load(video_index_dir) as first:
        recommender = Recommender(first, BandEnergyEmbedder())
        before = recommender.recommend(file_clip(1), k=2)
        from_item = recommender.recommend_from_item(0, k=2)
        assert before.catalog == from_item.catalog == first.fingerprint
        new_index = recommender.reload(other_dir)
        try:
            after = recommender.recommend(file_clip(1), k=2)
            assert after.catalog == new_index.fingerprint != before.catalog
            assert before.catalog == first.fingerprint  # a result keeps its own catalog
        finally:
            new_index.close()


def test_reload_swaps_the_new_index_in_and_closes_the_old(
    video_index_dir: Path, tmp_path: Path
) -> None:
    other_dir = build_index(tmp_path / "other", BandEnergyEmbedder(), video_entries("other"))
    old = CatalogIndex.load(video_index_dir)
    recommender = Recommender(old, BandEnergyEmbedder())
    with recommender.reload(other_dir) as new_index:
        assert recommender.index is new_index
        assert recommender.recommend(file_clip(1), k=1).items[0].group.startswith("other")
        with pytest.raises(CatalogError, match="closed"):
            old.search(np.ones(old.dim, np.float32), 1)


def test_reload_of_a_mismatched_index_keeps_the_old_one_serving(
    recommender: Recommender, tmp_path: Path
) -> None:
    other = build_index(tmp_path / "other", BandEnergyEmbedder(version="2"), video_entries())
    current = recommender.index
    with pytest.raises(IndexMismatchError, match="bands 2"):
        recommender.reload(other)
    assert recommender.index is current
    assert recommender.recommend(file_clip(1), k=1).items[0].group == video_id(1)


def test_open_refuses_an_index_of_an_embedder_it_cannot_build(video_index_dir: Path) -> None:
    with pytest.raises(IndexMismatchError, match="built with embedder 'bands'.*cannot load"):
        Recommender.open(video_index_dir)


# Reloads that must not reach a query, and swaps that must not wait forever ---------------


def copy_version(index_dir: Path, target: Path) -> Path:
    """Copy the index folder ``index_dir`` to ``target``; returns the copy's version folder."""
    shutil.copytree(index_dir, target)
    with CatalogIndex.load(target) as index:
        return index.directory


def test_reload_refuses_a_same_size_corrupt_index_and_the_old_one_answers(
    recommender: Recommender, video_index_dir: Path, tmp_path: Path
) -> None:
    corrupt = tmp_path / "corrupt"
    flip_middle_bytes(copy_version(video_index_dir, corrupt) / VECTORS_FILE)
    current = recommender.index
    with pytest.raises(IndexCorruptError, match="vectors.ann .*sha256"):
        recommender.reload(corrupt)
    assert recommender.index is current
    assert recommender.recommend(file_clip(1), k=1).items[0].group == video_id(1)


def test_reload_refuses_an_index_whose_probe_query_fails(
    recommender: Recommender, video_index_dir: Path, tmp_path: Path
) -> None:
    """Bit rot before the build wrote its checksums: the files match the manifest, yet the
    middle item's stored vector is garbage."""
    damaged = tmp_path / "damaged"
    version = copy_version(video_index_dir, damaged)
    middle = N_VIDEOS * SEGMENTS_PER_VIDEO // 2
    rewrite_stored_vector(version, middle, np.full(recommender.index.dim, np.nan))
    current = recommender.index
    with pytest.raises(IndexCorruptError, match=f"Item {middle} .*damaged vector"):
        recommender.reload(damaged)
    assert recommender.index is current
    assert recommender.recommend(file_clip(2), k=1).items[0].group == video_id(2)


def test_a_server_refuses_a_bare_version_folder(video_index_dir: Path, tmp_path: Path) -> None:
    with CatalogIndex.load(video_index_dir) as index:
        version = index.directory
    with pytest.raises(IndexNotFoundError, match="single index version.*index folder"):
        Recommender.open(version, serving=True)
    with pytest.raises(IndexMismatchError, match="cannot load"):  # one-off use gets further
        Recommender.open(version)
    with CatalogIndex.load(video_index_dir) as index:
        recommender = Recommender(index, BandEnergyEmbedder())
        with pytest.raises(IndexNotFoundError, match="single index version"):
            recommender.reload(version)
        assert recommender.index is index


def test_an_installed_index_stays_open_when_closing_the_old_one_fails(
    video_index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other_dir = build_index(tmp_path / "other", BandEnergyEmbedder(), video_entries("other"))
    old = CatalogIndex.load(video_index_dir)

    def failing_close() -> None:
        raise OSError("the disk went away")

    monkeypatch.setattr(old, "close", failing_close)
    recommender = Recommender(old, BandEnergyEmbedder())
    with recommender.reload(other_dir) as new_index:
        assert recommender.index is new_index
        assert recommender.recommend(file_clip(1), k=1).items[0].group == "other000001"
    CatalogIndex.close(old)


def query_in_background(recommender: Recommender) -> tuple[threading.Thread, list[object]]:
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(recommender.recommend(file_clip(1))))
    thread.start()
    return thread, results


def test_swap_waits_a_bounded_time_then_the_last_query_closes_the_old_index(
    video_index_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other_dir = build_index(tmp_path / "other", BandEnergyEmbedder(), video_entries("other"))
    embedder = HeldEmbedder()
    old = CatalogIndex.load(video_index_dir)
    recommender = Recommender(old, embedder)
    embedder.hold.set()
    thread, results = query_in_background(recommender)
    assert embedder.entered.wait(60)
    new_index = CatalogIndex.load(other_dir)
    with caplog.at_level(logging.WARNING):
        assert recommender.swap_index(new_index, close_old=True, wait_s=0.01) is old
    assert "the last of them will close it" in caplog.text
    assert old.search(np.ones(old.dim, np.float32), 1)  # still open: a query reads it
    embedder.release.set()
    thread.join(60)
    (result,) = results
    assert isinstance(result, RecommendationSet) and result.catalog == old.fingerprint
    assert result.items[0].group == video_id(1)
    with pytest.raises(CatalogError, match="closed"):
        old.search(np.ones(old.dim, np.float32), 1)
    assert recommender.recommend(file_clip(1), k=1).items[0].group == "other000001"
    new_index.close()


def test_a_held_index_stays_open_through_a_swap_until_the_block_ends(
    video_index_dir: Path, tmp_path: Path
) -> None:
    """Discovery reads the index itself: held_index keeps it open as a query would."""
    other_dir = build_index(tmp_path / "other", BandEnergyEmbedder(), video_entries("other"))
    old = CatalogIndex.load(video_index_dir)
    recommender = Recommender(old, BandEnergyEmbedder())
    new_index = CatalogIndex.load(other_dir)
    with recommender.held_index() as held:
        assert held is old
        recommender.swap_index(new_index, close_old=True, wait_s=0.01)
        assert recommender.index is new_index
        assert held.search(np.ones(held.dim, np.float32), 1)  # still open while held
    with pytest.raises(CatalogError, match="closed"):
        old.search(np.ones(old.dim, np.float32), 1)
    new_index.close()


def test_an_index_installed_again_while_retiring_is_not_closed(
    video_index_dir: Path, tmp_path: Path
) -> None:
    other_dir = build_index(tmp_path / "other", BandEnergyEmbedder(), video_entries("other"))
    embedder = HeldEmbedder()
    old = CatalogIndex.load(video_index_dir)
    recommender = Recommender(old, embedder)
    embedder.hold.set()
    thread, _ = query_in_background(recommender)
    assert embedder.entered.wait(60)
    with CatalogIndex.load(other_dir) as other:
        recommender.swap_index(other, close_old=True, wait_s=0.01)
        recommender.swap_index(old)  # back before the held query ends
    embedder.release.set()
    thread.join(60)
    embedder.hold.clear()
    assert recommender.recommend(file_clip(1), k=1).items[0].group == video_id(1)
    old.close()
