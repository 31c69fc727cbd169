"""A mix walks from the seeds: each step the unused item best by PREVIOUS_WEIGHT of its
cosine to the previous track and the rest of its cosine to the seeds' mean (found among
all tracks, not only the nearest items searched), never a seed, never a group twice, the
owner rules held (a library's albums and artists by default), and a short catalog said
so."""

from __future__ import annotations

import numpy as np
import pytest

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.catalog.library.owners import TrackOwner
from musicrec_core.catalog.ranking import nearest_groups
from musicrec_core.errors import IndexMismatchError, SessionError
from musicrec_core.recommender import Recommender
from musicrec_core.sessions import PREVIOUS_WEIGHT, mix, owner_cap
from tests.core.sessions.catalogs import DIM, build_catalog, random_unit, unit_rows
from tests.helpers.band_embedder import BandEnergyEmbedder

ITEMS = 40


@pytest.fixture(scope="module")
def single_items(tmp_path_factory: pytest.TempPathFactory) -> CatalogIndex:
    """40 random items, one per group g00..g39."""
    target = tmp_path_factory.mktemp("mix") / "index"
    build_catalog(target, random_unit(ITEMS, seed=3), [f"g{i:02d}" for i in range(ITEMS)])
    with CatalogIndex.load(target) as index:
        yield index


def reference_walk(
    vectors: np.ndarray,
    seeds: np.ndarray,
    n: int,
    excluded: set[int],
    groups: list[str] | None = None,
) -> list[int]:
    """The walk computed over every item by brute force (one item per group of ``groups``,
    default: each item its own)."""
    groups = groups or [str(i) for i in range(len(vectors))]
    centre = seeds.mean(axis=0)
    centre /= np.linalg.norm(centre)
    previous, used, order = seeds[-1], {groups[i] for i in excluded}, []
    for _ in range(n):
        value = PREVIOUS_WEIGHT * (vectors @ previous) + (1 - PREVIOUS_WEIGHT) * (vectors @ centre)
        value[[i for i, group in enumerate(groups) if group in used]] = -np.inf
        best = int(np.argmax(value))
        order.append(best)
        used.add(groups[best])
        previous = vectors[best]
    return order


def test_the_walk_is_the_brute_force_walk_and_its_cosines_are_exact(single_items) -> None:
    vectors = unit_rows(single_items.vectors(np.arange(ITEMS)))
    seeds = vectors[[5, 17]]
    session = mix(single_items, list(seeds), 12, exclude_groups={"g05", "g17"})
    ids = [item.item_id for item in session.items]
    assert ids == reference_walk(vectors, seeds, 12, {5, 17})
    assert session.shortfall is None and session.asked == 12
    centre = seeds.mean(axis=0) / np.linalg.norm(seeds.mean(axis=0))
    previous = seeds[-1]
    for item in session.items:
        assert item.to_previous == pytest.approx(float(vectors[item.item_id] @ previous), abs=1e-5)
        assert item.to_seeds == pytest.approx(float(vectors[item.item_id] @ centre), abs=1e-5)
        previous = vectors[item.item_id]


def test_tracks_of_many_items_do_not_hide_a_better_next_track(tmp_path) -> None:
    """A library-like catalog: 20 tracks of 30 windows each around their own direction.
    The 64 items nearest the seeds or the track before are a few tracks, soon played; the
    walk must still find the best next track among all of them, not the best of those."""
    rng = np.random.default_rng(2)
    directions = random_unit(20, seed=9)
    vectors = unit_rows(np.repeat(directions, 30, axis=0) + 0.3 * rng.normal(size=(600, DIM)))
    groups = [f"track{i // 30:02d}" for i in range(600)]
    build_catalog(tmp_path / "index", vectors, groups)
    with CatalogIndex.load(tmp_path / "index") as index:
        stored = unit_rows(index.vectors(np.arange(600)))
        session = mix(index, [stored[0]], 15, variety=False, exclude_groups={"track00"})
    assert [item.item_id for item in session.items] == reference_walk(
        stored, stored[:1], 15, {0}, groups
    )


def test_a_catalog_too_small_returns_what_fits_and_says_so(single_items) -> None:
    seed = single_items.vector(0)
    session = mix(single_items, [seed], 50, variety=False, exclude_groups={"g00"})
    groups = [item.meta.group for item in session.items]
    assert len(groups) == len(set(groups)) == ITEMS - 1 and "g00" not in groups
    assert "Only 39 of the 50" in session.shortfall


def test_a_recommender_serves_its_current_index(single_items) -> None:
    recommender = Recommender(single_items, BandEnergyEmbedder())
    seed = single_items.vector(9)
    by_recommender = mix(recommender, [seed], 5, exclude_groups={"g09"})
    by_index = mix(single_items, [seed], 5, exclude_groups={"g09"})
    assert by_recommender == by_index


