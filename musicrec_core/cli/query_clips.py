"""The clips of the files or links a command was given, decoded (or fetched) side by side,
each in its own ffmpeg process; each source's clip or the reason it could not be read."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from musicrec_core.clip import Clip
from musicrec_core.errors import MusicrecError

MAX_PARALLEL_DECODES = 4
"""Most queries decoded at once (each is one ffmpeg process, or one YouTube fetch)."""


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
