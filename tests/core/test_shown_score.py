"""The score shown is the score the list is ordered by (issue 19), on a library index in
style order and on an AudioSet-like index (one item per video, item by item).

The library fixture is test_ranking's hand-placed tracks: "kin" ranks before "moment" in
style order although moment's best window is nearer the query (cosines 0.857 and 0.981),
so the best window's cosine, the number shown before, read 99.9, 85.7, 98.1 %.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicrec_core.recommender import Recommender
from tests.core.catalog.test_ranking import DIM, QUERY, TRACKS, build
from tests.helpers.band_embedder import BandEnergyEmbedder
from tests.helpers.shown_score import assert_shown_score_is_the_order

EMBEDDER = BandEnergyEmbedder()
PADDING = [0.0] * (EMBEDDER.dim - DIM)


def padded(rows: list[list[float]]) -> list[list[float]]:
    """4-d hand-placed rows as vectors of the test embedder's width (zeros after)."""
    return [list(row) + PADDING for row in rows]


def profile(rows: list[list[float]]) -> np.ndarray:
    """A track's profile: the unit mean of its unit rows."""
    unit = np.array(rows) / np.linalg.norm(rows, axis=1, keepdims=True)
    mean = unit.mean(axis=0)
    return mean / np.linalg.norm(mean)


def test_a_library_in_style_order_shows_the_style_score(tmp_path: Path) -> None:
    tracks = {group: padded(rows) for group, rows in TRACKS.items()}
    query = np.array(padded([QUERY.tolist()])[0], dtype=np.float32)
    with build(tmp_path / "index", tracks, EMBEDDER.id) as index:
        result = Recommender(index, EMBEDDER).recommend_vector(query, 3, pooling="mean")
    assert [item.group for item in result.items] == ["own", "kin", "moment"]  # as before
    assert_shown_score_is_the_order(result)
    windows = [item.window_cosine for item in result.items]
    assert windows[1] < windows[2]  # the number shown before was out of order
    assert not any(item.identified for item in result.items)
    # kin: its profile . own's profile, its profile . the query, best window . the query
    own, kin = profile(TRACKS["own"]), profile(TRACKS["kin"])
    expected = (kin @ own + kin @ QUERY + windows[1]) / 3
    assert result.items[1].score == pytest.approx(expected, abs=1e-5)


def test_the_more_like_path_shows_the_style_score_too(tmp_path: Path) -> None:
    """A "More like" click re-queries from a stored item; its own track is left out."""
    tracks = {group: padded(rows) for group, rows in TRACKS.items()}
    tracks["far"] = padded([[0.0, 0.0, 1.0, 0.2], [0.0, 0.1, 1.0, 0.0]])
    with build(tmp_path / "index", tracks, EMBEDDER.id) as index:
        result = Recommender(index, EMBEDDER).recommend_from_item(0, 3)
    assert "own" not in {item.group for item in result.items}
    assert_shown_score_is_the_order(result)


def test_an_audioset_like_index_shows_the_clamped_cosine(tmp_path: Path) -> None:
    rows = np.random.default_rng(5).normal(size=(16, EMBEDDER.dim)).tolist()
    videos = {f"vid{number:08d}": [row] for number, row in enumerate(rows)}
    query = np.random.default_rng(6).normal(size=EMBEDDER.dim).astype(np.float32)
    with build(tmp_path / "index", videos, EMBEDDER.id) as index:
        result = Recommender(index, EMBEDDER).recommend_vector(query, 16, pooling="mean")
    assert len(result.items) == 16
    assert_shown_score_is_the_order(result)
    assert [item.score for item in result.items] == [
        max(0.0, item.window_cosine) for item in result.items
    ]
    assert result.items[-1].window_cosine < 0 == result.items[-1].score  # away reads 0
