"""The vector-search seam of an index version: which library holds its vectors.

Mental model: an index version keeps its pooled vectors in one file that a *backend* writes
at build time and memory-maps at load time; everything else (metadata, label index,
manifest, sha256 checks, atomic publish, reload) does not depend on which backend that is.
The manifest's ``"backend"`` entry names it (absent: Annoy, as every version built before
backends existed). Two implement the seam:

- ``annoy`` (:mod:`.annoy_vectors`, the default): a forest of random-projection trees.
- ``usearch`` (:mod:`.usearch_vectors`): an HNSW graph over the same float32 vectors, in
  0.39 of Annoy's bytes at the default settings, with higher recall and a fraction of the
  latency on the hard 1M set, but a build about four times as long (six times the CPU)
  (``benchmarks/bench_index_backends.py``).

Both answer with exact float32 cosines of the stored vectors and return the stored vectors
unchanged, so ranking (:mod:`musicrec_core.catalog.ranking`) reads the same numbers from
either; they differ in which neighbours they find, how fast, and in how many bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np


class VectorSearch(Protocol):
    """A loaded (memory-mapped) vector file of ``len()`` items with ids 0..len-1."""

    def __len__(self) -> int: ...

    def nearest(self, query: np.ndarray, n: int, effort: int) -> tuple[list[int], list[float]]:
        """Ids and cosine similarities of (about) the ``n`` items nearest the float32 [dim]
        ``query``, best first; ``effort`` is the manifest's search_k (its meaning is the
        backend's). Safe to call from many threads at once."""
        ...

    def vector(self, item_id: int) -> np.ndarray:
        """The stored float32 [dim] vector of one item (0 <= item_id < len)."""
        ...

    def vectors(self, item_ids: np.ndarray) -> np.ndarray:
        """The stored float32 [n, dim] vectors of ``item_ids`` (int [n], each in [0, len)),
        in that order, read in bulk (ranking every item of a label exactly needs thousands)."""
        ...

    def close(self) -> None:
        """Unmap the file; the caller guarantees no call is in flight or follows."""
        ...


class VectorWriter(Protocol):
    """Collects one build's vectors and writes its backend's file."""

    def add(self, first_id: int, vectors: np.ndarray) -> None:
        """Add float32 [n, dim] finite vectors as items first_id..first_id+n-1."""
        ...

    def write(self) -> dict[str, int]:
        """Build and write the file; returns the backend's settings for the manifest."""
        ...

    def discard(self) -> None:
        """Release what the build holds (the caller deletes the build folder)."""
        ...


@dataclass(frozen=True)
class Backend:
    """One way of storing and searching an index version's vectors.

    Attributes:
        name: the manifest's ``"backend"`` entry and the ``--backend`` choice.
        vectors_file: the file name it keeps in a version folder.
        format_version: the lowest manifest format that can describe a version built with
            it (Annoy: the format before backends existed, so older musicrec reads it).
        settings: the integer manifest entries it records, each required on load.
        writer: (file path, dim, seed, settings given) -> a writer; settings left out take
            their defaults, unknown ones raise ValueError.
        load: (file path, manifest) -> the loaded file; raises IndexCorruptError when it is
            unreadable or disagrees with the manifest (item count, dimension).
        default_effort: item count -> the manifest's default search_k.
        bytes_per_item: (dim, settings) -> size of its file per item, in bytes.
    """

    name: str
    vectors_file: str
    format_version: int
    settings: tuple[str, ...]
    writer: Callable[[Path, int, int, Mapping[str, int]], VectorWriter]
    load: Callable[[Path, Mapping[str, Any]], VectorSearch]
    default_effort: Callable[[int], int]
    bytes_per_item: Callable[[int, Mapping[str, int]], float]
