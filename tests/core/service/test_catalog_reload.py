"""CatalogReloads: every front end's reloads of one process's catalog, one at a time, each
logged the same way, and none left running under a host that stops.

Real band-energy indexes and a real Recommender; a query is held in flight on the old index
with events (:class:`HeldEmbedder`), which keeps a reload's thread running (it retires the
old index only once that query ends): no sleeps, no timing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from musicrec_core.catalog.index import CatalogIndex, IndexBuilder, ItemMeta
from musicrec_core.catalog.pooling import DEFAULT_POOLING, pooled_dim
from musicrec_core.clip import SAMPLE_RATE_HZ, Clip
from musicrec_core.errors import CatalogError
from musicrec_core.recommender import RecommendationSet, Recommender
from musicrec_core.service.catalog_reload import SIGHUP, CatalogReloads, ReloadResult
from tests.helpers.held_embedder import HOLD_LIMIT_S, HeldEmbedder
from tests.helpers.index_damage import list_a_file_under_a_plain_file

LOGGER = "musicrec_core.service.catalog_reload"

LOOP_TURNS = 20
"""Event-loop turns given to a task to end (it needs one, had it ended)."""


def build(index_dir: Path, embedder: HeldEmbedder, group: str, items: int = 8) -> Path:
    dim = pooled_dim(embedder.id.dim, DEFAULT_POOLING)
    vectors = np.random.default_rng(3).random((items, dim), dtype=np.float32)
    metas = [
        ItemMeta(group=f"{group}{i}", start_s=0.0, end_s=10.0, labels=()) for i in range(items)
    ]
    with IndexBuilder(index_dir, embedder=embedder.id, pooling=DEFAULT_POOLING) as builder:
        builder.add_many(vectors, metas)
        return builder.commit()


def noise_clip() -> Clip:
    samples = np.random.default_rng(5).standard_normal(2 * SAMPLE_RATE_HZ).astype(np.float32)
    return Clip(samples)


async def until(condition: Callable[[], bool]) -> None:
    """Yield to the loop until ``condition()`` holds (at most HOLD_LIMIT_S)."""
    async with asyncio.timeout(HOLD_LIMIT_S):
        while not condition():
            await asyncio.sleep(0.005)


async def turns() -> None:
    for _ in range(LOOP_TURNS):
        await asyncio.sleep(0)


def reload_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == LOGGER]


class Served(NamedTuple):
    """A recommender serving an "old" index, and the folder of a "new" one (12 items)."""

    embedder: HeldEmbedder
    old: CatalogIndex
    recommender: Recommender
    new_dir: Path


@pytest.fixture
def served(tmp_path: Path) -> Served:
    embedder = HeldEmbedder()
    old = CatalogIndex.load(build(tmp_path / "old", embedder, "old"))
    return Served(
        embedder, old, Recommender(old, embedder), build(tmp_path / "new", embedder, "new", 12)
    )


async def test_a_reload_logs_the_new_catalog_and_a_refusal_keeps_the_old_one_in_one_line(
    served: Served,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, old, recommender, new_dir = served
    caplog.set_level(logging.INFO, LOGGER)
    refusing = CatalogReloads(recommender, tmp_path / "nowhere")
    assert refusing.last is None
    with pytest.raises(CatalogError):
        await refusing.reload("an admin")
    assert refusing.last is not None
    assert (refusing.last.result, refusing.last.asked_by, refusing.last.items) == (
        ReloadResult.REFUSED,
        "an admin",
        None,
    )
    (refused,) = reload_lines(caplog)
    assert refused.levelno == logging.ERROR and refused.exc_info is None
    assert refused.getMessage().startswith("catalog reload refused, still serving the old one: ")
    assert "an admin" in refused.getMessage()
    assert recommender.index is old

    caplog.clear()
    reloads = CatalogReloads(recommender, new_dir)
    index = await reloads.reload(SIGHUP)
    assert recommender.index is index and len(index) == 12
    assert reloads.last is not None
    assert (reloads.last.result, reloads.last.asked_by, reloads.last.items) == (
        ReloadResult.RELOADED,
        SIGHUP,
        12,
    )
    (done,) = reload_lines(caplog)
    assert done.getMessage() == (
        f"reloaded the catalog: 12 items from {index.directory} "
        f"(catalog {index.fingerprint}; asked by SIGHUP)"
    )
    index.close()


async def test_an_unexpected_failure_is_logged_with_its_traceback_and_the_old_one_serves(
    served: Served,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, old, recommender, new_dir = served
    with CatalogIndex.load(new_dir) as index:
        version = index.directory
    list_a_file_under_a_plain_file(version)
    caplog.set_level(logging.INFO, LOGGER)
    reloads = CatalogReloads(recommender, new_dir)
    assert await reloads.reload_in_background(SIGHUP) is None
    (failed,) = reload_lines(caplog)
    assert failed.getMessage().startswith("catalog reload failed unexpectedly, still serving")
    assert failed.exc_info is not None and isinstance(failed.exc_info[1], OSError)
    assert recommender.index is old
    assert reloads.last is not None and reloads.last.result is ReloadResult.FAILED


async def test_a_cancelled_reload_runs_to_its_end_before_another_may_start(
    served: Served,
    caplog: pytest.LogCaptureFixture,
) -> None:
    embedder, old, recommender, new_dir = served
    reloads = CatalogReloads(recommender, new_dir)
    caplog.set_level(logging.INFO, LOGGER)
    embedder.hold.set()
    try:
        query = asyncio.ensure_future(asyncio.to_thread(recommender.recommend, noise_clip(), 1))
        await until(embedder.entered.is_set)
        reload = asyncio.ensure_future(reloads.reload("an admin"))
        # The reload thread installs the new index, then waits for the held query on the old one.
        await until(lambda: recommender.index is not old)
        second = asyncio.ensure_future(reloads.reload(SIGHUP))
        reload.cancel()
        await turns()  # the cancellation is delivered on the next turn
        assert not reload.done(), "the cancelled reload ended while its thread still runs"
        assert reloads._lock.locked() and not second.done(), "a second reload overlaps the first"
    finally:
        embedder.release.set()
    with pytest.raises(asyncio.CancelledError):
        await reload
    result = await query
    assert isinstance(result, RecommendationSet) and result.catalog == old.fingerprint
    embedder.hold.clear()
    again = await second
    assert not reloads._lock.locked()
    messages = [record.getMessage() for record in reload_lines(caplog)]
    assert [m.rsplit("asked by ", 1)[1] for m in messages] == ["an admin, cancelled)", "SIGHUP)"]
    assert recommender.recommend(noise_clip(), 1).items[0].group.startswith("new")
    with pytest.raises(CatalogError, match="closed"):
        old.search(np.ones(old.dim, np.float32), 1)
    again.close()


async def test_closing_waits_for_the_reload_in_flight_and_drops_the_ones_waiting(
    served: Served,
) -> None:
    embedder, old, recommender, new_dir = served
    reloads = CatalogReloads(recommender, new_dir)
    embedder.hold.set()
    try:
        query = asyncio.ensure_future(asyncio.to_thread(recommender.recommend, noise_clip(), 1))
        await until(embedder.entered.is_set)
        first = reloads.reload_in_background(SIGHUP)
        await until(lambda: recommender.index is not old)
        waiting = reloads.reload_in_background(SIGHUP)
        closing = asyncio.ensure_future(reloads.close())
        await turns()
        assert waiting.cancelled(), "a reload waiting for its turn would start after close"
        assert not closing.done(), "close returned while a reload thread still runs"
    finally:
        embedder.release.set()
    await closing
    assert first.done() and not reloads._lock.locked()
    await query
    new_index = recommender.index
    assert new_index.directory.parent == new_dir
    new_index.close()


async def test_sighup_reloads_until_close(
    served: Served,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, old, recommender, new_dir = served
    reloads = CatalogReloads(recommender, new_dir)
    caplog.set_level(logging.INFO, LOGGER)
    reloads.handle_sighup()
    try:
        # Guard: the default action of SIGHUP would end the test process.
        assert signal.getsignal(signal.SIGHUP) is not signal.SIG_DFL
        os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: any("asked by SIGHUP" in r.getMessage() for r in caplog.records))
    finally:
        await reloads.close()
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL
    assert recommender.index is not old
    recommender.index.close()
