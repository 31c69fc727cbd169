"""The groups a session never plays: items that sound exactly like a seed (others are
not), joined with each seed's own groups."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.sessions.seed_groups import never_played, same_sound_groups
from tests.core.sessions.catalogs import build_catalog, random_unit


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> CatalogIndex:
    target = tmp_path_factory.mktemp("same-sound") / "index"
    build_catalog(target, random_unit(20, seed=8), [f"g{i:02d}" for i in range(20)])
    with CatalogIndex.load(target) as index:
        yield index


def test_a_seed_that_is_a_catalog_item_names_its_group(catalog) -> None:
    upload = catalog.vector(4) * 3.0  # the same direction, another length (pooled otherwise)
    assert same_sound_groups(catalog, [upload]) == {"g04"}


def test_a_seed_that_only_sounds_alike_names_nothing(catalog) -> None:
    near = catalog.vector(4) + 0.05 * random_unit(1, seed=99)[0]
    assert same_sound_groups(catalog, [near / np.linalg.norm(near)]) == set()


def test_never_played_joins_each_seeds_own_groups_and_what_sounds_like_one(catalog) -> None:
    upload = SimpleNamespace(vector=catalog.vector(4) * 3.0, own_groups=frozenset({"g11"}))
    link = SimpleNamespace(vector=random_unit(1, seed=98)[0], own_groups=frozenset({"elsewhere"}))
    assert never_played(catalog, [upload, link]) == {"g04", "g11", "elsewhere"}
