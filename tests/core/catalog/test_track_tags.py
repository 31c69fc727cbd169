"""Every music tag of a library track is kept with its score; older indexes still load."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.catalog.index import CatalogIndex, IndexBuilder, ItemMeta, loaded
from musicrec_core.catalog.index.manifest import TrackTag
from musicrec_core.embedders.base import Tag
from musicrec_core.errors import CatalogError, IndexCorruptError
from tests.helpers.index_damage import make_format_1
from tests.helpers.small_index import MUSICNN_MTT
from tests.helpers.steering_indexes import TRACK_TAGS, build_tagged_library


def _version(index_dir: Path) -> Path:
    return index_dir / (index_dir / "CURRENT").read_text().strip()


def test_every_tag_reads_back_with_its_score_best_first(tmp_path: Path) -> None:
    with CatalogIndex.load(build_tagged_library(tmp_path / "index")) as index:
        assert index.manifest["format_version"] == 2  # tag scores came with format 2
        found = index.track_tags(["track-b", "track-a", "nowhere"])
    assert found == {
        group: tuple(TrackTag(tag.name, tag.probability) for tag in tags)
        for group, tags in TRACK_TAGS.items()
    }


def test_an_index_built_before_tag_scores_reads_its_labels_as_tags(tmp_path: Path) -> None:
    index_dir = build_tagged_library(tmp_path / "index")
    make_format_1(_version(index_dir))
    with CatalogIndex.load(index_dir, verify_checksums=True) as index:
        assert index.track_tags(["track-a"]) == {"track-a": (TrackTag("piano", None),)}


def test_format_2_without_the_table_is_corrupt(tmp_path: Path) -> None:
    index_dir = build_tagged_library(tmp_path / "index")
    version = _version(index_dir)
    make_format_1(version)
    manifest = version / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"format_version": 1', '"format_version": 2'))
    with pytest.raises(IndexCorruptError, match="track_tags"):
        CatalogIndex.load(index_dir)


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ((Tag("piano", 1.5),), "between 0 and 1"),
        ((Tag("piano", float("nan")),), "between 0 and 1"),
        ((Tag("piano", 0.5), Tag("piano", 0.25)), "twice"),
        ((Tag("", 0.5),), "name"),
        ((Tag("piano", 0.25), Tag("drums", 0.5)), "best first"),
    ],
)
def test_bad_track_tags_are_refused(tmp_path: Path, tags: tuple, message: str) -> None:
    with IndexBuilder(tmp_path / "index", embedder=MUSICNN_MTT, pooling="mean") as builder:
        with pytest.raises(ValueError, match=message):
            builder.set_track_tags("track", tags)
        builder.abort()


def test_a_tracks_tags_are_set_once(tmp_path: Path) -> None:
    with IndexBuilder(tmp_path / "index", embedder=MUSICNN_MTT, pooling="mean") as builder:
        builder.set_track_tags("track", (Tag("piano", 0.5),))
        with pytest.raises(ValueError, match="already"):
            builder.set_track_tags("track", (Tag("drums", 0.5),))
        builder.abort()


def test_an_index_without_tags_answers_empty(tmp_path: Path) -> None:
    with IndexBuilder(tmp_path / "index", embedder=MUSICNN_MTT, pooling="mean") as builder:
        builder.add(np.ones(MUSICNN_MTT.dim, np.float32), ItemMeta("g", 0.0, 10.0, ()))
        builder.commit()
    with CatalogIndex.load(tmp_path / "index") as index:
        assert index.track_tags(["g"]) == {}
        index.close()
        with pytest.raises(CatalogError, match="closed"):
            index.track_tags(["g"])


def test_long_lists_of_items_and_tracks_are_read_in_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A discover over a whole library asks for every item and track at once: more ``?``
    than SQLite binds in one statement (32,766 by default) must still be read. Here SQLite
    takes one variable a statement, and the index reads one id at a time."""
    monkeypatch.setattr(loaded, "_SQL_VARIABLES", 1)
    with CatalogIndex.load(build_tagged_library(tmp_path / "index")) as index:
        index._db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 1)
        metas = index.metas([3, 0, 2, 1])
        found = index.track_tags(["track-b", "track-a"])
    assert [meta.group for meta in metas] == ["track-b", "track-a", "track-b", "track-a"]
    assert found == {
        group: tuple(TrackTag(tag.name, tag.probability) for tag in tags)
        for group, tags in TRACK_TAGS.items()
    }
