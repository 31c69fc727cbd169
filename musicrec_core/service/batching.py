"""The request queue between Discord and the model: tickets and micro-batching.

Its one caller is :class:`~.service.RecommendService`. Mental model: every request first
takes a ticket (:meth:`RecommendQueue.admit`). At most ``queue_size`` tickets exist; one
more is refused at once with :class:`BusyError`, which tells the user how many seconds to
wait. A ticket holder fetches and decodes its input elsewhere (the service's fair worker
pools, :mod:`.scheduler`), then hands the clip to :meth:`RecommendQueue.recommend`.
One worker task gathers clips: after the first arrives it waits ``batch_window_s`` for more
(or until ``max_batch``), then embeds them all with ONE ``Recommender.recommend_many`` call
on a dedicated model thread. While that call runs, new clips pile up and form the next
batch, so under load batches grow by themselves. Each member has at most a few requests
in flight (:mod:`.admission`), so no member can fill a batch alone. A steered request
(``more:``/``less:`` words) is embedded with the clips that share its steering: a batch is
served in one call per distinct steering (one call when none is steered).

Nothing here blocks the event loop: the model and index look-ups run in threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from musicrec_core.clip import Clip
from musicrec_core.errors import MusicrecError
from musicrec_core.recommender import RecommendationSet, Recommender
from musicrec_core.steering import Steering

log = logging.getLogger(__name__)

_EMA_WEIGHT = 0.3
"""Weight of the newest batch in the moving average of batch durations."""


class BusyError(MusicrecError):
    """Every ticket is taken; ``retry_after_s`` estimates when one frees up."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"musicrec is busy right now: try again in {retry_after_s} s.")
        self.retry_after_s = retry_after_s


@dataclass
class _Pending:
    clip: Clip
    k: int
    future: asyncio.Future[RecommendationSet]
    steering: Steering | None = None
    exclude: frozenset[str] = frozenset()


@dataclass(frozen=True)
class QueueStats:
    """A snapshot for /musicrec status.

    Attributes:
        admitted: tickets held now (decoding, waiting for the model or being embedded).
        capacity: the most tickets at once (``queue_size``).
        waiting: clips decoded and waiting for the model.
        batches: model calls made since start.
        clips: clips embedded since start.
        largest_batch: the most clips embedded in one call.
        mean_batch_s: moving average of one model call, in seconds.
    """

    admitted: int
    capacity: int
    waiting: int
    batches: int
    clips: int
    largest_batch: int
    mean_batch_s: float


