"""The items a session step chooses among: the index's own nearest items to one or more
points, steered when asked, with exact cosines from the stored vectors.

A step asks for :data:`CANDIDATE_WIDTH` items per point and, when none of them may be
played (all used, or ruled out by the variety rules or the steering), asks again four
times wider, up to the whole index (:func:`widening`).

Speed (a 50-track mix makes 100 searches, a path up to four per step): each search asks
the index for at most :data:`EFFORT_PER_CANDIDATE` units of effort per item wanted (never
more than its default), and a session asks about the same point (a mix's seeds) once per
width, keeping the answer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from musicrec_core.catalog.index import CatalogIndex, ItemMeta
from musicrec_core.catalog.ranking import OVERFETCH_FACTOR, Found, unit_rows
from musicrec_core.errors import IndexMismatchError, SessionError
from musicrec_core.steering.filter import Steering

CANDIDATE_WIDTH = 64
"""Items asked of the index per point at a step's first try (a 50-track mix uses fewer than
50 groups, so 64 leaves enough unused ones in all but crowded corners)."""


EFFORT_PER_CANDIDATE = 100
"""Search effort per item asked (Annoy: nodes inspected; Annoy's own default is the number
of trees, 100 in a shipped index, per item): a step needs good candidates, whose cosines
are then exact, not the exact nearest ones; the index's default effort (40,000 nodes at
1M items) made a 50-track mix cost seconds there."""


@dataclass(frozen=True)
class Candidates:
    """Distinct items near the points asked about.

    Attributes:
        ids: item ids, int64 [m].
        metas: their metadata, in the same order.
        unit: their stored vectors scaled to unit length, float32 [m, dim].
        reach: float32 [points]: for each point, the lowest cosine to it among the items
            its search returned (ruled-out ones included), -1 when it returned the whole
            index: any item not returned is no nearer that point (as far as the index's
            search is exact).
    """

    ids: np.ndarray
    metas: list[ItemMeta]
    unit: np.ndarray
    reach: np.ndarray


def unit(vector: np.ndarray) -> np.ndarray:
    """``vector`` (float [dim]) scaled to unit length, float32. Raises ValueError for a
    zero vector (it has no direction to compare)."""
    vector = np.asarray(vector, dtype=np.float32)
    length = float(np.linalg.norm(vector))
    if length < 1e-12:
        raise ValueError("a zero vector has no direction")
    return vector / length


def unit_end(vector: np.ndarray, dim: int, name: str) -> np.ndarray:
    """A session's given vector (a seed, A or B: float [dim]) as a unit float32 [dim];
    ``name`` says which in the errors.

    Raises:
        IndexMismatchError: it does not have the index's width ``dim``.
        SessionError: it is all zeros.
    """
    vector = np.asarray(vector, dtype=np.float32)
    if vector.shape != (dim,):
        raise IndexMismatchError(
            f"{name}'s vector has shape {vector.shape} but the index holds {dim}-d vectors."
        )
    try:
        return unit(vector)
    except ValueError as exc:
        raise SessionError(f"{name}'s vector is all zeros: it sounds like nothing.") from exc


class CandidateSearch:
    """Candidates from one index, within a steering's qualifying items when it names them
    (else those it admits)."""

    def __init__(self, index: CatalogIndex, steering: Steering | None = None) -> None:
        self.index = index
        self._steering = steering
        qualifying = None if steering is None else steering.qualifying(index)
        self._allowed = None if qualifying is None else np.asarray(qualifying.items, np.int64)
        self._asked: dict[tuple[bytes, int], tuple[list[int], float]] = {}

    def near(self, points: Sequence[np.ndarray], width: int) -> Candidates:
        """The ``width`` nearest items to each of ``points`` (float32 [dim] each), each once,
        in first-found order, those the steering rules out dropped."""
        seen: dict[int, None] = {}
        reach = np.full(len(points), -1.0, np.float32)
        for number, point in enumerate(points):
            nearest, reach[number] = self._nearest(point, width)
            seen.update(dict.fromkeys(nearest))
        ids = np.fromiter(seen, dtype=np.int64, count=len(seen))
        if self._allowed is not None:
            ids = ids[np.isin(ids, self._allowed)]
        metas = self.index.metas(ids.tolist())
        if self._steering is not None and self._allowed is None and len(ids):
            found = [Found(int(i), 0.0, meta, 0.0) for i, meta in zip(ids, metas, strict=True)]
            keep = np.array(self._steering.admits(self.index, found), dtype=bool)
            ids, metas = ids[keep], [meta for meta, ok in zip(metas, keep, strict=True) if ok]
        return Candidates(ids, metas, unit_rows(self.index.vectors(ids)), reach)

    def _nearest(self, point: np.ndarray, width: int) -> tuple[list[int], float]:
        """The ids of the ``width`` nearest items to ``point`` and the reach of the search
        (see :class:`Candidates`), asked once per session."""
        key = (np.asarray(point, np.float32).tobytes(), width)
        if key not in self._asked:
            effort = min(self.index.default_search_k, width * EFFORT_PER_CANDIDATE)
            found = self.index.search(point, min(len(self.index), width), search_k=effort)
            whole = width >= len(self.index) or not found
            self._asked[key] = ([i for i, _ in found], -1.0 if whole else found[-1][1])
        return self._asked[key]

    def widening(self, limit: int | None = None) -> Iterator[int]:
        """The widths a step tries in turn: CANDIDATE_WIDTH, then OVERFETCH_FACTOR times
        wider each time, the last one the whole index (or ``limit`` items, if fewer)."""
        last = len(self.index) if limit is None else min(limit, len(self.index))
        width = CANDIDATE_WIDTH
        while width < last:
            yield width
            width *= OVERFETCH_FACTOR
        yield last