def test_without_the_previous_track_the_mix_is_the_plain_top_n(single_items) -> None:
    seed = single_items.vector(5)
    plain = [found.item_id for found in nearest_groups(single_items, seed, 10, {"g05"})]
    session = mix(single_items, [seed], 10, exclude_groups={"g05"}, previous_weight=0.0)
    assert [item.item_id for item in session.items] == plain
    with pytest.raises(ValueError, match="previous_weight"):
        mix(single_items, [seed], 10, previous_weight=1.5)


@pytest.mark.parametrize("n", [0, 51])
def test_length_out_of_range_is_refused(single_items, n: int) -> None:
    with pytest.raises(SessionError, match="1 to 50"):
        mix(single_items, [single_items.vector(0)], n)


def test_bad_seeds_are_refused(single_items) -> None:
    with pytest.raises(SessionError, match="at least one seed"):
        mix(single_items, [], 5)
    with pytest.raises(SessionError, match="all zeros"):
        mix(single_items, [np.zeros(DIM, np.float32)], 5)
    with pytest.raises(IndexMismatchError, match="shape"):
        mix(single_items, [np.ones(DIM + 1, np.float32)], 5)


@pytest.fixture(scope="module")
def crowded_owner(tmp_path_factory: pytest.TempPathFactory) -> CatalogIndex:
    """30 tracks of owner "near" packed round the seed direction, 30 tracks of four other
    owners spread further out: unruled, the mix would play "near" throughout."""
    rng = np.random.default_rng(5)
    seed = np.eye(DIM, dtype=np.float32)[0]
    near = unit_rows(seed + 0.05 * rng.normal(size=(30, DIM)))
    far = unit_rows(seed + 0.6 * rng.normal(size=(30, DIM)))
    groups = [f"near-{i}" for i in range(30)] + [f"o{i % 4}-{i}" for i in range(30)]
    target = tmp_path_factory.mktemp("crowded") / "index"
    build_catalog(target, np.vstack([near, far]), groups)
    with CatalogIndex.load(target) as index:
        yield index


def owner_of(meta) -> str:
    return meta.group.split("-")[0]


def test_owner_rules_hold_and_matter(crowded_owner) -> None:
    seed = np.eye(DIM, dtype=np.float32)[0]
    ruled = [owner_of(i.meta) for i in mix(crowded_owner, [seed], 15, owner=owner_of).items]
    assert len(ruled) == 15
    assert all(a != b for a, b in zip(ruled, ruled[1:], strict=False))
    assert max(ruled.count(o) for o in set(ruled)) <= owner_cap(15) == 5
    free = [owner_of(i.meta) for i in mix(crowded_owner, [seed], 15, variety=False).items]
    assert free.count("near") == 15


@pytest.fixture(scope="module")
def tagged_library(tmp_path_factory: pytest.TempPathFactory) -> CatalogIndex:
    """crowded_owner's vectors with file tags: the 30 near tracks are two albums (15 each)
    of one artist; the 30 far ones are untagged but for o1-*, which name only an album."""
    rng = np.random.default_rng(5)
    seed = np.eye(DIM, dtype=np.float32)[0]
    near = unit_rows(seed + 0.05 * rng.normal(size=(30, DIM)))
    far = unit_rows(seed + 0.6 * rng.normal(size=(30, DIM)))
    groups = [f"near-{i}" for i in range(30)] + [f"o{i % 4}-{i}" for i in range(30)]
    owners = {f"near-{i}": TrackOwner(f"Album {i % 2}", "Band") for i in range(30)}
    owners |= {group: TrackOwner("Far Album") for group in groups[30:] if group[:2] == "o1"}
    target = tmp_path_factory.mktemp("tagged") / "index"
    build_catalog(target, np.vstack([near, far]), groups, owners)
    with CatalogIndex.load(target) as index:
        yield index


def test_by_default_library_albums_and_artists_are_owners(tagged_library) -> None:
    seed = np.eye(DIM, dtype=np.float32)[0]
    played = [item.meta.group for item in mix(tagged_library, [seed], 15).items]
    assert len(played) == 15
    band = [group.startswith("near") for group in played]
    assert sum(band) == owner_cap(15)  # the artist's third; two albums do not make it more
    assert not any(a and b for a, b in zip(band, band[1:], strict=False))
    far_album = [group.startswith("o1") for group in played]
    assert not any(a and b for a, b in zip(far_album, far_album[1:], strict=False))
    # Untagged tracks are their own owners: more than one of them plays in a row.
    untagged = [g[:2] in ("o0", "o2", "o3") for g in played]
    assert any(a and b for a, b in zip(untagged, untagged[1:], strict=False))
    assert sum(g.startswith("near") for g in played_free(tagged_library, seed)) == 15


def played_free(index: CatalogIndex, seed: np.ndarray) -> list[str]:
    return [item.meta.group for item in mix(index, [seed], 15, variety=False).items]
