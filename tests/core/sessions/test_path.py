"""A path plays, at points spread evenly on the great circle from the track before to B,
the nearest playable item: along an arc of items it moves steadily from A to B; a step that
lands ahead of its point has the rest of the way split evenly after it; a point with
nothing left is merged; A equal to B and steps out of range are refused."""

from __future__ import annotations

import numpy as np
import pytest

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.errors import SessionError
from musicrec_core.sessions import path
from musicrec_core.sessions.path import sphere_points
from tests.core.sessions.catalogs import DIM, build_catalog, random_unit, unit_rows

ARC = 31
"""Items 0..30 lie evenly on the quarter circle from e0 (item 0, A) to e1 (item 30, B)."""
A, B = np.eye(DIM, dtype=np.float32)[:2]


@pytest.fixture(scope="module")
def arc(tmp_path_factory: pytest.TempPathFactory) -> CatalogIndex:
    angles = np.linspace(0, np.pi / 2, ARC)
    on_arc = np.zeros((ARC, DIM), np.float32)
    on_arc[:, 0], on_arc[:, 1] = np.cos(angles), np.sin(angles)
    vectors = np.vstack([on_arc, random_unit(30, seed=4)])
    target = tmp_path_factory.mktemp("arc") / "index"
    build_catalog(target, vectors, [f"t{i:02d}" for i in range(len(vectors))])
    with CatalogIndex.load(target) as index:
        yield index


def test_points_are_even_on_the_sphere() -> None:
    points = sphere_points(A, B, 5)
    assert np.allclose(np.linalg.norm(points, axis=1), 1, atol=1e-6)
    angles = np.arctan2(points[:, 1], points[:, 0])
    assert np.allclose(angles, np.pi / 2 * np.arange(1, 6) / 6, atol=1e-6)


def test_path_moves_from_a_to_b_with_exact_cosines(arc) -> None:
    session = path(arc, A, B, 5, exclude_groups={"t00", "t30"})
    assert [item.meta.group for item in session.items] == ["t05", "t10", "t15", "t20", "t25"]
    to_b = [item.to_b for item in session.items]
    assert to_b == sorted(to_b)
    for item in session.items:
        vector = unit_rows(arc.vector(item.item_id)[None])[0]
        assert item.to_a == pytest.approx(float(vector @ A), abs=1e-5)
        assert item.to_b == pytest.approx(float(vector @ B), abs=1e-5)


def test_a_taken_neighbour_gives_the_next_nearest(arc) -> None:
    session = path(arc, A, B, 29, exclude_groups={"t00", "t30"})
    groups = [item.meta.group for item in session.items]
    assert groups == [f"t{i:02d}" for i in range(1, 30)]


def test_after_a_step_lands_ahead_the_rest_of_the_way_is_split_evenly(tmp_path) -> None:
    """Items at 10, 45, 50 and 80 degrees from A towards B, two steps. The first point
    (30 degrees) plays 45; the second is planned from 45: half-way to B (67.5 degrees),
    so 80 plays. Points fixed at 30 and 60 degrees would have played 50, a step of 5
    degrees and then one of 40 to B."""
    angles = np.radians([10.0, 45.0, 50.0, 80.0])
    vectors = np.zeros((4, DIM), np.float32)
    vectors[:, 0], vectors[:, 1] = np.cos(angles), np.sin(angles)
    build_catalog(tmp_path / "index", vectors, ["d10", "d45", "d50", "d80"])
    with CatalogIndex.load(tmp_path / "index") as index:
        session = path(index, A, B, 2)
    assert [item.meta.group for item in session.items] == ["d45", "d80"]


def test_points_without_a_good_neighbour_are_merged(arc) -> None:
    # 50 points, 29 arc items between the ends: the random items off the arc are farther
    # from their points than A or B, so the points left without an arc item merge.
    session = path(arc, A, B, 50, exclude_groups={"t00", "t30"})
    groups = [item.meta.group for item in session.items]
    assert 20 <= len(groups) <= 29 and groups == sorted(groups)
    assert all(group <= "t29" for group in groups)
    assert f"{50 - len(groups)} of the 50 steps were merged" in session.shortfall


def test_same_track_and_steps_out_of_range_are_refused(arc) -> None:
    with pytest.raises(SessionError, match="same track"):
        path(arc, A, 2 * A, 5)
    with pytest.raises(SessionError, match="1 to 50 steps"):
        path(arc, A, B, 0)
    with pytest.raises(SessionError, match="1 to 50 steps"):
        path(arc, A, B, 51)
