"""The clips of the files or links a command was given, each source's clip or the reason it
could not be read; links fetched side by side, files decoded side by side (under
:func:`one_decode_worker`: queued for its one long-lived decode worker)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from musicrec_core.audio.decode_workers import default_workers, set_default_workers
from musicrec_core.clip import Clip
from musicrec_core.errors import MusicrecError

MAX_PARALLEL_DECODES = 4
"""Most queries read at once (each is one ffmpeg process, or one YouTube fetch)."""


@contextlib.contextmanager
def one_decode_worker() -> Iterator[None]:
    """While in the block, the process decodes through one worker, started now in a thread
    so its start-up overlaps the index's and the model's loading; stopped (and reaped) at
    the end. A worker's start-up (about 0.15 CPU-s) costs more than reading a 3-minute
    file's four windows (about 0.10 CPU-s), so a command's queries queue for the one worker
    rather than start one each. Without PyAV (or with workers switched off) it does nothing.
    """
    if default_workers() is None:
        yield
        return
    set_default_workers(True, max_workers=1)
    pool = default_workers()
    if pool is not None:
        threading.Thread(target=pool.prestart, daemon=True).start()
    try:
        yield
    finally:
        set_default_workers(True)  # closes the bounded pool: its idle worker is stopped


def load_each(sources: Sequence[str], start_s: float | None) -> list[Clip | MusicrecError]:
    """For each source in order, its clip, or the error that says why it cannot be read."""
    from musicrec_core.sources import clip_from_source

    def load(source: str) -> Clip | MusicrecError:
        try:
            return clip_from_source(source, start_s=start_s)
        except MusicrecError as error:
            return error

    if len(sources) == 1:
        return [load(sources[0])]
    workers = min(len(sources), os.cpu_count() or 1, MAX_PARALLEL_DECODES)
    with ThreadPoolExecutor(max_workers=workers) as decoders:
        return list(decoders.map(load, sources))
