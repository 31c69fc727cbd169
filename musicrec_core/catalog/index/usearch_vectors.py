"""The ``usearch`` vector backend: an HNSW graph over the float32 vectors (opt-in).

The file ``vectors.usearch`` is usearch's own format: a header, then per item its
neighbour lists (``connectivity`` ids on each upper level, twice that on the base level,
4 bytes each) and its float32 vector. For 128-d items at connectivity 16 that is 661 bytes
per item, 0.39 of an Annoy forest of 100 trees (1,681). Load maps the file read-only
(``Index.view``) but, unlike Annoy, walks every node's header to find where each node
starts: measured at 1M items, 146 ms and 142 MiB of the file resident right after the load
(Annoy: 0.8 ms, 0.1 MiB); the vectors are read on first touch, as with Annoy. A build holds
the graph in memory until it is written (peak RSS 1.4 GB at 1M) and costs several times
Annoy's: on the hard 1M set at the default expansion_add of 64, 1,582 s and 953 CPU-s
against Annoy's 367 s and 153 CPU-s, same run on a busy 2-core machine (at the former 128,
2,501 s against 503 s); its threads make it non-deterministic (no seed).

The vectors stay float32: measured on the hard 200k set (expansion_add 64, one run of
benchmarks/bench_usearch_settings.py),
usearch's f16 would take 405 bytes per item (0.61x) at recall@10 0.996-1.000, and its i8
277 bytes (0.42x) but at 0.93, below the 0.95 the catalog keeps.

A search keeps the ``search_k`` best candidates found so far (HNSW's ef; at least ``n``),
and ranks by the cosine of the stored float32 vectors, as Annoy does. usearch keeps a
single search setting per index and calls it holding the GIL, so one lock serialises the
searches of one index (Annoy's run in parallel).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musicrec_core.catalog.index.vector_backend import Backend
from musicrec_core.errors import CatalogError, IndexCorruptError

if TYPE_CHECKING:
    from usearch.index import Index

VECTORS_FILE = "vectors.usearch"
USEARCH_VERSION = "2.26.6"
"""The usearch release this backend is measured and tested with (pinned in constraints)."""

DEFAULT_CONNECTIVITY = 16
"""Neighbours per item on the upper levels (twice as many on the base level)."""

DEFAULT_EXPANSION_ADD = 64
"""Candidates kept while inserting an item (build quality against build time). Measured on
the hard 200k set (300 queries, same run, threads=2 on a busy 2-core machine): 128 took
194 CPU-s and found recall@10 1.000 at ef 64; 64 took 94 CPU-s (0.48x) and still 1.000 at
ef 64 and 128; 32 took 44 CPU-s but its graph tops out at 0.954-0.956 whatever the ef. The
bytes per item do not depend on it (connectivity sets them)."""

SEARCH_EF_PER_MILLION = 128
"""Default search_k (HNSW's ef) per million items: a graph search needs a wider list to keep
its recall as the graph grows. Measured by benchmarks/bench_index_backends.py on the hard 1M
set built at expansion_add 64: recall@10 0.905 at ef 64, 0.978 at 128, 0.985 at 256 and
0.987 at 512, against Annoy's 0.961 at its default search_k of 40,000, same run (built at
the former 128: 0.976 at ef 64, 1.000 from 128 on)."""

SEARCH_EF_MIN = 64
"""Small indexes still keep this many candidates (recall 1.000 on the hard 20k set)."""

SEARCH_EF_MAX = 1024

_GRAPH_BYTES_PER_LINK = 4
_NODE_HEADER_BYTES = 20
"""Per item beyond its vector and base-level links: key, level and list counts (measured)."""


def default_search_ef(items: int) -> int:
    """search_k (ef) stored in a new usearch index's manifest unless the builder is told."""
    return int(min(SEARCH_EF_MAX, max(SEARCH_EF_MIN, round(items * SEARCH_EF_PER_MILLION / 1e6))))


def _usearch_index() -> type[Index]:
    """usearch's Index class, or a CatalogError saying how to install it."""
    try:
        from usearch.index import Index
    except ImportError as exc:
        raise CatalogError(
            f"The usearch backend needs the usearch package: pip install usearch=={USEARCH_VERSION}"
        ) from exc
    return Index


