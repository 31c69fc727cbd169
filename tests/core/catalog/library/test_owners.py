"""A library index keeps each track's album and artist tags (its owner for the session
variety rules); an index without them, or a cache entry from before they were kept, still
works."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from musicrec_core import paths
from musicrec_core.catalog.index import CatalogIndex, IndexBuilder, ItemMeta
from musicrec_core.catalog.library import EmbeddingCache, build_library, track_key
from musicrec_core.catalog.library.owners import OWNERS_FILE, TrackOwner, track_owners
from musicrec_core.errors import IndexCorruptError
from tests.core.catalog.library.folder import WINDOWS
from tests.helpers.band_embedder import BandEnergyEmbedder

TAGGED = {
    "nested/deeper/mid.mp3": TrackOwner("Night Drives", "The Tones"),
    "nested/noise.flac": TrackOwner(None, "The Tones"),
}


def expected_owners(library: Path) -> dict[str, TrackOwner]:
    return {track_key(library / name): owner for name, owner in TAGGED.items()}


def test_the_build_keeps_album_and_artist_of_tagged_tracks(library: Path, tmp_path: Path) -> None:
    build_library([str(library)], tmp_path / "index", BandEnergyEmbedder(), windows=WINDOWS)
    with CatalogIndex.load(tmp_path / "index", verify_checksums=True) as index:
        assert OWNERS_FILE in index.manifest["files"]
        # low.wav and short.ogg carry no tags: they are left out (each its own owner).
        assert dict(track_owners(index)) == expected_owners(library)


def test_cache_entries_from_before_owners_get_them_from_the_files(
    library: Path, tmp_path: Path
) -> None:
    work = tmp_path / "music"
    shutil.copytree(library, work)
    embedder = BandEnergyEmbedder()
    build_library([str(work)], tmp_path / "first", embedder, windows=WINDOWS)
    cache = EmbeddingCache(paths.cache_root() / "embeddings", embedder.id, WINDOWS)
    mid = track_key(work / "nested/deeper/mid.mp3")
    old = cache.get(mid)
    assert old is not None and old.owner == TrackOwner("Night Drives", "The Tones")
    cache.put(mid, replace(old, owner=None))  # an entry as written before owners were kept
    assert cache.get(mid).owner is None

    again = BandEnergyEmbedder()
    report = build_library([str(work)], tmp_path / "again", again, windows=WINDOWS)
    assert (report.embedded, again.clips) == (0, 0)  # nothing re-embedded
    with CatalogIndex.load(tmp_path / "again") as index:
        assert dict(track_owners(index)) == expected_owners(work)
    assert cache.get(mid).owner == TrackOwner("Night Drives", "The Tones")  # kept from now on


def plain_index(target: Path) -> Path:
    with IndexBuilder(target, embedder=BandEnergyEmbedder().id, pooling="mean") as builder:
        vectors = np.random.default_rng(0).normal(size=(3, BandEnergyEmbedder().id.dim))
        builder.add_many(
            vectors.astype(np.float32), [ItemMeta(f"t{i}", 0.0, 10.0, ()) for i in range(3)]
        )
        return builder.commit()


def test_an_index_without_owners_knows_none(tmp_path: Path) -> None:
    with CatalogIndex.load(plain_index(tmp_path / "index")) as index:
        assert dict(track_owners(index)) == {}


def test_a_damaged_owners_file_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "index"
    with IndexBuilder(target, embedder=BandEnergyEmbedder().id, pooling="mean") as builder:
        builder.add_many(
            np.ones((1, BandEnergyEmbedder().id.dim), np.float32), [ItemMeta("t0", 0.0, 10.0, ())]
        )
        builder.extra_file(OWNERS_FILE).write_text(json.dumps({"format": 1, "tracks": 5}))
        builder.commit()
    with CatalogIndex.load(target) as index, pytest.raises(IndexCorruptError, match="rebuild"):
        track_owners(index)
