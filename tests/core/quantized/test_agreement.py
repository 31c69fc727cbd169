"""The agreement figures and their bar, on arrays whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from musicrec_core.quantized.agreement import (
    Agreement,
    neighbour_overlap,
    values_within_one,
)


def test_values_within_one_counts_differences_of_two_or_more() -> None:
    reference = np.full((10, 100), 100, np.uint8)
    candidate = reference.copy()
    candidate[0, :40] = 101  # within 1
    candidate[1, :30] = 99  # within 1
    candidate[2, :7] = 102  # off by 2
    candidate[3, :3] = 0  # far off, and uint8 must not wrap around
    assert values_within_one(reference, candidate) == pytest.approx(0.99)
    assert values_within_one(reference, reference) == 1.0


def test_values_within_one_refuses_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="shapes"):
        values_within_one(np.zeros((2, 3), np.uint8), np.zeros((3, 2), np.uint8))


def test_neighbour_overlap_is_one_for_the_same_vectors_and_falls_with_moved_ones() -> None:
    rng = np.random.default_rng(0)
    library, queries = rng.normal(size=(50, 8)), rng.normal(size=(5, 8))
    assert neighbour_overlap((library, queries), (library, queries)) == 1.0
    # A small shift of every vector keeps the neighbours; shuffling the library loses them.
    assert neighbour_overlap((library, queries), (library + 1e-9, queries)) == 1.0
    shuffled = library[rng.permutation(50)]
    assert neighbour_overlap((library, queries), (shuffled, queries)) < 0.5


def test_neighbour_overlap_counts_the_shared_share_per_query() -> None:
    library = np.arange(20, dtype=np.float64)[:, None]  # points 0..19 on a line
    queries = np.array([[0.0]])  # nearest ten: 0..9
    moved = library.copy()
    moved[9] = 100.0  # one of them moves away: 10 takes its place
    assert neighbour_overlap((library, queries), (moved, queries)) == pytest.approx(0.9)


def test_neighbour_overlap_needs_enough_library_vectors() -> None:
    vectors = np.zeros((5, 2))
    with pytest.raises(ValueError, match="10 neighbours among 5"):
        neighbour_overlap((vectors, vectors), (vectors, vectors))


@pytest.mark.parametrize(
    ("within", "overlap", "passed"),
    [(0.995, 0.95, True), (0.9949, 1.0, False), (1.0, 0.949, False)],
)
def test_the_bar_needs_both_figures(within: float, overlap: float, passed: bool) -> None:
    agreement = Agreement(within, overlap, values=1280, queries=2, library=10)
    assert agreement.passed is passed
    assert agreement.to_json()["passed"] is passed
    assert f"{within:.2%}" in agreement.summary() and f"{overlap:.1%}" in agreement.summary()
