"""Turning one track into its planned windows of audio, from a file or from a video.

Mental model: a track that missed the cache is cut into the windows
:func:`~musicrec_core.catalog.library.tracks.plan_windows` plans, and they wait as a
:class:`DecodedTrack` for the embedder. A file is opened once in a decode worker, whose
probe plans the windows and which reads them all from that open
(:func:`~musicrec_core.audio.track_windows.load_windows`); where no worker can run,
ffprobe plans them and one ffmpeg per window decodes them, several at once
(:func:`decode_file`). A video's windows come from a :data:`LinkFetcher`, yt-dlp by
default (:func:`fetch_with_ytdlp`), whose first call also tells the video's length
(:func:`fetch_link`). An input that gives no window raises
:class:`~musicrec_core.errors.AudioError` or :class:`~musicrec_core.errors.SourceError`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from musicrec_core.audio import AudioInfo, load_clip, probe_audio
from musicrec_core.audio.decode_workers import WorkersUnavailableError, set_default_workers
from musicrec_core.audio.track_windows import load_windows
from musicrec_core.catalog.library.owners import TrackOwner
from musicrec_core.catalog.library.tracks import plan_windows
from musicrec_core.clip import Clip
from musicrec_core.errors import AudioError
from musicrec_core.sources.youtube import YouTubeLink, fetch_youtube_clip

__all__ = [
    "DECODE_WORKERS",
    "DecodedTrack",
    "LinkFetcher",
    "decode_file",
    "fetch_link",
    "fetch_with_ytdlp",
]

logger = logging.getLogger(__name__)

DECODE_WORKERS = 4
"""Windows of one file decoded concurrently where no decode worker can run (each is its
own ffmpeg process)."""

LinkFetcher = Callable[[YouTubeLink, float | None], Clip]
"""Fetches one window of a video: (link, start in seconds or None for the default) -> Clip."""


@dataclass(frozen=True)
class DecodedTrack:
    """A track's windows decoded and waiting for the embedder."""

    key: str
    kind: str
    source: str
    title: str | None
    clips: tuple[Clip, ...]
    owner: TrackOwner = TrackOwner()


def decode_file(
    path: Path, key: str, source: str, windows: int, decoder: ThreadPoolExecutor
) -> DecodedTrack:
    """Probe the file and decode its planned windows: through one open in a decode worker,
    or with ffprobe and one ffmpeg per window (``decoder`` runs them) where none can run.

    Windows that fail to decode (a truncated file) are dropped; raises the first error
    when none decodes, and the probe's error when the file cannot be opened.
    """

    def plan(info: AudioInfo) -> tuple[float, ...]:
        return plan_windows(info.duration_s, windows)

    try:
        track = load_windows(path, plan)
        info, clips, errors = track.info, list(track.clips), list(track.errors)
    except WorkersUnavailableError as exc:
        logger.warning("decode workers unavailable (%s); using the ffmpeg programs", exc)
        set_default_workers(False)
        info = probe_audio(path)
        clips, errors = _decode_each(path, info, plan(info), decoder)
    if not clips:
        raise errors[0]
    if errors:
        logger.warning(
            "%s: %d of %d windows could not be decoded", path, len(errors), len(clips) + len(errors)
        )
    title = _title_from_tags(info) or path.stem
    return DecodedTrack(key, "file", source, title, tuple(clips), owner_of(info))


def owner_of(info: AudioInfo) -> TrackOwner:
    """A file's album and artist tags."""
    return TrackOwner(info.album, info.artist)


def _decode_each(
    path: Path, info: AudioInfo, starts: tuple[float, ...], decoder: ThreadPoolExecutor
) -> tuple[list[Clip], list[AudioError]]:
    """The windows at ``starts`` by :func:`load_clip`, in parallel: (clips, errors)."""
    futures = [decoder.submit(load_clip, path, start_s=start, info=info) for start in starts]
    clips: list[Clip] = []
    errors: list[AudioError] = []
    for future in futures:
        try:
            clips.append(future.result())
        except AudioError as exc:
            errors.append(exc)
    return clips, errors


def _title_from_tags(info: AudioInfo) -> str | None:
    if info.title and info.artist:
        return f"{info.artist} - {info.title}"
    return info.title


def fetch_link(link: YouTubeLink, key: str, windows: int, fetch_clip: LinkFetcher) -> DecodedTrack:
    """Fetch the planned windows of a video.

    The first fetch takes the source's default window and reports the video's length and
    title; the planned window nearest to it is replaced by it, the others are fetched.
    """
    first = fetch_clip(link, None)
    starts = list(plan_windows(first.provenance.source_duration_s, windows))
    nearest = min(range(len(starts)), key=lambda i: abs(starts[i] - first.provenance.start_s))
    clips = [first if i == nearest else fetch_clip(link, start) for i, start in enumerate(starts)]
    return DecodedTrack(key, "youtube", link.url, first.provenance.title, tuple(clips))


def fetch_with_ytdlp(link: YouTubeLink, start_s: float | None) -> Clip:
    """The default :data:`LinkFetcher`: one window of the video through yt-dlp."""
    return fetch_youtube_clip(link, start_s=start_s)
