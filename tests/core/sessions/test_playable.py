"""Gone videos are left out of a session and the walk goes on in their place."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.sessions import mix
from musicrec_core.sessions.playable import MAX_WALKS, playable_session
from musicrec_core.titles.oembed import VideoAnswer
from tests.core.sessions.catalogs import build_catalog, random_unit

ITEMS = 30


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> CatalogIndex:
    target = tmp_path_factory.mktemp("playable") / "index"
    build_catalog(target, random_unit(ITEMS, seed=5), [f"g{i:02d}" for i in range(ITEMS)])
    with CatalogIndex.load(target) as index:
        yield index


def groups(session) -> list[str]:
    return [item.meta.group for item in session.items]


def test_gone_items_are_replaced_by_the_walk_continued(catalog) -> None:
    seed = [catalog.vector(0)]
    first = mix(catalog, seed, 10, exclude_groups={"g00"})
    dead = {groups(first)[3], groups(first)[7]}
    walks: list[frozenset[str]] = []

    def walk(excluded: frozenset[str], channels):
        walks.append(excluded)
        return mix(catalog, seed, 10, exclude_groups={"g00", *excluded}, channels=channels)

    def gone(asked: Sequence[str]) -> dict[str, VideoAnswer]:
        return {group: VideoAnswer(group, "gone") for group in dead & set(asked)}

    session = playable_session(walk, gone)
    assert len(session.items) == 10 and session.shortfall is None
    assert not dead & set(groups(session))
    assert groups(session)[:3] == groups(first)[:3]  # the walk before the first gone one
    assert walks == [frozenset(), frozenset(dead)]


def test_after_the_last_walk_the_gone_are_dropped_and_counted(catalog) -> None:
    seed = [catalog.vector(0)]

    def walk(excluded: frozenset[str], channels):
        return mix(catalog, seed, 5, exclude_groups={"g00", *excluded}, channels=channels)

    def every_first_is_gone(asked: Sequence[str]) -> dict[str, VideoAnswer]:
        return {asked[0]: VideoAnswer(asked[0], "gone")}

    session = playable_session(walk, every_first_is_gone)
    assert len(session.items) == 4
    assert session.shortfall.startswith("1 chosen video is no longer on YouTube")
    assert f"after {MAX_WALKS} tries" in session.shortfall
