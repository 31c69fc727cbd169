"""The ``annoy`` vector backend (the default): a forest of random-projection trees.

The file ``vectors.ann`` holds one node per item (n_descendants, two children, then the
float32 vector) plus each tree's split nodes: about 2.1 % of the vectors' bytes per tree for
128-d items, so four times the bytes of the float32 vectors at the default 100 trees. It is
built on disk (``on_disk_build``), memory-mapped on load, and searched with the GIL released,
so queries on many threads run in parallel. A search inspects ``search_k`` nodes (the
manifest's default unless the caller says otherwise); distances are Annoy's angular distance
d, whose cosine is 1 - d^2 / 2.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from annoy import AnnoyIndex

from musicrec_core.catalog.index.vector_backend import Backend
from musicrec_core.errors import IndexCorruptError

VECTORS_FILE = "vectors.ann"
ANNOY_METRIC = "angular"

DEFAULT_N_TREES = 100
"""Trees per forest. Measured by benchmarks/bench_index.py --sweep on the hard 1M set:
at search_k 40,000 recall@10 is 0.922 with 50 trees and 0.960 with 100 (12.6x faster
than exact search), for 1.5x the file size; at 100k items both reach 0.998+ at 10,000."""

SEARCH_K_PER_ITEM = 0.04
"""Default search_k as a share of the items: recall at a fixed search_k falls as an index
grows, recall at a fixed share much less (hard set, 100 trees: 0.998 at 100k, 0.960 at 1M)."""

SEARCH_K_MIN = 10_000
"""Small indexes still inspect this many nodes (exact for up to about that many items)."""

SEARCH_K_MAX = 100_000
"""Large indexes inspect at most this many nodes (about 15 ms per query at 2M items)."""


def default_search_k(items: int) -> int:
    """search_k stored in a new Annoy index's manifest unless the builder is told otherwise."""
    return int(min(SEARCH_K_MAX, max(SEARCH_K_MIN, items * SEARCH_K_PER_ITEM)))


class AnnoyWriter:
    """Builds ``vectors.ann`` on disk at ``path``.

    Args:
        path: the file to write (in the unpublished build folder).
        dim: vector width.
        seed: Annoy's random seed, for reproducible builds.
        settings: may hold ``n_trees`` (default DEFAULT_N_TREES); nothing else.
    """

    def __init__(self, path: Path, dim: int, seed: int, settings: Mapping[str, int]) -> None:
        unknown = set(settings) - {"n_trees"}
        if unknown:
            raise ValueError(f"the annoy backend has no setting {sorted(unknown)[0]!r}")
        self.n_trees = settings.get("n_trees", DEFAULT_N_TREES)
        if self.n_trees < 1:
            raise ValueError("n_trees must be positive")
        self._annoy = AnnoyIndex(dim, ANNOY_METRIC)
        self._annoy.set_seed(seed)
        self._annoy.on_disk_build(str(path))

    def add(self, first_id: int, vectors: np.ndarray) -> None:
        for offset, row in enumerate(vectors):
            self._annoy.add_item(first_id + offset, row)

    def write(self) -> dict[str, int]:
        self._annoy.build(self.n_trees, n_jobs=-1)
        self._annoy.unload()
        return {"n_trees": self.n_trees}

    def discard(self) -> None:
        self._annoy.unload()


_NODE_HEADER = np.dtype([("descendants", "<i4"), ("children", "<i4", (2,))])
"""What precedes each item's vector in an angular Annoy node (12 bytes, Annoy 1.17)."""


class AnnoyVectors:
    """A memory-mapped ``vectors.ann``; use :meth:`load`.

    Many vectors at once (:meth:`vectors`) are read straight from the file: the forest
    begins with one node per item, in item order (:data:`_NODE_HEADER`, then the float32
    vector), so the items' vectors are a strided view of it, mapped when the file is loaded
    (a published version folder may be removed while its index still serves from the
    mapping) and checked against Annoy's own first and last vector; a file laid out
    otherwise (another Annoy version) is read item by item, slower (about 20 us each) but
    the same vectors.
    """

    def __init__(self, annoy: AnnoyIndex, items_view: np.ndarray | None) -> None:
        self._annoy = annoy
        self._items_view = items_view

    @classmethod
    def load(cls, path: Path, manifest: Mapping[str, Any]) -> AnnoyVectors:
        """Map the forest (pages are read on first touch). Raises IndexCorruptError."""
        annoy = AnnoyIndex(manifest["dim"], ANNOY_METRIC)
        try:
            annoy.load(str(path), prefault=False)
        except OSError as exc:
            raise IndexCorruptError(f"Annoy cannot load {path}.") from exc
        if annoy.get_n_items() != manifest["item_count"]:
            annoy.unload()
            raise IndexCorruptError(
                f"{path.name} holds {annoy.get_n_items()} items but the manifest says "
                f"{manifest['item_count']}; rebuild the index."
            )
        return cls(annoy, _items_view(annoy, path))

    def __len__(self) -> int:
        return int(self._annoy.get_n_items())

    def nearest(self, query: np.ndarray, n: int, effort: int) -> tuple[list[int], list[float]]:
        ids, distances = self._annoy.get_nns_by_vector(query, n, effort, True)
        return ids, [1.0 - d * d / 2.0 for d in distances]

    def vector(self, item_id: int) -> np.ndarray:
        return np.asarray(self._annoy.get_item_vector(item_id), dtype=np.float32)

    def vectors(self, item_ids: np.ndarray) -> np.ndarray:
        if self._items_view is not None:
            return np.ascontiguousarray(self._items_view[item_ids])
        rows = np.empty((len(item_ids), self._annoy.f), dtype=np.float32)
        for row, item_id in enumerate(item_ids):
            rows[row] = self.vector(int(item_id))
        return rows

    def close(self) -> None:
        self._annoy.unload()
        self._items_view = None


def _items_view(annoy: AnnoyIndex, path: Path) -> np.ndarray | None:
    """float32 [items, dim], a read-only view of the item nodes of the forest ``annoy`` has
    loaded from ``path``; None when the file is not laid out as :class:`AnnoyVectors` says."""
    count, dim = annoy.get_n_items(), annoy.f
    node = np.dtype(_NODE_HEADER.descr + [("vector", "<f4", (dim,))])
    if count == 0 or path.stat().st_size < count * node.itemsize:
        return None
    vectors = np.memmap(path, dtype=node, mode="r", shape=(count,))["vector"]
    for item_id in (0, count - 1):
        if not np.array_equal(vectors[item_id], annoy.get_item_vector(item_id)):
            return None
    return vectors


def _bytes_per_item(dim: int, settings: Mapping[str, int]) -> float:
    """One node of (12 + 4 * dim) bytes per item plus, per tree, about 2.75 / (dim + 2)
    nodes per item (measured: 0.021 for 128-d, i.e. 2.1 % per tree)."""
    n_trees = settings.get("n_trees", DEFAULT_N_TREES)
    return (12 + 4 * dim) * (1.0 + n_trees * 2.75 / (dim + 2))


ANNOY = Backend(
    name="annoy",
    vectors_file=VECTORS_FILE,
    format_version=2,
    settings=("n_trees",),
    writer=AnnoyWriter,
    load=AnnoyVectors.load,
    default_effort=default_search_k,
    bytes_per_item=_bytes_per_item,
)
