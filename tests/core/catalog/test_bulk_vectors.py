"""Stored vectors read in bulk (:meth:`CatalogIndex.vectors`, what exact steering ranks) are
the ones the backend gives one by one, in the order asked, on either backend; an Annoy file
laid out otherwise than expected falls back to asking item by item."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicrec_core.catalog.index import CatalogIndex, annoy_vectors
from musicrec_core.embedders.base import EmbedderId
from tests.helpers.small_index import build_vectors_index, random_vectors

EMBEDDER = EmbedderId(name="vggish", version="test-1", dim=16)
ITEMS = 9


@pytest.mark.parametrize(
    ("backend", "laid_out"),
    [("annoy", True), ("annoy", False), ("usearch", True)],
    ids=["annoy mapped", "annoy one by one", "usearch"],
)
def test_bulk_vectors_are_the_stored_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str, laid_out: bool
) -> None:
    if not laid_out:  # as if another Annoy version put 8 bytes before each vector
        header = np.dtype([("descendants", "<i4", (2,))])
        monkeypatch.setattr(annoy_vectors, "_NODE_HEADER", header)
    rows = random_vectors(ITEMS, EMBEDDER.dim, 7)
    built = build_vectors_index(tmp_path / "index", rows, EMBEDDER, backend=backend)
    with CatalogIndex.load(built) as index:
        ids = np.array([8, 0, 3, 3])
        expected = np.stack([index.vector(int(i)) for i in ids])
        assert np.array_equal(index.vectors(ids), expected)
        if backend == "annoy":
            assert (index._vectors._items_view is not None) == laid_out
        assert index.vectors(np.array([], dtype=np.int64)).shape == (0, rows.shape[1])
        with pytest.raises(IndexError):
            index.vectors(np.array([ITEMS]))


def test_bulk_vectors_outlive_their_version_folder(tmp_path: Path) -> None:
    """A reload may remove an old version folder while its index still serves from the
    mapping: bulk reads must not open the file by its path again."""
    rows = random_vectors(ITEMS, EMBEDDER.dim, 7)
    with CatalogIndex.load(build_vectors_index(tmp_path / "index", rows, EMBEDDER)) as index:
        expected = np.stack([index.vector(i) for i in range(ITEMS)])
        for path in index.directory.iterdir():
            path.unlink()
        assert np.array_equal(index.vectors(np.arange(ITEMS)), expected)
