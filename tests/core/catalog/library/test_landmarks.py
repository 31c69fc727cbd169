"""The library build stores its windows' landmarks beside the index: listed in the
manifest (so the serving load's sha256 proof covers them), cached by track key, optional;
an index built without them loads as before."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from musicrec_core import paths
from musicrec_core.catalog.index import CURRENT_FILE, MANIFEST_FILE, CatalogIndex
from musicrec_core.catalog.library import build_library, track_key
from musicrec_core.catalog.library.landmarks import LandmarkCache
from musicrec_core.errors import IndexCorruptError
from musicrec_core.fingerprint.store import HASHES_FILE, STORE_FILES
from tests.helpers.band_embedder import BandEnergyEmbedder
from tests.helpers.index_damage import flip_middle_bytes
from tests.helpers.melody import melody, write_audio

WINDOWS = 3


@pytest.fixture(scope="module")
def tunes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three 30-s melodies (one MP3, two FLAC)."""
    folder = tmp_path_factory.mktemp("tunes")
    for seed, name in ((30, "a.mp3"), (31, "b.flac"), (32, "c.flac")):
        write_audio(folder / name, melody(seed, 30.0))
    return folder


def _version_dir(index_dir: Path) -> Path:
    return index_dir / (index_dir / CURRENT_FILE).read_text().strip()


def test_the_build_writes_the_store_and_the_manifest_lists_it(tunes: Path, tmp_path: Path) -> None:
    build_library([str(tunes)], tmp_path / "index", BandEnergyEmbedder(), windows=WINDOWS)
    manifest = json.loads((_version_dir(tmp_path / "index") / MANIFEST_FILE).read_text())
    for name in STORE_FILES:
        assert manifest["files"][name]["size"] > 0 and len(manifest["files"][name]["sha256"]) == 64
    summary = manifest["extra"]["library"]["landmarks"]
    assert summary["tracks"] == 3 and summary["postings"] > 1000
    with CatalogIndex.load_for_serving(tmp_path / "index") as index:
        store = index.landmarks
        assert store is not None and len(store) == summary["postings"]
        groups = {track.group for track in store.tracks}
        assert groups == {track_key(path) for path in tunes.iterdir()}
        for track in store.tracks:  # each owns its windows and their phone views
            metas = index.metas(range(track.first_item, track.first_item + track.items))
            assert {meta.group for meta in metas} == {track.group} and track.items == 6


def test_a_rebuild_takes_the_landmarks_from_the_cache(tunes: Path, tmp_path: Path) -> None:
    embedder = BandEnergyEmbedder()
    build_library([str(tunes)], tmp_path / "one", embedder, windows=WINDOWS)
    cache = LandmarkCache(paths.cache_root() / "embeddings", WINDOWS)
    assert sorted(p.name for p in cache.directory.iterdir()) == sorted(
        f"{track_key(path)}.landmarks.npz" for path in tunes.iterdir()
    )
    report = build_library([str(tunes)], tmp_path / "two", embedder, windows=WINDOWS)
    assert report.reused == 3 and embedder.calls == 1
    first = np.load(_version_dir(tmp_path / "one") / HASHES_FILE)
    np.testing.assert_array_equal(np.load(_version_dir(tmp_path / "two") / HASHES_FILE), first)


def test_landmarks_are_added_to_tracks_embedded_before(tunes: Path, tmp_path: Path) -> None:
    """An index built without landmarks, then rebuilt: the embeddings come from the cache,
    the windows are decoded once more for their landmarks."""
    embedder = BandEnergyEmbedder()
    build_library([str(tunes)], tmp_path / "plain", embedder, windows=WINDOWS, landmarks=False)
    with CatalogIndex.load_for_serving(tmp_path / "plain") as index:
        assert index.landmarks is None and HASHES_FILE not in index.manifest["files"]
    report = build_library([str(tunes)], tmp_path / "with", embedder, windows=WINDOWS)
    assert (report.reused, embedder.calls) == (3, 1)
    with CatalogIndex.load(tmp_path / "with") as index:
        assert index.landmarks is not None and len(index.landmarks.tracks) == 3


def test_a_damaged_store_fails_the_serving_proof(tunes: Path, tmp_path: Path) -> None:
    build_library([str(tunes)], tmp_path / "index", BandEnergyEmbedder(), windows=WINDOWS)
    flip_middle_bytes(_version_dir(tmp_path / "index") / "landmark-posts.npy")
    with pytest.raises(IndexCorruptError, match="landmark-posts.npy.*sha256"):
        CatalogIndex.load_for_serving(tmp_path / "index")