class RecommendQueue:
    """Bounded admission + micro-batching worker around one Recommender.

    Args:
        recommender: the shared recommender (its model is only called from one thread).
        queue_size: tickets available at once.
        batch_window_s: how long to wait for more clips after the first, in seconds.
        max_batch: most clips per model call.
    """

    def __init__(
        self,
        recommender: Recommender,
        *,
        queue_size: int,
        batch_window_s: float,
        max_batch: int,
    ) -> None:
        self.recommender = recommender
        self._capacity = queue_size
        self._window_s = batch_window_s
        self._max_batch = max_batch
        self._admitted = 0
        self._pending: asyncio.Queue[_Pending] = asyncio.Queue()
        self._model_pool = ThreadPoolExecutor(1, thread_name_prefix="musicrec-model")
        self._worker: asyncio.Task[None] | None = None
        self._batches = 0
        self._clips = 0
        self._largest = 0
        self._mean_batch_s = 1.0

    # Life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the batching worker on the running loop."""
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(
                self._run(), name="musicrec-batcher"
            )

    async def close(self) -> None:
        """Stop the worker, fail whatever still waits, and shut the model thread down."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        while not self._pending.empty():
            pending = self._pending.get_nowait()
            if not pending.future.done():
                pending.future.set_exception(MusicrecError("musicrec is shutting down."))
        self._model_pool.shutdown(wait=False, cancel_futures=True)

    # Admission --------------------------------------------------------------------------

    @contextlib.contextmanager
    def admit(self) -> Iterator[None]:
        """Hold one ticket for the body of the ``with`` block.

        Raises:
            BusyError: at once, when all ``queue_size`` tickets are taken.
        """
        if self._admitted >= self._capacity:
            raise BusyError(self.retry_after_s())
        self._admitted += 1
        try:
            yield
        finally:
            self._admitted -= 1

    def retry_after_s(self) -> int:
        """Seconds until the tickets held now are likely served (at least 1)."""
        batches_ahead = math.ceil(self._admitted / self._max_batch)
        return max(1, math.ceil(batches_ahead * self._mean_batch_s))

    def stats(self) -> QueueStats:
        """Counters for status displays."""
        return QueueStats(
            admitted=self._admitted,
            capacity=self._capacity,
            waiting=self._pending.qsize(),
            batches=self._batches,
            clips=self._clips,
            largest_batch=self._largest,
            mean_batch_s=self._mean_batch_s,
        )

    # Work -------------------------------------------------------------------------------

    async def recommend(
        self,
        clip: Clip,
        k: int,
        steering: Steering | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> RecommendationSet:
        """Recommendations for ``clip`` (steered by ``steering``, if any; none of the groups
        in ``exclude``), embedded together with clips arriving alongside."""
        future: asyncio.Future[RecommendationSet] = asyncio.get_running_loop().create_future()
        self._pending.put_nowait(_Pending(clip, k, future, steering, exclude))
        return await future

    async def recommend_from_item(
        self,
        item_id: int,
        k: int,
        steering: Steering | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> RecommendationSet:
        """Re-query from a stored catalog vector (no model call, so no batching needed)."""
        return await asyncio.to_thread(
            functools.partial(
                self.recommender.recommend_from_item, steering=steering, exclude_groups=exclude
            ),
            item_id,
            k,
        )

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._pending.get()]
            deadline = loop.time() + self._window_s
            while len(batch) < self._max_batch:
                if not self._pending.empty():
                    batch.append(self._pending.get_nowait())
                    continue
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._pending.get(), remaining))
                except TimeoutError:
                    break
            live = [pending for pending in batch if not pending.future.done()]
            alike: dict[tuple[Steering | None, frozenset[str]], list[_Pending]] = {}
            for pending in live:
                alike.setdefault((pending.steering, pending.exclude), []).append(pending)
            for same_query_rules in alike.values():
                await self._serve(same_query_rules)

    async def _serve(self, batch: list[_Pending]) -> None:
        """Embed ``batch`` (one steering, one exclusion) in one model call; on a per-clip
        error, serve clips one by one."""
        loop = asyncio.get_running_loop()
        k = max(pending.k for pending in batch)
        clips = [pending.clip for pending in batch]
        steer = functools.partial(
            self.recommender.recommend_many,
            steering=batch[0].steering,
            exclude_groups=batch[0].exclude,
        )
        began = time.perf_counter()
        try:
            results = await loop.run_in_executor(self._model_pool, steer, clips, k)
        except MusicrecError:
            # One bad clip must not fail its neighbours: retry each alone.
            for pending in batch:
                await self._serve_one(pending)
            return
        except Exception as exc:
            log.exception("batch of %d clips failed", len(batch))
            for pending in batch:
                _settle(pending.future, error=exc)
            return
        self._record(len(batch), time.perf_counter() - began)
        for pending, result in zip(batch, results, strict=True):
            _settle(pending.future, result=_first(result, pending.k))

    async def _serve_one(self, pending: _Pending) -> None:
        loop = asyncio.get_running_loop()
        began = time.perf_counter()
        try:
            steer = functools.partial(
                self.recommender.recommend,
                steering=pending.steering,
                exclude_groups=pending.exclude,
            )
            result = await loop.run_in_executor(self._model_pool, steer, pending.clip, pending.k)
        except Exception as exc:
            _settle(pending.future, error=exc)
        else:
            self._record(1, time.perf_counter() - began)
            _settle(pending.future, result=result)

    def _record(self, size: int, seconds: float) -> None:
        self._batches += 1
        self._clips += size
        self._largest = max(self._largest, size)
        self._mean_batch_s += _EMA_WEIGHT * (seconds - self._mean_batch_s)
        log.debug("embedded a batch of %d clips in %.3f s", size, seconds)


def _first(result: RecommendationSet, k: int) -> RecommendationSet:
    """``result`` with only its first ``k`` recommendations."""
    return dataclasses.replace(result, items=result.items[:k])


def _settle(
    future: asyncio.Future[RecommendationSet],
    *,
    result: RecommendationSet | None = None,
    error: BaseException | None = None,
) -> None:
    """Complete ``future`` unless its requester has gone (cancelled)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    elif result is not None:
        future.set_result(result)
