"""What a track needs before the embedder, made while the embedder works on earlier tracks.

Mental model: the build embeds on its own thread (one onnxruntime or numpy call at a time,
each on :func:`~musicrec_core.blas_threads.compute_threads` threads) while one helper
thread prepares the next tracks (:class:`Prefetch`): decoding their windows (in a decode
worker process, or ffmpeg / yt-dlp children), their phone views and their landmarks
(numpy, which lets go of the interpreter lock in its FFTs and reductions). On a 2-core
machine the network alone leaves part of the second core idle; this work fills it instead
of waiting between batches.

Bounds: at most :data:`PREFETCH_TRACKS` tracks are waiting or being prepared, so memory
stays bounded (a 30-window track holds about 38 MB of samples, views included), and
results are taken in input order, so skips, counts and the index are those of a build
that prepared each track in turn.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from musicrec_core.catalog.library.decode import DecodedTrack
from musicrec_core.catalog.library.landmarks import track_landmarks
from musicrec_core.catalog.library.views import phone_view, view_seed
from musicrec_core.clip import Clip
from musicrec_core.fingerprint.landmarks import Landmarks

__all__ = ["PREFETCH_TRACKS", "Prefetch", "PreparedTrack", "prepare"]

PREFETCH_TRACKS = 2
"""Tracks prepared ahead of the embedder at most (waiting or in the making)."""

T = TypeVar("T")


@dataclass(frozen=True)
class PreparedTrack:
    """A decoded track and what the build derives from its windows.

    Attributes:
        decoded: the windows (clips of 16-kHz mono samples).
        views: each window's phone view (:func:`phone_views`), or () when the track's
            embedding is cached already.
        landmarks: the windows' landmarks, or None when landmarks are not built.
    """

    decoded: DecodedTrack
    views: tuple[Clip, ...]
    landmarks: Landmarks | None


def prepare(decode: Callable[[], DecodedTrack], *, views: bool, landmarks: bool) -> PreparedTrack:
    """``decode()`` the track, then its phone views and landmarks where asked for.

    Raises:
        what ``decode`` raises (AudioError, SourceError for a track to skip).
    """
    decoded = decode()
    return PreparedTrack(
        decoded,
        phone_views(decoded) if views else (),
        track_landmarks(decoded.clips) if landmarks else None,
    )


def phone_views(track: DecodedTrack) -> tuple[Clip, ...]:
    """The phone view of each window of ``track``, in the windows' order."""
    return tuple(
        Clip(phone_view(clip.samples, view_seed(track.key, i)), clip.provenance)
        for i, clip in enumerate(track.clips)
    )


class Prefetch(Generic[T]):
    """Calls run on one helper thread, at most ``depth`` ahead of the caller, whose
    results come back in the order they were submitted.

    ``submit`` hands back the earliest calls (with their context) once more than
    ``depth`` are waiting; ``drain`` hands back every one. Leaving the ``with`` block
    cancels the calls not started and waits for the running one.
    """

    def __init__(self, depth: int = PREFETCH_TRACKS) -> None:
        self.depth = depth
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="musicrec-prepare")
        self._waiting: deque[tuple[T, Future[PreparedTrack]]] = deque()

    def __enter__(self) -> Prefetch[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(
        self, context: T, call: Callable[[], PreparedTrack]
    ) -> list[tuple[T, Future[PreparedTrack]]]:
        """Start ``call``; the calls now due (earliest first), each with its context."""
        self._waiting.append((context, self._pool.submit(call)))
        due = []
        while len(self._waiting) > self.depth:
            due.append(self._waiting.popleft())
        return due

    def drain(self) -> list[tuple[T, Future[PreparedTrack]]]:
        """Every call still waiting, earliest first."""
        due = list(self._waiting)
        self._waiting.clear()
        return due
