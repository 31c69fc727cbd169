"""MusicrecBot.reload_catalog when its caller is cancelled: the reload thread cannot be
stopped, so it runs to its end, and no other reload may overlap it meanwhile.

The bot is real (no engine loaded); its service is a stand-in holding a real Recommender
over band-energy indexes, whose query is held in flight with events (no sleeps, no timing).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bot.app import MusicrecBot
from musicrec_core.catalog.index import CatalogIndex, IndexBuilder, ItemMeta
from musicrec_core.catalog.pooling import DEFAULT_POOLING, pooled_dim
from musicrec_core.clip import SAMPLE_RATE_HZ, Clip
from musicrec_core.errors import CatalogError
from musicrec_core.recommender import RecommendationSet, Recommender
from tests.bot.helpers import make_settings
from tests.helpers.held_embedder import HOLD_LIMIT_S, HeldEmbedder


def build(index_dir: Path, embedder: HeldEmbedder, group: str) -> Path:
    dim = pooled_dim(embedder.id.dim, DEFAULT_POOLING)
    vectors = np.random.default_rng(3).random((8, dim), dtype=np.float32)
    metas = [ItemMeta(group=f"{group}{i}", start_s=0.0, end_s=10.0, labels=()) for i in range(8)]
    with IndexBuilder(index_dir, embedder=embedder.id, pooling=DEFAULT_POOLING) as builder:
        builder.add_many(vectors, metas)
        return builder.commit()


def noise_clip() -> Clip:
    samples = np.random.default_rng(5).standard_normal(2 * SAMPLE_RATE_HZ).astype(np.float32)
    return Clip(samples)


LOOP_TURNS = 20
"""Event-loop turns given to a cancelled task to end (it needs one, had it ended)."""


async def until(condition: object) -> None:
    """Yield to the loop until ``condition()`` holds (at most HOLD_LIMIT_S)."""
    async with asyncio.timeout(HOLD_LIMIT_S):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.005)


async def test_a_cancelled_reload_runs_to_its_end_before_another_may_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = HeldEmbedder()
    old = CatalogIndex.load(build(tmp_path / "old", embedder, "old"))
    recommender = Recommender(old, embedder)
    new_dir = build(tmp_path / "new", embedder, "new")
    bot = MusicrecBot(make_settings(new_dir), load_engine=False)
    monkeypatch.setattr(
        MusicrecBot, "service", property(lambda _: SimpleNamespace(recommender=recommender))
    )

    embedder.hold.set()
    try:
        query = asyncio.ensure_future(asyncio.to_thread(recommender.recommend, noise_clip(), 1))
        await until(embedder.entered.is_set)
        reload = asyncio.ensure_future(bot.reload_catalog())
        # The reload thread installs the new index, then waits for the held query on the old one.
        await until(lambda: recommender.index is not old)
        reload.cancel()
        for _ in range(LOOP_TURNS):  # the cancellation is delivered on the next turn
            await asyncio.sleep(0)
        assert not reload.done(), "the cancelled reload ended while its thread still runs"
        assert bot._reload_lock.locked(), "a second reload could overlap the one still running"
    finally:
        embedder.release.set()
    with pytest.raises(asyncio.CancelledError):
        await reload
    result = await query
    assert isinstance(result, RecommendationSet) and result.catalog == old.fingerprint
    assert not bot._reload_lock.locked()
    new_index = recommender.index
    assert new_index.directory.parent == new_dir
    embedder.hold.clear()
    assert recommender.recommend(noise_clip(), 1).items[0].group.startswith("new")
    with pytest.raises(CatalogError, match="closed"):
        old.search(np.ones(old.dim, np.float32), 1)
    new_index.close()
