"""What is in a file, asked of ffprobe without decoding it.

ffprobe reports (as JSON) the container, its first audio stream, the duration and the title,
artist and album tags (the container's, else the audio stream's: Ogg and Opus keep them
there); :func:`probe_audio` turns that into an :class:`AudioInfo`. The content
decides, never the name or extension. A file ffprobe cannot open, or one with no audio
stream (a PNG, a text file, a video without sound), is
:class:`~musicrec_core.errors.NotAudioError`. So is any container outside
:data:`~musicrec_core.audio.process.ALLOWED_FORMATS`: ffprobe itself refuses a playlist
(HLS, DASH), a list of files (concat) or an image before its demuxer opens anything, so an
uploaded ``.m3u8`` or ffconcat list cannot make ffmpeg open the files it names. ffprobe
runs under :mod:`musicrec_core.audio.process`'s limits, with its output capped at 1 MiB.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

from musicrec_core.audio.process import (
    DEFAULT_TIMEOUT_S,
    Budget,
    checked_path,
    find_binaries,
    input_args,
    run_process,
)
from musicrec_core.child_process import NORMAL_PRIORITY, ChildPriority
from musicrec_core.errors import NotAudioError, UnreadableAudioError

__all__ = [
    "MAX_CHANNELS",
    "AudioInfo",
    "info_from_fields",
    "probe",
    "probe_audio",
    "too_many_channels",
]

log = logging.getLogger(__name__)

_PROBE_OUTPUT_CAP_BYTES = 1 << 20

MAX_CHANNELS = 8
"""More channels than this (7.1 surround) is refused: music people share has at most 8,
and each channel is one more decoder to run."""

_NOT_ALLOWED = "not on whitelist"
"""What ffmpeg's log says when the container is outside the format whitelist."""


@dataclass(frozen=True)
class AudioInfo:
    """What ffprobe found in a file: the container and its first audio stream.

    Attributes:
        path: the file probed.
        format_name: ffprobe's container name(s), e.g. "mp3", "ogg",
            "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm".
        duration_s: length of the source in seconds, or None when the container does not
            say (a header can overstate it: truncated files keep their original duration).
        codec_name: codec of the first audio stream, e.g. "mp3", "opus", "aac", "pcm_f32le".
        sample_rate_hz: its sample rate, or None when unknown.
        channels: its channel count, or None when unknown.
        stream_index: its index among all the file's streams.
        has_video: True when the file also has a real video stream (cover art does not count).
        title: the container's title tag, if any.
        artist: the artist tag (the container's, else the audio stream's), if any.
        album: the album tag, likewise.
        size_bytes: file size in bytes.
    """

    path: Path
    format_name: str
    duration_s: float | None
    codec_name: str
    sample_rate_hz: int | None
    channels: int | None
    stream_index: int
    has_video: bool
    title: str | None
    artist: str | None
    size_bytes: int
    album: str | None = None


def probe_audio(
    path: str | os.PathLike[str],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    name: str | None = None,
) -> AudioInfo:
    """Identify the audio in ``path`` with ffprobe, without decoding it.

    Args:
        path: a local file. Its name and extension are ignored: the content decides.
        timeout_s: wall-clock limit in seconds.
        name: how to call the file in error messages (default: its base name; pass the
            attachment name so messages never show server paths).

    Returns:
        An :class:`AudioInfo` for the first audio stream.

    Raises:
        NotAudioError: empty, not a media file, a playlist format, or no audio stream.
        UnreadableAudioError: the file cannot be opened, or ffprobe is missing.
        DecodeTimeoutError: ffprobe ran past ``timeout_s``.
    """
    file = checked_path(path, name)
    budget = Budget(timeout_s, name or file.name)
    return probe(file, budget, find_binaries()[1])


