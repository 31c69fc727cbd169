"""Opening an index for a server: bit rot and bare version folders are refused before any
query (CatalogIndex.load_for_serving: sha256 of every file, a probe query, no bare folder).

The damage is made on disk the way it happens: bytes flipped in a same-size vector file
(caught by the checksums), and damage that happened before the manifest's checksums were
written (caught by the probe query). No test here queries a damaged forest outside the
probe, whose stored vectors are damaged in ways Annoy reads safely.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.catalog.index import (
    CURRENT_FILE,
    VECTORS_FILE,
    CatalogIndex,
    manifest,
)
from musicrec_core.embedders.base import EmbedderId
from musicrec_core.errors import IndexCorruptError, IndexNotFoundError
from tests.helpers.index_damage import flip_middle_bytes, rewrite_stored_vector
from tests.helpers.small_index import build_vectors_index, current_version, random_vectors

EMBEDDER = EmbedderId(name="vggish", version="test-1", dim=16)
ITEMS = 300
MIDDLE = ITEMS // 2


def build(target: Path, vectors: np.ndarray, **options: object) -> Path:
    return build_vectors_index(target, vectors, EMBEDDER, **options)


def vectors(n: int = ITEMS) -> np.ndarray:
    return random_vectors(n, EMBEDDER.dim)


def test_a_sound_index_is_served(tmp_path: Path) -> None:
    index_dir = build(tmp_path / "index", vectors())
    with CatalogIndex.load_for_serving(index_dir, expect_embedder=EMBEDDER) as index:
        assert len(index) == ITEMS
        assert index.search(vectors()[MIDDLE], 1)[0][0] == MIDDLE


@pytest.mark.parametrize("settings", [{"n_trees": 4}, {"backend": "usearch"}])
def test_zero_vectors_and_duplicates_pass_the_probe(
    tmp_path: Path, settings: dict[str, object]
) -> None:
    """A zero vector has no direction to find; a duplicated one may find its twin first."""
    data = vectors()
    data[0] = 0.0
    data[1 : MIDDLE + 1] = data[ITEMS - 1]  # the middle and last items have 150 twins
    index_dir = build(tmp_path / "index", data, **settings)
    with CatalogIndex.load_for_serving(index_dir) as index:
        assert len(index) == ITEMS
        assert index.search(data[ITEMS - 1], 1)[0][1] == pytest.approx(1.0, abs=1e-6)


def test_same_size_flipped_bytes_in_the_vectors_are_refused(tmp_path: Path) -> None:
    index_dir = build(tmp_path / "index", vectors())
    path = current_version(index_dir) / VECTORS_FILE
    size = path.stat().st_size
    flip_middle_bytes(path)
    assert path.stat().st_size == size
    with CatalogIndex.load(index_dir) as index:  # sizes alone cannot tell (never queried)
        assert len(index) == ITEMS
    with pytest.raises(IndexCorruptError, match=f"{VECTORS_FILE} .*fails its sha256 check"):
        CatalogIndex.load_for_serving(index_dir)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda v: np.full_like(v, np.nan), f"Item {MIDDLE} .* damaged vector"),
        (lambda v: np.full_like(v, np.inf), f"Item {MIDDLE} .* damaged vector"),
        # Pointing the other way: the forest files the item where its old vector was, so a
        # search for the stored vector cannot reach it (search_k well below the item count).
        (lambda v: -v, f"probe query .item {MIDDLE} does not find itself"),
    ],
    ids=["nan", "inf", "moved"],
)
def test_damage_from_before_the_checksums_fails_the_probe(
    tmp_path: Path, damage: Callable[[np.ndarray], np.ndarray], message: str
) -> None:
    data = vectors()
    index_dir = build(tmp_path / "index", data, n_trees=4, search_k=20)
    rewrite_stored_vector(current_version(index_dir), MIDDLE, damage(data[MIDDLE]))
    with CatalogIndex.load(index_dir, verify_checksums=True) as index:  # checksums agree
        assert len(index) == ITEMS
    with pytest.raises(IndexCorruptError, match=message):
        CatalogIndex.load_for_serving(index_dir)


def test_a_bare_version_folder_is_refused_for_serving_only(tmp_path: Path) -> None:
    index_dir = build(tmp_path / "index", vectors())
    version = current_version(index_dir)
    with CatalogIndex.load(version) as index:  # one-off queries may name a version
        assert len(index) == ITEMS
    with pytest.raises(IndexNotFoundError) as refused:
        CatalogIndex.load_for_serving(version)
    text = str(refused.value)
    assert f"{version} is a single index version" in text
    assert f"holds {CURRENT_FILE}" in text and f"({index_dir} is one)" in text
    with pytest.raises(IndexNotFoundError, match="single index version"):
        CatalogIndex.load(version, bare_version_ok=False)


def test_a_file_that_vanishes_while_it_is_hashed_is_a_catalog_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A publish may delete the version being verified: a CatalogError, not a bare OSError."""
    index_dir = build(tmp_path / "index", vectors())

    def vanished(path: Path) -> str:
        raise FileNotFoundError(2, "No such file or directory", str(path))

    monkeypatch.setattr(manifest, "file_sha256", vanished)
    with pytest.raises(IndexCorruptError, match="Cannot read .* No such file or directory"):
        CatalogIndex.load_for_serving(index_dir)
