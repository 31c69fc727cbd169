"""How closely a candidate model's embeddings agree with float32's, and the bar they must pass.

Two figures, both computed on the same clips by the float32 reference and the candidate:

- **values within one code**: the share of postprocessed uint8 values (AudioSet's format,
  every frame of every clip, 128 values each) where the two differ by at most 1;
- **neighbour overlap**: each query clip's 10 nearest library clips (exact Euclidean search
  over clip vectors, the mean of a clip's frame vectors) found with the reference's vectors
  and with the candidate's, the share they have in common, averaged over the queries.

The bar is :data:`MIN_VALUES_WITHIN_ONE` and :data:`MIN_NEIGHBOUR_OVERLAP`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "MIN_NEIGHBOUR_OVERLAP",
    "MIN_VALUES_WITHIN_ONE",
    "NEIGHBOURS",
    "Agreement",
    "neighbour_overlap",
    "values_within_one",
]

MIN_VALUES_WITHIN_ONE = 0.995
"""Least share of uint8 values within 1 of float32's."""
MIN_NEIGHBOUR_OVERLAP = 0.95
"""Least mean share of a query's top-10 neighbours that float32 also finds."""
NEIGHBOURS = 10
"""Neighbours compared per query."""


@dataclass(frozen=True)
class Agreement:
    """The figures of one comparison.

    Attributes:
        values_within_one: share of uint8 values within 1 of the reference's, in [0, 1].
        neighbour_overlap: mean share of top-10 neighbours in common, in [0, 1].
        values: how many uint8 values were compared.
        queries: how many query clips were searched.
        library: how many clips the library held.
    """

    values_within_one: float
    neighbour_overlap: float
    values: int
    queries: int
    library: int

    @property
    def passed(self) -> bool:
        """Both figures reach the bar."""
        return (
            self.values_within_one >= MIN_VALUES_WITHIN_ONE
            and self.neighbour_overlap >= MIN_NEIGHBOUR_OVERLAP
        )

    def summary(self) -> str:
        """One sentence with both figures, their bars and what they were measured on."""
        return (
            f"{self.values_within_one:.2%} of {self.values:,} uint8 values within 1 of "
            f"float32 (at least {MIN_VALUES_WITHIN_ONE:.1%} needed); top-{NEIGHBOURS} "
            f"neighbours of {self.queries} queries in a library of {self.library} clips "
            f"overlap {self.neighbour_overlap:.1%} (at least {MIN_NEIGHBOUR_OVERLAP:.0%} needed)"
        )

    def to_json(self) -> dict[str, float | int | bool]:
        """The figures as a JSON object (and ``passed``)."""
        return {
            "values_within_one": self.values_within_one,
            "neighbour_overlap": self.neighbour_overlap,
            "values": self.values,
            "queries": self.queries,
            "library": self.library,
            "passed": self.passed,
        }


def values_within_one(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Share of uint8 codes [n, d] of ``candidate`` within 1 of ``reference``'s (same shape)."""
    if reference.shape != candidate.shape or reference.size == 0:
        raise ValueError(f"cannot compare codes of shapes {reference.shape}, {candidate.shape}")
    difference = np.abs(reference.astype(np.int16) - candidate.astype(np.int16))
    return float(np.mean(difference <= 1))


def neighbour_overlap(
    reference: tuple[np.ndarray, np.ndarray],
    candidate: tuple[np.ndarray, np.ndarray],
    k: int = NEIGHBOURS,
) -> float:
    """Mean share of each query's ``k`` nearest library vectors that both models find.

    Args:
        reference: (library float [m, d], queries float [q, d]) from the reference model.
        candidate: the same clips' (library, queries) from the candidate model.
        k: neighbours per query (at most m).
    """
    found = [_nearest(library, queries, k) for library, queries in (reference, candidate)]
    common = [np.intersect1d(ours, theirs).size for ours, theirs in zip(*found, strict=True)]
    return float(np.mean(common)) / k


def _nearest(library: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Row indices [q, k] of the k library rows nearest each query (Euclidean, exact)."""
    library = np.asarray(library, np.float64)
    queries = np.asarray(queries, np.float64)
    if not 0 < k <= library.shape[0]:
        raise ValueError(f"cannot find {k} neighbours among {library.shape[0]} library clips")
    distances = (
        np.sum(queries**2, axis=1)[:, None]
        - 2 * queries @ library.T
        + np.sum(library**2, axis=1)[None, :]
    )
    return np.argsort(distances, axis=1, kind="stable")[:, :k]