def probe(
    file: Path, budget: Budget, ffprobe: str, priority: ChildPriority = NORMAL_PRIORITY
) -> AudioInfo:
    """:func:`probe_audio` on a checked absolute path, within a caller's budget, with
    ffprobe at ``priority``.

    Messages name the file ``budget.display``.
    """
    display = budget.display
    size = file.stat().st_size
    if size == 0:
        raise NotAudioError(f"{display} is empty.")
    args = [
        ffprobe, "-v", "error", "-hide_banner",
        "-print_format", "json",
        "-show_entries",
        "format=format_name,duration:format_tags=title,artist,album"
        ":stream=index,codec_type,codec_name,sample_rate,channels,duration"
        ":stream_tags=title,artist,album"
        ":stream_disposition=attached_pic",
        *input_args(file),
    ]  # fmt: skip
    run = run_process(args, budget, _PROBE_OUTPUT_CAP_BYTES, None, priority=priority)
    if run.truncated:
        raise UnreadableAudioError(f"{display} describes too many streams to be read safely.")
    try:
        report = json.loads(run.stdout.decode("utf-8", errors="replace") or "{}")
    except ValueError:
        report = {}
    fmt = report.get("format") if isinstance(report, dict) else None
    if run.returncode != 0 or not isinstance(fmt, dict):
        log.info("ffprobe refused %s: %s", display, run.log_tail.strip()[-500:])
        if _NOT_ALLOWED in run.log_tail:
            raise NotAudioError(
                f"{display} is not an audio or video file (playlists, lists of files and "
                "images are not accepted)."
            )
        raise NotAudioError(f"{display} is not an audio or video file that ffmpeg can read.")
    format_name = str(fmt.get("format_name") or "")
    streams = [s for s in report.get("streams") or [] if isinstance(s, dict)]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if not audio:
        raise NotAudioError(f"{display} has no audio track.")
    stream = audio[0]
    has_video = any(
        s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
        for s in streams
    )
    tags = {**_lowered(stream.get("tags")), **_lowered(fmt.get("tags"))}
    duration = _positive_float(fmt.get("duration"))
    if duration is None:
        duration = _positive_float(stream.get("duration"))
    return AudioInfo(
        path=file,
        format_name=format_name,
        duration_s=duration,
        codec_name=str(stream.get("codec_name") or "unknown"),
        sample_rate_hz=_positive_int(stream.get("sample_rate")),
        channels=_positive_int(stream.get("channels")),
        stream_index=_positive_int(stream.get("index")) or 0,
        has_video=has_video,
        title=_tag(tags, "title"),
        artist=_tag(tags, "artist"),
        size_bytes=size,
        album=_tag(tags, "album"),
    )


def info_from_fields(file: Path, fields: dict[str, object]) -> AudioInfo:
    """An :class:`AudioInfo` for ``file`` from a decode worker's probe report: the fields
    of AudioInfo (bar ``path``, ``title``, ``artist`` and ``album``) and ``tags``, the container's
    tags; values are checked as ffprobe's are."""
    return AudioInfo(
        path=file,
        format_name=str(fields.get("format_name") or ""),
        duration_s=_positive_float(fields.get("duration_s")),
        codec_name=str(fields.get("codec_name") or "unknown"),
        sample_rate_hz=_positive_int(fields.get("sample_rate_hz")),
        channels=_positive_int(fields.get("channels")),
        stream_index=_positive_int(fields.get("stream_index")) or 0,
        has_video=bool(fields.get("has_video")),
        title=_tag(fields.get("tags"), "title"),
        artist=_tag(fields.get("tags"), "artist"),
        size_bytes=_positive_int(fields.get("size_bytes")) or 0,
        album=_tag(fields.get("tags"), "album"),
    )


def too_many_channels(display: str, channels: int) -> UnreadableAudioError:
    """The refusal of a file with more than :data:`MAX_CHANNELS` channels."""
    return UnreadableAudioError(
        f"{display} has {channels} audio channels; musicrec reads up to {MAX_CHANNELS} "
        "(7.1 surround). Mix it down to stereo and try again."
    )


def _positive_float(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _positive_int(value: object) -> int | None:
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _lowered(tags: object) -> dict[str, object]:
    """A tag table with its names in lower case ({} for anything but a table)."""
    return (
        {str(name).lower(): value for name, value in tags.items()} if isinstance(tags, dict) else {}
    )


def _tag(tags: object, key: str) -> str | None:
    if not isinstance(tags, dict):
        return None
    for name, value in tags.items():
        if str(name).lower() == key and str(value).strip():
            return str(value).strip()[:300]
    return None
