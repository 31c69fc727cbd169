"""Stored vectors read in bulk from the mapped Annoy file are the ones Annoy gives one by
one, in the order asked; a file laid out otherwise falls back to asking one by one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.catalog.index import stored_vectors as module
from musicrec_core.catalog.index.stored_vectors import stored_vectors
from musicrec_core.embedders.base import EmbedderId
from tests.helpers.small_index import build_small_index

EMBEDDER = EmbedderId("vggish", "test", 128)


@pytest.mark.parametrize("laid_out", [True, False], ids=["mapped", "one by one"])
def test_bulk_vectors_are_annoys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, laid_out: bool
) -> None:
    if not laid_out:  # as if another Annoy version put 8 bytes before each vector
        monkeypatch.setattr(module, "_NODE_HEADER", np.dtype([("descendants", "<i4", (2,))]))
    with CatalogIndex.load(build_small_index(tmp_path / "index", EMBEDDER, items=9)) as index:
        ids = np.array([8, 0, 3, 3])
        expected = np.stack([index.vector(int(i)) for i in ids])
        assert np.array_equal(stored_vectors(index, ids), expected)
        assert (module._view_of(index) is not None) == laid_out
        assert stored_vectors(index, np.array([], dtype=np.int64)).shape == (0, 128)
        with pytest.raises(IndexError):
            stored_vectors(index, np.array([9]))
