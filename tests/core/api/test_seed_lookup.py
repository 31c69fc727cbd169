"""A seed's catalog item is looked up on the event loop once the catalog's groups are read:
only the first look-up per index goes to a thread."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from musicrec_core.api import recommend_routes
from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.embedders.base import EmbedderId
from tests.helpers.small_index import build_small_index

EMBEDDER = EmbedderId(name="vggish", version="test-1", dim=16)


def test_only_the_first_look_up_per_index_goes_to_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hops: list[str] = []
    real_to_thread = asyncio.to_thread

    async def counted(function: Callable[..., Any], *args: Any) -> Any:
        hops.append(function.__name__)
        return await real_to_thread(function, *args)

    monkeypatch.setattr(recommend_routes.asyncio, "to_thread", counted)
    with CatalogIndex.load(build_small_index(tmp_path / "index", EMBEDDER)) as index:
        service: Any = SimpleNamespace(recommender=SimpleNamespace(index=index))

        async def look_up() -> list[int | None]:
            return [
                await recommend_routes.catalog_item_soon(service, group)
                for group in ("vid2", "vid5", "not-there", "vid0")
            ]

        assert asyncio.run(look_up()) == [2, 5, None, 0]
    assert hops == ["catalog_item"]
