"""musicnn end to end through the library: build an index of generated music, then query it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from musicrec_core.audio import load_clip
from musicrec_core.catalog.index import CURRENT_FILE, MANIFEST_FILE, CatalogIndex
from musicrec_core.catalog.library import TRACK_TAG_LABELS, build_library, track_key
from musicrec_core.embedders.musicnn import MusicnnEmbedder
from musicrec_core.embedders.musicnn.tags import MTT_TAGS, get_variant
from musicrec_core.errors import IndexMismatchError
from musicrec_core.recommender import Recommender
from tests.helpers.music import generate_music
from tests.helpers.musicnn import install_weights, weights_cache

SONGS = {
    "pad.wav": {"notes_hz": (220.0, 277.2, 329.6)},
    "groove.flac": {"notes_hz": (110.0, 164.8), "pulse_hz": 4.0},
    "hiss.mp3": {"notes_hz": (3520.0,), "noise": 0.4},
    "bells.ogg": {"notes_hz": (880.0, 1318.5, 1760.0), "pulse_hz": 1.0, "noise": 0.05},
}


@pytest.fixture(scope="module")
def musicnn_library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, MusicnnEmbedder]:
    """(music folder, index folder, MTT embedder): four 24-s tracks, two windows each."""
    work = tmp_path_factory.mktemp("musicnn-library")
    music = work / "music"
    music.mkdir()
    for name, recipe in SONGS.items():
        generate_music(music / name, seconds=24, **recipe)
    with weights_cache(work / "cache"):
        embedder = MusicnnEmbedder.load("mtt")
    report = build_library(
        [str(music)], work / "index", embedder, windows=2, cache_root=work / "embeddings"
    )
    assert (report.tracks, report.windows, report.items) == (4, 8, 16)
    return music, work / "index", embedder


def test_each_track_is_found_from_another_part_of_it(
    musicnn_library: tuple[Path, Path, MusicnnEmbedder],
) -> None:
    music, index_dir, embedder = musicnn_library
    with CatalogIndex.load(index_dir, expect_embedder=embedder.id) as index:
        assert index.embedder.version == "musicnn-mtt-0.1.0" and index.dim == 200
        recommender = Recommender(index, embedder)
        names = sorted(SONGS)
        # Windows sit at about 1-11 s and 13-23 s; query 6-16 s, across both.
        clips = [load_clip(music / name, start_s=6.0) for name in names]
        results = recommender.recommend_many(clips, k=len(SONGS))
        for name, result in zip(names, results, strict=True):
            assert result.items[0].group == track_key(music / name), name
            assert {tag.name for tag in result.query_tags} == set(MTT_TAGS)
            for item in result.items:
                assert len(item.labels) == TRACK_TAG_LABELS
                assert set(item.labels) <= set(MTT_TAGS)


def test_an_index_built_with_mtt_refuses_the_msd_embedder(
    musicnn_library: tuple[Path, Path, MusicnnEmbedder],
) -> None:
    _, index_dir, _ = musicnn_library
    install_weights()
    msd = MusicnnEmbedder.load("msd")
    with pytest.raises(IndexMismatchError):
        CatalogIndex.load(index_dir, expect_embedder=msd.id)
    with CatalogIndex.load(index_dir) as index, pytest.raises(IndexMismatchError):
        index.check_embedder(msd.id)


@pytest.mark.parametrize("variant", ["msd", "mtt"])
@pytest.mark.parametrize("legacy_manifest", [False, True])
def test_open_embeds_with_the_variant_the_manifest_names(
    musicnn_library: tuple[Path, Path, MusicnnEmbedder],
    tmp_path: Path,
    variant: str,
    legacy_manifest: bool,
) -> None:
    """Recommender.open takes musicnn's variant from the index, with no setting to match;
    a manifest written before the variant was recorded names it by its version."""
    music, _, _ = musicnn_library
    install_weights()
    built_with = MusicnnEmbedder.load(variant)
    index_dir = tmp_path / "index"
    build_library([str(music / "pad.wav")], index_dir, built_with, windows=1, cache_root=tmp_path)
    manifest_path = index_dir / (index_dir / CURRENT_FILE).read_text().strip() / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    assert manifest["embedder"]["model"] == variant
    if legacy_manifest:
        del manifest["embedder"]["model"]
        manifest_path.write_text(json.dumps(manifest))
    with Recommender.open(index_dir) as recommender:
        assert recommender.embedder.id == built_with.id == recommender.index.embedder
        assert recommender.embedder.version == f"musicnn-{variant}-0.1.0"
        result = recommender.recommend(load_clip(music / "pad.wav", start_s=1.0), k=1)
        assert {tag.name for tag in result.query_tags} == set(get_variant(variant).tags)
        assert result.items[0].group == track_key(music / "pad.wav")