class UsearchWriter:
    """Builds the HNSW graph in memory and writes ``vectors.usearch`` at ``path``.

    Args:
        path: the file to write (in the unpublished build folder).
        dim: vector width.
        seed: ignored (usearch builds on all cores, in no fixed order).
        settings: may hold ``connectivity`` and ``expansion_add``; nothing else.
    """

    def __init__(self, path: Path, dim: int, seed: int, settings: Mapping[str, int]) -> None:
        del seed
        unknown = set(settings) - {"connectivity", "expansion_add"}
        if unknown:
            raise ValueError(f"the usearch backend has no setting {sorted(unknown)[0]!r}")
        self._settings = {
            "connectivity": settings.get("connectivity", DEFAULT_CONNECTIVITY),
            "expansion_add": settings.get("expansion_add", DEFAULT_EXPANSION_ADD),
        }
        if min(self._settings.values()) < 2:
            raise ValueError("connectivity and expansion_add must be at least 2")
        self._path = path
        self._index: Index | None = _usearch_index()(
            ndim=dim, metric="cos", dtype="f32", **self._settings
        )

    def add(self, first_id: int, vectors: np.ndarray) -> None:
        assert self._index is not None
        keys = np.arange(first_id, first_id + len(vectors), dtype=np.uint64)
        self._index.add(keys, vectors, threads=0)

    def write(self) -> dict[str, int]:
        assert self._index is not None
        self._index.save(str(self._path))
        self.discard()
        return dict(self._settings)

    def discard(self) -> None:
        if self._index is not None:
            self._index.reset()
            self._index = None


class UsearchVectors:
    """A memory-mapped ``vectors.usearch``; use :meth:`load`."""

    def __init__(self, index: Index) -> None:
        self._index = index
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path, manifest: Mapping[str, Any]) -> UsearchVectors:
        """Map the graph read-only. Raises IndexCorruptError for a file usearch refuses or
        one that disagrees with the manifest (item count, dimension, metric, scalars)."""
        index = _usearch_index()(ndim=manifest["dim"], metric="cos", dtype="f32")
        try:
            index.view(str(path))
        except (RuntimeError, ValueError) as exc:
            raise IndexCorruptError(f"usearch cannot load {path}: {exc}; rebuild it.") from exc
        found = (len(index), index.ndim, index.metric_kind.name, index.dtype.name)
        wanted = (manifest["item_count"], manifest["dim"], "Cos", "F32")
        if found != wanted:
            index.reset()
            raise IndexCorruptError(
                f"{path.name} holds {found[0]} {found[1]}-d {found[3]} vectors under metric "
                f"{found[2]}, but the manifest says {wanted[0]} {wanted[1]}-d F32 under Cos; "
                "rebuild the index."
            )
        return cls(index)

    def __len__(self) -> int:
        return len(self._index)

    def nearest(self, query: np.ndarray, n: int, effort: int) -> tuple[list[int], list[float]]:
        with self._lock:
            self._index.expansion_search = max(effort, n)
            matches = self._index.search(query, n)
        return matches.keys.tolist(), (1.0 - matches.distances.astype(np.float64)).tolist()

    def vector(self, item_id: int) -> np.ndarray:
        with self._lock:
            return np.array(self._index.get(item_id), dtype=np.float32)

    def vectors(self, item_ids: np.ndarray) -> np.ndarray:
        if len(item_ids) == 0:
            return np.empty((0, self._index.ndim), dtype=np.float32)
        with self._lock:
            return np.array(self._index.get(np.asarray(item_ids, np.int64)), dtype=np.float32)

    def close(self) -> None:
        self._index.reset()


def _bytes_per_item(dim: int, settings: Mapping[str, int]) -> float:
    """The vector, the base-level links (2 x connectivity) and a small header; upper levels
    add about 1 / connectivity of that (measured 660 bytes for 128-d, connectivity 16)."""
    links = 2 * settings.get("connectivity", DEFAULT_CONNECTIVITY) * _GRAPH_BYTES_PER_LINK
    return 4 * dim + links + _NODE_HEADER_BYTES


USEARCH = Backend(
    name="usearch",
    vectors_file=VECTORS_FILE,
    format_version=3,
    settings=("connectivity", "expansion_add"),
    writer=UsearchWriter,
    load=UsearchVectors.load,
    default_effort=default_search_ef,
    bytes_per_item=_bytes_per_item,
)
