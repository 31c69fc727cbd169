"""The request queue: admission, micro-batching into one model call, error isolation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.catalog.index import CatalogIndex, IndexBuilder, ItemMeta
from musicrec_core.catalog.labels import AudioSetClass
from musicrec_core.catalog.pooling import DEFAULT_POOLING, pool
from musicrec_core.clip import SAMPLE_RATE_HZ, Clip, Provenance
from musicrec_core.embedders.base import Embedding
from musicrec_core.errors import AudioTooShortError
from musicrec_core.recommender import Recommender
from musicrec_core.service.batching import BusyError, RecommendQueue
from musicrec_core.steering import LabelSteering, Vocabulary
from tests.helpers.band_embedder import BandEnergyEmbedder

TONES_HZ = (110.0, 220.0, 440.0, 880.0, 1760.0, 3520.0)


class StrictBandEmbedder(BandEnergyEmbedder):
    """Band energies that, like VGGish, refuse clips shorter than one frame (1 s)."""

    def embed_many(self, clips: Sequence[Clip]) -> list[Embedding]:
        for clip in clips:
            if clip.duration_s < self.frame_seconds:
                raise AudioTooShortError(f"{clip.provenance.ref} is shorter than 1 s.")
        return super().embed_many(clips)


def tone_clip(freq_hz: float, *, seconds: float = 3.0, name: str = "q") -> Clip:
    t = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    samples = (0.5 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)
    return Clip(samples, Provenance(kind="attachment", ref=name, duration_s=seconds))


@pytest.fixture
async def queue(tmp_path: Path) -> AsyncIterator[RecommendQueue]:
    embedder = StrictBandEmbedder()
    with IndexBuilder(tmp_path / "index", embedder=embedder.id, pooling=DEFAULT_POOLING) as b:
        for number, freq in enumerate(TONES_HZ):
            vector = pool(embedder.embed(tone_clip(freq)).vectors, DEFAULT_POOLING)
            labels = ("Music", "Low" if freq < 500 else "High")
            b.add(vector, ItemMeta(f"video{number:06d}", 0.0, 3.0, labels, f"{freq:.0f} Hz"))
        b.commit()
    embedder.calls = embedder.clips = 0
    recommender = Recommender(CatalogIndex.load(tmp_path / "index"), embedder)
    queue = RecommendQueue(recommender, queue_size=4, batch_window_s=0.05, max_batch=8)
    queue.start()
    yield queue
    await queue.close()
    recommender.index.close()


async def test_clips_arriving_together_are_embedded_in_one_call(queue: RecommendQueue) -> None:
    embedder = queue.recommender.embedder
    assert isinstance(embedder, BandEnergyEmbedder)

    async def ask(freq: float, k: int) -> tuple[str | None, int]:
        with queue.admit():
            result = await queue.recommend(tone_clip(freq), k)
        return result.items[0].title, len(result.items)

    answers = await asyncio.gather(ask(220.0, 1), ask(880.0, 3), ask(3520.0, 2))
    assert answers == [("220 Hz", 1), ("880 Hz", 3), ("3520 Hz", 2)]
    assert (embedder.calls, embedder.clips) == (1, 3)
    stats = queue.stats()
    assert (stats.batches, stats.clips, stats.largest_batch, stats.admitted) == (1, 3, 3, 0)


async def test_a_full_queue_refuses_at_once_and_frees_tickets(queue: RecommendQueue) -> None:
    held = [queue.admit() for _ in range(4)]
    for ticket in held:
        ticket.__enter__()
    with pytest.raises(BusyError) as caught, queue.admit():
        pass
    assert caught.value.retry_after_s >= 1
    assert f"try again in {caught.value.retry_after_s} s" in str(caught.value)
    for ticket in held:
        ticket.__exit__(None, None, None)
    with queue.admit():
        assert queue.stats().admitted == 1
    assert queue.stats().admitted == 0


async def test_one_bad_clip_does_not_fail_its_neighbours(queue: RecommendQueue) -> None:
    good = queue.recommend(tone_clip(440.0), 1)
    bad = queue.recommend(tone_clip(440.0, seconds=0.2, name="blip.wav"), 1)
    results = await asyncio.gather(good, bad, return_exceptions=True)
    assert results[0].items[0].title == "440 Hz"
    assert isinstance(results[1], AudioTooShortError)
    assert "blip.wav" in str(results[1])


async def test_from_item_needs_no_model(queue: RecommendQueue) -> None:
    embedder = queue.recommender.embedder
    assert isinstance(embedder, BandEnergyEmbedder)
    result = await queue.recommend_from_item(2, 2)
    assert embedder.calls == 0
    assert len(result.items) == 2
    assert result.query is not None and result.query.title == "440 Hz"
    assert all(item.group != "video000002" for item in result.items)


async def test_steered_clips_are_served_per_steering(queue: RecommendQueue) -> None:
    embedder = queue.recommender.embedder
    assert isinstance(embedder, BandEnergyEmbedder)
    names = ("Music", "Low", "High")
    vocabulary = Vocabulary.for_audioset(
        [AudioSetClass(i, f"/m/{i}", name) for i, name in enumerate(names)]
    )
    high = LabelSteering.from_words(vocabulary, ["high"], [])

    async def ask(freq: float, steering: LabelSteering | None, k: int = 2) -> list[str]:
        result = await queue.recommend(tone_clip(freq), k, steering)
        return [str(item.title) for item in result.items]

    def high_first(titles: list[str], k: int = 2) -> list[str]:
        return [title for title in titles if float(title.split()[0]) >= 500][:k]

    everything = {freq: await ask(freq, None, len(TONES_HZ)) for freq in (110.0, 220.0)}
    embedder.calls = embedder.clips = 0
    answers = await asyncio.gather(ask(220.0, high), ask(220.0, None), ask(110.0, high))
    assert answers == [
        high_first(everything[220.0]),
        everything[220.0][:2],
        high_first(everything[110.0]),
    ]
    assert (embedder.calls, embedder.clips) == (2, 3)
    plain = await queue.recommend_from_item(0, len(TONES_HZ) - 1)
    result = await queue.recommend_from_item(0, 1, high)
    assert [item.title for item in result.items] == high_first(
        [str(item.title) for item in plain.items], 1
    )
    assert result.steering is not None and result.steering.steering is high
