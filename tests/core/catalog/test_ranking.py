"""catalog.ranking: item-by-item and style order on small synthetic indexes.

Vectors are 4-d and placed by hand so the two orders are known: the query points along
axis 0; track "own" surrounds it; "moment" has one item next to the query and the rest far
away (a track that shares one moment); "kin" has every item half-way between axis 0 and
axis 1, like "own" as a whole.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicrec_core.catalog.index import CatalogIndex, IndexBuilder, ItemMeta
from musicrec_core.catalog.ranking import (
    Found,
    TrackProfiles,
    nearest_groups,
    profiles_of,
    rank_groups,
    style_order,
    unit_score,
)
from musicrec_core.embedders.base import EmbedderId
from musicrec_core.recommender import Recommender
from tests.helpers.band_embedder import BandEnergyEmbedder

DIM = 4
SYNTHETIC = EmbedderId("synthetic", "1", DIM)
QUERY = np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32)
TRACKS = {
    "own": [[1.0, 0.05, 0.0, 0.0], [1.0, 0.3, 0.0, 0.0], [1.0, 0.4, 0.1, 0.0]],
    "moment": [[1.0, 0.2, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]],
    "kin": [[1.0, 0.6, 0.0, 0.0], [1.0, 0.7, 0.0, 0.0], [1.0, 0.8, 0.0, 0.0]],
}


def build(
    target: Path,
    tracks: dict[str, list[list[float]]],
    embedder: EmbedderId = SYNTHETIC,
) -> CatalogIndex:
    """Publish one item per row, each track's rows in order, and load the index."""
    vectors, metas = [], []
    for group, rows in tracks.items():
        for window, row in enumerate(rows):
            vectors.append(row)
            metas.append(ItemMeta(group, 10.0 * window, 10.0 * window + 10, (), kind="file"))
    with IndexBuilder(target, embedder=embedder, pooling="mean") as builder:
        builder.add_many(np.array(vectors, dtype=np.float32), metas)
        builder.commit()
    return CatalogIndex.load(target)


def groups_of(found: list[Found]) -> list[str]:
    return [entry.meta.group for entry in found]


def test_style_order_ranks_whole_tracks_after_the_anchor(tmp_path: Path) -> None:
    with build(tmp_path / "index", TRACKS) as index:
        assert groups_of(nearest_groups(index, QUERY, 3, set())) == ["own", "moment", "kin"]
        found = rank_groups(index, QUERY, 3, set())
        assert groups_of(found) == ["own", "kin", "moment"]
        # each group is shown by its item nearest the query, with that item's cosine
        moment = found[2]
        assert (moment[2].start_s, moment[1]) == (0.0, pytest.approx(1 / np.sqrt(1.04)))


def test_an_excluded_anchor_still_sets_the_style(tmp_path: Path) -> None:
    """A library file asked about itself: its own track is left out but ranks the rest."""
    with build(tmp_path / "index", TRACKS) as index:
        assert groups_of(rank_groups(index, QUERY, 5, {"own"})) == ["kin", "moment"]
        assert groups_of(nearest_groups(index, QUERY, 5, {"own"})) == ["moment", "kin"]


def test_order_that_already_matches_is_left_alone(tmp_path: Path) -> None:
    tracks = {"own": TRACKS["own"], "kin": TRACKS["kin"], "far": [[0, 0, 1, 0], [0, 0, 1, 1]]}
    with build(tmp_path / "index", tracks) as index:
        expected = nearest_groups(index, QUERY, 3, set())
        found = rank_groups(index, QUERY, 3, set())
        assert [(f.item_id, f.meta) for f in found] == [(f.item_id, f.meta) for f in expected]
        assert [f.cosine for f in found] == pytest.approx([f.cosine for f in expected], abs=1e-6)


def test_one_item_per_group_keeps_the_item_by_item_order(tmp_path: Path) -> None:
    """An AudioSet-like index (one segment per video): the stage does not apply."""
    rows = np.random.default_rng(3).normal(size=(12, DIM)).tolist()
    with build(tmp_path / "index", {f"vid{i}": [row] for i, row in enumerate(rows)}) as index:
        assert profiles_of(index) is None
        assert style_order(index, QUERY, 5, set()) is None
        assert rank_groups(index, QUERY, 5, set()) == nearest_groups(index, QUERY, 5, set())


def test_profiles_are_unit_means_and_cached_per_index(tmp_path: Path) -> None:
    with build(tmp_path / "a", TRACKS) as first, build(tmp_path / "b", TRACKS) as second:
        profiles = profiles_of(first)
        assert profiles is not None and profiles_of(first) is profiles
        assert profiles_of(second) is not profiles
        assert profiles.groups == ("own", "moment", "kin")
        assert [m.tolist() for m in profiles.members] == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
        np.testing.assert_allclose(np.linalg.norm(profiles.vectors, axis=1), 1.0, rtol=1e-6)


def test_degenerate_profiles() -> None:
    assert TrackProfiles.build([], np.zeros((0, DIM), dtype=np.float32)) is None
    vectors = np.array([[0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]], np.float32)
    profiles = TrackProfiles.build(["silent", "silent", "tone", "tone"], vectors)
    assert profiles is not None and np.isfinite(profiles.vectors).all()
    assert profiles.vectors[0].tolist() == [0.0] * DIM  # similar to nothing
    tone = vectors[2]
    # k > groups; tone: (1 + 1 + 0) / 3, silent: (0 + 0 + 0) / 3 (a floor of 0 without cosines)
    ordered = profiles.order("tone", tone, {}, 10, set())
    assert ordered == [("tone", pytest.approx(2 / 3)), ("silent", 0.0)]
    assert profiles.order("tone", tone, {"tone": 1.0}, 1, {"tone"}) == [("silent", 1 / 3)]
    with pytest.raises(ValueError):
        profiles.order("unknown", tone, {}, 2, set())


def test_the_recommender_answers_in_style_order(tmp_path: Path) -> None:
    """The path the CLI (recommend_many) and the bot (recommend_vector) both take."""
    embedder = BandEnergyEmbedder()
    padding = [0.0] * (embedder.dim - DIM)
    tracks = {group: [row + padding for row in rows] for group, rows in TRACKS.items()}
    with build(tmp_path / "index", tracks, embedder.id) as index:
        recommender = Recommender(index, embedder)
        query = np.concatenate([QUERY, padding]).astype(np.float32)
        result = recommender.recommend_vector(query, 3, pooling="mean")
        assert [item.group for item in result.items] == ["own", "kin", "moment"]
        assert [item.rank for item in result.items] == [1, 2, 3]


def test_unit_score_clamps_into_zero_one() -> None:
    assert [unit_score(v) for v in (1.0, 0.25, 0.0, -0.7, 1.0000001)] == [1.0, 0.25, 0, 0, 1]
