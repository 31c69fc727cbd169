"""The label index (label -> items): built from label columns, stored with a new index
under its manifest, derived for an index published before it existed."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.catalog.index.label_items import (
    LABEL_ITEMS_FILE,
    LABEL_OFFSETS_FILE,
    LabelItems,
)
from musicrec_core.catalog.index.manifest import MANIFEST_FILE
from musicrec_core.hashing import file_sha256
from tests.helpers.steering_indexes import build_audioset_index, strip_label_index


def test_each_label_lists_its_items_ascending() -> None:
    built = LabelItems.from_label_texts(np.arange(5), ["0,2", "", "2", "1,2", "0"], 4)
    assert [built.items_with_any([label], 5).tolist() for label in range(4)] == [
        [0, 4],
        [3],
        [0, 2, 3],
        [],
    ]
    assert built.items_with_any([0, 2], 5).tolist() == [0, 2, 3, 4]
    assert built.count(2) == 3 and built.count(3) == 0 and built.count(9) == 0
    assert built.items_with_any([9], 5).tolist() == []
    assert built.mask_of([1, 3], 5).tolist() == [False, False, False, True, False]


def test_a_new_index_stores_its_label_index_under_the_manifest(tmp_path: Path) -> None:
    index_dir = build_audioset_index(tmp_path / "index")
    with CatalogIndex.load(index_dir, verify_checksums=True) as index:
        files = index.manifest["files"]
        for name in (LABEL_OFFSETS_FILE, LABEL_ITEMS_FILE):
            assert files[name]["sha256"] == file_sha256(index.directory / name)
        stored = index.label_items()
        assert isinstance(stored.items, np.memmap)
        music = index.label_names.index("Music")
        assert stored.items_with_any([music], 3).tolist() == [0, 1]
        assert stored.items_with_any([index.label_names.index("Speech")], 3).tolist() == [2]


def test_an_index_published_before_derives_it_without_writing(tmp_path: Path) -> None:
    index_dir = build_audioset_index(tmp_path / "index")
    with CatalogIndex.load(index_dir) as index:
        stored = index.label_items()
        expected = (np.array(stored.offsets), np.array(stored.items))
    version = strip_label_index(index_dir)
    before = sorted(path.name for path in version.iterdir())
    manifest = (version / MANIFEST_FILE).read_bytes()
    with CatalogIndex.load(index_dir, verify_checksums=True) as index:
        derived = index.label_items()
        assert derived is index.label_items()  # derived once, kept in memory
        assert not isinstance(derived.items, np.memmap)
        assert derived.offsets.tolist() == expected[0].tolist()
        assert derived.items.tolist() == expected[1].tolist()
    assert sorted(path.name for path in version.iterdir()) == before
    assert (version / MANIFEST_FILE).read_bytes() == manifest
    assert LABEL_ITEMS_FILE not in json.loads(manifest)["files"]


def test_deriving_the_label_index_leaves_the_metadata_connection_free(tmp_path: Path) -> None:
    """On the default catalog the derivation takes seconds: queries reading metadata meanwhile
    must not wait for it, so it reads through a connection of its own."""
    index_dir = build_audioset_index(tmp_path / "index")
    strip_label_index(index_dir)
    with CatalogIndex.load(index_dir) as index:
        derived: list[object] = []
        with index._db_lock:  # as a query reading metadata holds it
            worker = threading.Thread(target=lambda: derived.append(index.label_items()))
            worker.start()
            worker.join(60)
            assert derived, "the derivation waited for the metadata connection"
