"""Many windows of one file through one open: the windows a library build reads of a track.

:func:`~musicrec_core.audio.load_clip` reads one window per call. A library track is read
at up to 30 places; through ``load_clip`` that was an ffprobe process for the plan and then,
per window, a decode worker's open and probe of the file. :func:`load_windows` hands the
file to one decode worker once: the worker's probe (an
:class:`~musicrec_core.audio.AudioInfo` with the same fields ffprobe gives, tags included)
decides the starts through the caller's ``plan``, and every window is read from that
descriptor by :func:`~musicrec_core.audio.decode.window_from_worker`, the very code that
serves ``load_clip`` with that start, so each clip is the one ``load_clip`` would give
(bit for bit: ``tests/core/audio/test_track_windows.py``).

Limits: those of a decode worker (:mod:`musicrec_core.audio.decode_workers`); the open and
each window get their own ``timeout_s``, as each ``load_clip`` call did. Failures: an
open that fails raises (NotAudioError, UnreadableAudioError, DecodeTimeoutError); a window
that fails is kept in :attr:`TrackWindows.errors` and the next one is read. A worker that
dies or misses a deadline is replaced, and the file's remaining windows fail with that
error. Where no worker can run it raises
:class:`~musicrec_core.audio.decode_workers.WorkersUnavailableError`: the caller reads the
windows with ``load_clip`` (ffprobe and ffmpeg processes).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from musicrec_core.audio.decode import WindowRequest, window_from_worker
from musicrec_core.audio.decode_workers import WorkersUnavailableError, default_workers
from musicrec_core.audio.probe import AudioInfo
from musicrec_core.audio.process import DEFAULT_TIMEOUT_S, Budget, checked_path
from musicrec_core.clip import CLIP_SECONDS, Clip
from musicrec_core.errors import AudioError

__all__ = ["TrackWindows", "load_windows"]


@dataclass(frozen=True)
class TrackWindows:
    """A file's probe and the windows read from it.

    Attributes:
        info: the worker's probe of the file.
        clips: the windows that decoded, in the plan's order (each a 16-kHz mono Clip of
            kind "file" whose provenance gives its start).
        errors: why each other window could not be read, in the plan's order.
    """

    info: AudioInfo
    clips: tuple[Clip, ...]
    errors: tuple[AudioError, ...]


def load_windows(
    path: str | os.PathLike[str],
    plan: Callable[[AudioInfo], Sequence[float]],
    *,
    clip_seconds: float = CLIP_SECONDS,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    background: bool = False,
) -> TrackWindows:
    """Open ``path`` once in a decode worker and read the windows ``plan(info)`` starts at.

    Args:
        path: a local file (any format :func:`~musicrec_core.audio.load_clip` reads).
        plan: the window starts, in seconds from the source's start, given the probe.
        clip_seconds: window length in seconds.
        timeout_s: wall-clock limit in seconds of the open, and of each window.
        background: run the worker in the idle CPU class.

    Raises:
        NotAudioError, UnreadableAudioError, DecodeTimeoutError: the file cannot be opened.
        WorkersUnavailableError: PyAV or soxr is missing, the workers are switched off, or
            none could start.
    """
    workers = default_workers()
    if workers is None:
        raise WorkersUnavailableError("the decode workers are off or PyAV is not installed")
    file = checked_path(path, None)
    budget = Budget(timeout_s, file.name)
    clips: list[Clip] = []
    errors: list[AudioError] = []
    with workers.session(file, budget, background=background) as session:
        for start in plan(session.info):
            budget.restart()
            request = WindowRequest(start, clip_seconds, file.name)
            try:
                chosen = window_from_worker(session, session.info, request)
            except AudioError as exc:
                errors.append(exc)
                continue
            clips.append(chosen.clip("file", None, None))
    return TrackWindows(session.info, tuple(clips), tuple(errors))
