"""Decode any audio ffmpeg can read into the 10-second mono 16 kHz clip the embedders take.

Two calls make up the public API::

    info = probe_audio("song.opus")          # what is in the file (ffprobe), no decoding
    clip = load_clip("song.opus")            # the 10-s window, as a Clip
    clip = load_clip("song.opus", start_s=83.0)

How a file becomes a clip
-------------------------
1. **Probe** with ffprobe (JSON): container, first audio stream, duration, title. A file
   ffprobe cannot open, or one with no audio stream (a PNG, a text file, a video without
   sound), is :class:`~musicrec_core.errors.NotAudioError`; playlist/indirection formats
   (HLS, concat, DASH) are refused the same way, so an uploaded ``.m3u8`` cannot make
   ffmpeg open other files.
2. **Decode only the window** with ffmpeg: ``-ss START -t SECONDS`` *before* ``-i`` (input
   seeking, so a 3-hour file costs what 10 s cost), first audio stream only (``-map 0:a:0``,
   video/subtitles/data never decoded), resampled to 16 kHz by ffmpeg, written as 32-bit
   float Sun AU to a pipe. After a seek, decoding starts 0.2 s early and that lead-in is
   dropped, so decoder warm-up (MP3 bit reservoir, AAC overlap) and the resampler's
   start-up transient never reach the clip. AU carries the channel count in its 24-byte
   header, so decoding does not have to wait for the probe: both run at the same time and
   a short file costs one process start-up, not two.
3. **Downmix in numpy**: the plain mean over channels, exactly the VGGish recipe
   (ffmpeg's own ``-ac 1`` weights the centre and drops LFE, and sums stereo at 0.707 each
   without normalising float data, which can leave [-1, 1]).
4. **Sanitise**: the samples returned are always finite and in [-1, 1]. Policy for
   NaN/inf (float WAV): a window with *no* finite sample is
   :class:`~musicrec_core.errors.UnreadableAudioError`; otherwise the window is decoded
   again with ffmpeg's ``aeval`` filter setting every non-finite input sample to 0 *before*
   resampling (a resampler would smear each bad sample over its filter length, about 75 ms
   with soxr), so only the bad samples themselves become silence. Finite values beyond
   +-1 are clipped. Only such files pay for the second decode.

Resampler
---------
ffmpeg's ``aresample`` filter with the SoX resampler (libsoxr) at ``precision=28`` (soxr's
"very high quality", band-limited) whenever this ffmpeg build has libsoxr, which Debian's
and Ubuntu's ffmpeg packages do (checked once per ffmpeg binary with ``ffmpeg -buildconf``);
otherwise swresample's default windowed-sinc filter. :func:`resampler_name` says which.
The VGGish reference uses resampy; the spec accepts any high-quality band-limited resampler.

Which 10 seconds (the window rule)
----------------------------------
- ``start_s`` given: the window starts there. A start at or past the end of the audio is
  :class:`~musicrec_core.errors.AudioTooShortError`; a start less than 10 s before the end
  is moved back so the window ends at the end of the audio (when the audio is at least 10 s
  long), so the clip is always as long as the source allows. ``clip.provenance.start_s``
  holds the start actually used.
- Otherwise, a source of at most ``clip_seconds + 0.5`` s (or of unknown duration) is used
  from its start: clips between :data:`MIN_CLIP_SECONDS` and 10 s are used whole.
- A longer source: four candidate windows centred at 25 %, 40 %, 55 % and 70 % of its
  duration (clamped to lie inside it) are decoded in parallel and the one with the highest
  RMS wins (the earliest on a tie; RMS over the full 10 s, so a window cut short by the
  end of a truncated file counts its missing part as silence). Intros, fade-ins and
  silent stretches lose to the body of the track, and the winner's samples *are* the
  clip: no fifth decode. When every candidate comes back empty (a truncated file whose
  header promises more than it holds), the window falls back to the start of the file.

Clips shorter than :data:`MIN_CLIP_SECONDS` (0.975 s, one VGGish example) are
:class:`~musicrec_core.errors.AudioTooShortError`.

Where pydub fits
----------------
pydub is the project's audio front, and here it is the *configuration* front: the ffmpeg
binary is ``pydub.AudioSegment.converter`` (and ffprobe sits next to it, or pydub's
``get_prober_name()``), so one setting points pydub and musicrec at the same ffmpeg. pydub
cannot do the decoding itself on untrusted input: ``AudioSegment.from_file`` seeks with
``-ss`` *after* ``-i`` (decoding a 3-hour file from its start), runs ffmpeg and ffprobe
(``mediainfo_json``) with no timeout and no output cap, reads the whole result into memory,
converts to integer PCM (hiding NaN/inf), and its fallback path writes temporary files.
So decoding and probing call ffmpeg/ffprobe directly.

Safety
------
ffmpeg and ffprobe run as subprocesses from argument lists (no shell), with stdin closed,
the input opened as ``file:<absolute path>`` under ``-protocol_whitelist file`` (no network,
no ``concat:``/``pipe:`` tricks in names), one wall-clock deadline per call shared by every
process it starts (:class:`~musicrec_core.errors.DecodeTimeoutError` when it passes; the
processes are killed), and capped output: stdout at the window's size plus 0.5 s, stderr
to its last 4 KiB. This module creates no file at all, temporary or otherwise.
A missing ffmpeg/ffprobe is :class:`~musicrec_core.errors.UnreadableAudioError` with a
message saying how to install it.

Thread safety: every function may be called from several threads at once (the bot runs
decoding in an executor).
"""

from __future__ import annotations

import logging
import math
import os
import selectors
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicrec_core.clip import CLIP_SECONDS, SAMPLE_RATE_HZ, Clip, Provenance
from musicrec_core.errors import (
    AudioTooShortError,
    DecodeTimeoutError,
    NotAudioError,
    UnreadableAudioError,
)
from musicrec_core.timecode import format_clock

__all__ = [
    "AudioInfo",
    "CANDIDATE_FRACTIONS",
    "DEFAULT_TIMEOUT_S",
    "MIN_CLIP_SAMPLES",
    "MIN_CLIP_SECONDS",
    "decode_window",
    "load_clip",
    "probe_audio",
    "resampler_name",
]

log = logging.getLogger(__name__)

MIN_CLIP_SECONDS = 0.975
"""Shortest usable clip in seconds: one VGGish example (96 frames of 10 ms + 15 ms)."""

MIN_CLIP_SAMPLES = round(MIN_CLIP_SECONDS * SAMPLE_RATE_HZ)
""":data:`MIN_CLIP_SECONDS` at 16 kHz: 15 600 samples."""

DEFAULT_TIMEOUT_S = 30.0
"""Wall-clock limit in seconds for one :func:`load_clip` / :func:`probe_audio` call."""

CANDIDATE_FRACTIONS = (0.25, 0.40, 0.55, 0.70)
"""Where the candidate windows of a long source are centred, as fractions of its duration."""

WHOLE_SOURCE_SLACK_S = 0.5
"""A source at most this much longer than the window is read from its start, not searched."""

MAX_CHANNELS = 64
"""More channels than this is refused (ffmpeg's own layouts stop at 64)."""

PREROLL_S = 0.2
"""A window after a seek is decoded from this much earlier; the lead-in is dropped."""

_OUTPUT_MARGIN_S = 0.5
"""Extra decoded seconds tolerated on stdout before ffmpeg is stopped."""

_PROBE_OUTPUT_CAP_BYTES = 1 << 20
_STDERR_KEEP_BYTES = 4096
_AU_HEADER_CAP_BYTES = 1 << 16
_AU_MAGIC = b".snd"
_AU_FLOAT32 = 6

_REFUSED_FORMATS = frozenset({"hls", "applehttp", "concat", "ffconcat", "dash", "ffmetadata"})
"""Demuxers that open other files or URLs named inside the input."""

_INSTALL_FFMPEG = (
    "is not installed or not on PATH. Install ffmpeg (it includes ffprobe), "
    "e.g. `sudo apt-get install ffmpeg` on Debian/Ubuntu."
)


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
        artist: the container's artist tag, if any.
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


# --------------------------------------------------------------------------------------
# Public API


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
    file = _checked_path(path, name)
    budget = _Budget(timeout_s, name or file.name)
    return _probe(file, budget, _binaries()[1])


def load_clip(
    path: str | os.PathLike[str],
    *,
    start_s: float | None = None,
    clip_seconds: float = CLIP_SECONDS,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    info: AudioInfo | None = None,
    kind: str = "file",
    ref: str | None = None,
    title: str | None = None,
    channel: str | None = None,
) -> Clip:
    """Decode the chosen window of ``path`` into a mono float32 16 kHz :class:`Clip`.

    Args:
        path: a local file in any format ffmpeg reads (wav, mp3, ogg/opus, m4a/aac, flac,
            webm, mp4 with an audio track, ...).
        start_s: where the window starts, in seconds from the start of the source; None
            picks the window by the rule in the module docstring (loudest of four
            candidates for a long source). Must be finite and >= 0.
        clip_seconds: window length in seconds (10 for every embedder).
        timeout_s: wall-clock limit in seconds for the whole call (probe and decodes).
        info: the result of :func:`probe_audio` on this file, when the caller has it
            already (saves one ffprobe run).
        kind, ref, title, channel: provenance. ``ref`` defaults to the file's base name and
            is the name used in error messages; ``title`` defaults to the title tag.

    Returns:
        A Clip whose samples are float32 [n] at 16 kHz, finite, in [-1, 1], with
        ``MIN_CLIP_SAMPLES <= n <= round(clip_seconds * 16000)``; its provenance records the
        start actually used, the clip's duration and the source's duration.

    Raises:
        NotAudioError, AudioTooShortError, UnreadableAudioError, DecodeTimeoutError: see the
            module docstring. ValueError: ``start_s`` negative or not finite, or
            ``clip_seconds`` shorter than :data:`MIN_CLIP_SECONDS`.
    """
    if start_s is not None and not (math.isfinite(start_s) and start_s >= 0):
        raise ValueError(f"start_s must be a finite number of seconds >= 0, got {start_s!r}")
    if not (math.isfinite(clip_seconds) and clip_seconds >= MIN_CLIP_SECONDS):
        raise ValueError(f"clip_seconds must be >= {MIN_CLIP_SECONDS}, got {clip_seconds!r}")
    file = _checked_path(path, ref)
    display = ref or file.name
    budget = _Budget(timeout_s, display)
    ffmpeg, ffprobe = _binaries()
    resampler = _resampler_for(ffmpeg, budget)

    def decode(
        start: float, cancel: threading.Event | None = None, sanitize: bool = False
    ) -> _Decoded:
        return _decode(ffmpeg, resampler, file, start, clip_seconds, budget, cancel, sanitize)

    with ThreadPoolExecutor(max_workers=len(CANDIDATE_FRACTIONS)) as pool:
        speculative: Future[_Decoded] | None = None
        cancel_speculative = threading.Event()
        try:
            if info is None:
                # Decode the most likely window while ffprobe runs: for a short file (the common
                # case for attachments) it is the answer, and the two process start-ups overlap.
                speculative = pool.submit(decode, start_s or 0.0, cancel_speculative)
                info = _probe(file, budget, ffprobe)
            duration = info.duration_s

            if start_s is not None:
                start = start_s
                if duration is not None:
                    if start >= duration:
                        raise AudioTooShortError(
                            f"The start time {format_clock(start, tenths=True)} is past the end "
                            f"of {display}, which is {format_clock(duration, tenths=True)} long."
                        )
                    if start + clip_seconds > duration:
                        start = max(0.0, duration - clip_seconds)
                result = _reuse_or_decode(speculative, start_s, start, decode, cancel_speculative)
                if start > 0 and result.samples.size == 0 and not result.failed:
                    at = format_clock(start, tenths=True)
                    raise AudioTooShortError(
                        f"Nothing could be decoded after {at} in {display}: "
                        "the audio ends before that."
                    )
            elif duration is None or duration <= clip_seconds + WHOLE_SOURCE_SLACK_S:
                start = 0.0
                result = _reuse_or_decode(speculative, 0.0, 0.0, decode, cancel_speculative)
            else:
                cancel_speculative.set()
                start, result = _loudest_window(pool, decode, duration, clip_seconds)
        finally:
            cancel_speculative.set()  # stop it on every path that did not use it

    if result.samples.size and not np.isfinite(result.samples).all():
        if not np.isfinite(result.samples).any():
            raise _all_non_finite(display)
        result = decode(start, sanitize=True)
    samples = _finish(result, display)
    return Clip(
        samples=samples,
        provenance=Provenance(
            kind=kind,
            ref=display,
            title=title if title is not None else info.title,
            channel=channel,
            start_s=start,
            duration_s=samples.shape[0] / SAMPLE_RATE_HZ,
            source_duration_s=duration,
        ),
    )


def decode_window(
    path: str | os.PathLike[str],
    start_s: float,
    duration_s: float,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    name: str | None = None,
) -> np.ndarray:
    """Decode ``duration_s`` seconds from ``start_s`` as mono float32 16 kHz, no window rule.

    The building block of :func:`load_clip` (same ffmpeg command, caps and sanitising),
    for callers that want an exact span, e.g. a benchmark decoding a whole file. Returns
    float32 [n] with n <= round(duration_s * 16000), possibly shorter (even empty) when the
    audio ends first; no minimum length is enforced.

    Raises:
        UnreadableAudioError: ffmpeg failed and produced nothing, every sample was
            non-finite, or ffmpeg is missing.
        DecodeTimeoutError: past ``timeout_s``.
    """
    if not (math.isfinite(start_s) and start_s >= 0 and math.isfinite(duration_s)):
        raise ValueError("start_s and duration_s must be finite, start_s >= 0")
    file = _checked_path(path, name)
    display = name or file.name
    budget = _Budget(timeout_s, display)
    ffmpeg = _binaries()[0]
    resampler = _resampler_for(ffmpeg, budget)
    result = _decode(ffmpeg, resampler, file, start_s, duration_s, budget, None)
    if result.failed and result.samples.size == 0:
        raise _unreadable(display, result.log_tail)
    if result.samples.size and not np.isfinite(result.samples).all():
        if not np.isfinite(result.samples).any():
            raise _all_non_finite(display)
        result = _decode(ffmpeg, resampler, file, start_s, duration_s, budget, None, True)
    return _sanitized(result.samples, display)


def resampler_name() -> str:
    """The resampler decoding uses with the current ffmpeg: "soxr" or "swr"."""
    return _resampler_for(_binaries()[0])


# --------------------------------------------------------------------------------------
# Window choice


@dataclass(frozen=True)
class _Decoded:
    """Raw result of one ffmpeg window decode (mono, not yet sanitised)."""

    samples: np.ndarray
    failed: bool
    """ffmpeg exited non-zero, or printed errors and produced nothing."""
    log_tail: str


def _reuse_or_decode(
    speculative: Future[_Decoded] | None,
    speculative_start: float,
    start: float,
    decode: Callable[[float], _Decoded],
    cancel_speculative: threading.Event,
) -> _Decoded:
    if speculative is not None and speculative_start == start:
        return speculative.result()
    cancel_speculative.set()
    return decode(start)


def _candidate_starts(duration_s: float, clip_seconds: float) -> list[float]:
    """Starts of the candidate windows of a source longer than the window, earliest first."""
    latest = duration_s - clip_seconds
    starts = {
        math.floor(min(max(f * duration_s - clip_seconds / 2, 0.0), latest) * 1000) / 1000
        for f in CANDIDATE_FRACTIONS
    }
    return sorted(starts)


def _loudest_window(
    pool: ThreadPoolExecutor,
    decode: Callable[[float], _Decoded],
    duration_s: float,
    clip_seconds: float,
) -> tuple[float, _Decoded]:
    """Decode every candidate in parallel and keep the one with the highest RMS."""
    starts = _candidate_starts(duration_s, clip_seconds)
    wanted = round(clip_seconds * SAMPLE_RATE_HZ)
    futures = [pool.submit(decode, start) for start in starts]
    best: tuple[float, float, _Decoded] | None = None
    first_error: BaseException | None = None
    for start, future in zip(starts, futures, strict=True):
        try:
            result = future.result()
        except DecodeTimeoutError:
            raise
        except UnreadableAudioError as exc:  # a corrupt stretch: let the others decide
            first_error = first_error or exc
            continue
        if result.samples.size < MIN_CLIP_SAMPLES:
            continue
        # RMS over the nominal window, of the samples as they will be returned: missing
        # samples (the file ended early) and non-finite ones count as silence.
        clean = np.clip(np.nan_to_num(result.samples, nan=0.0, posinf=0.0, neginf=0.0), -1, 1)
        rms = math.sqrt(float(np.sum(np.square(clean, dtype=np.float64))) / wanted)
        if best is None or rms > best[0]:
            best = (rms, start, result)
    if best is not None:
        return best[1], best[2]
    if first_error is not None:
        raise first_error
    # Every candidate was empty or short: the header overstated the duration.
    log.info("no candidate window decoded; falling back to the start of the file")
    return 0.0, decode(0.0)


def _finish(result: _Decoded, display: str) -> np.ndarray:
    """Turn a window decode into clip samples, or the right error."""
    samples = result.samples
    if samples.size < MIN_CLIP_SAMPLES:
        if result.failed:
            raise _unreadable(display, result.log_tail)
        raise AudioTooShortError(
            f"{display} holds only {samples.size / SAMPLE_RATE_HZ:.2f} s of audio; "
            f"at least {MIN_CLIP_SECONDS} s is needed."
        )
    return _sanitized(samples, display)


def _sanitized(samples: np.ndarray, display: str) -> np.ndarray:
    """Zero any non-finite sample left and clip to [-1, 1]; all non-finite is unreadable."""
    finite = np.isfinite(samples)
    if not finite.all():
        if samples.size and not finite.any():
            raise _all_non_finite(display)
        log.warning("%s: %d non-finite samples set to 0", display, int((~finite).sum()))
        samples = np.where(finite, samples, np.float32(0.0))
    return np.ascontiguousarray(np.clip(samples, -1.0, 1.0), dtype=np.float32)


def _all_non_finite(display: str) -> UnreadableAudioError:
    return UnreadableAudioError(
        f"{display} holds no valid samples (every value is NaN or infinite)."
    )


def _unreadable(display: str, log_tail: str) -> UnreadableAudioError:
    if log_tail:
        log.info("ffmpeg could not decode %s: %s", display, log_tail.strip()[-500:])
    return UnreadableAudioError(
        f"ffmpeg could not decode the audio in {display}; the file may be corrupt or truncated."
    )


# --------------------------------------------------------------------------------------
# ffprobe


def _probe(file: Path, budget: _Budget, ffprobe: str) -> AudioInfo:
    display = budget.display
    size = file.stat().st_size
    if size == 0:
        raise NotAudioError(f"{display} is empty.")
    args = [
        ffprobe, "-v", "error", "-hide_banner",
        "-protocol_whitelist", "file",
        "-print_format", "json",
        "-show_entries",
        "format=format_name,duration:format_tags=title,artist"
        ":stream=index,codec_type,codec_name,sample_rate,channels,duration"
        ":stream_disposition=attached_pic",
        _file_url(file),
    ]  # fmt: skip
    run = _run(args, budget, _PROBE_OUTPUT_CAP_BYTES, None)
    if run.truncated:
        raise UnreadableAudioError(f"{display} describes too many streams to be read safely.")
    import json

    try:
        report = json.loads(run.stdout.decode("utf-8", errors="replace") or "{}")
    except ValueError:
        report = {}
    fmt = report.get("format") if isinstance(report, dict) else None
    if run.returncode != 0 or not isinstance(fmt, dict):
        log.info("ffprobe refused %s: %s", display, run.log_tail.strip()[-500:])
        raise NotAudioError(f"{display} is not an audio or video file that ffmpeg can read.")
    format_name = str(fmt.get("format_name") or "")
    if set(format_name.split(",")) & _REFUSED_FORMATS:
        raise NotAudioError(f"{display} is a playlist or index file ({format_name}), not audio.")
    streams = [s for s in report.get("streams") or [] if isinstance(s, dict)]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if not audio:
        raise NotAudioError(f"{display} has no audio track.")
    stream = audio[0]
    has_video = any(
        s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
        for s in streams
    )
    tags = fmt.get("tags") or {}
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


def _tag(tags: object, key: str) -> str | None:
    if not isinstance(tags, dict):
        return None
    for name, value in tags.items():
        if str(name).lower() == key and str(value).strip():
            return str(value).strip()[:300]
    return None


# --------------------------------------------------------------------------------------
# ffmpeg


def _decode(
    ffmpeg: str,
    resampler: str,
    file: Path,
    start_s: float,
    duration_s: float,
    budget: _Budget,
    cancel: threading.Event | None,
    sanitize: bool = False,
) -> _Decoded:
    """Decode one window to mono float32 16 kHz (not yet sanitised).

    ``sanitize`` zeroes non-finite input samples inside ffmpeg before resampling (slow:
    an expression per sample, so used only when a first decode met NaN/inf).
    """
    wanted = round(duration_s * SAMPLE_RATE_HZ)
    # Start up to PREROLL_S early and drop that lead-in: decoder warm-up after a seek
    # (MP3 bit reservoir, AAC overlap) and the resampler's start-up transient fall in it.
    preroll = min(start_s, PREROLL_S)
    skip = round(preroll * SAMPLE_RATE_HZ)
    total = skip + wanted
    seek_at = start_s - preroll
    seek = ["-ss", f"{seek_at:.6f}"] if seek_at > 0 else []
    zero_bad = "aeval=exprs='if(isnan(val(ch))+isinf(val(ch)),0,val(ch))':c=same,"
    cleanup = zero_bad if sanitize else ""
    if resampler == "soxr":
        resample = f"aresample={SAMPLE_RATE_HZ}:resampler=soxr:precision=28"
    else:
        resample = f"aresample={SAMPLE_RATE_HZ}:resampler=swr"
    args = [
        ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-loglevel", "error",
        "-protocol_whitelist", "file",
        *seek, "-t", f"{duration_s + preroll:.6f}", "-i", _file_url(file),
        "-map", "0:a:0", "-vn", "-sn", "-dn",
        "-map_metadata", "-1", "-fflags", "+bitexact",
        "-af", f"{cleanup}{resample},aformat=sample_fmts=flt",
        "-c:a", "pcm_f32be", "-f", "au", "pipe:1",
    ]  # fmt: skip

    def stdout_cap(head: bytes) -> int | None:
        """Bytes to accept once the AU header is in: the window plus a margin."""
        header = _parse_au_header(head)
        if header is None:
            return None
        offset, channels = header
        frames = total + round(_OUTPUT_MARGIN_S * SAMPLE_RATE_HZ)
        return offset + frames * channels * 4

    run = _run(args, budget, _AU_HEADER_CAP_BYTES, stdout_cap, cancel)
    samples = np.zeros(0, dtype=np.float32)
    header = _parse_au_header(run.stdout)
    if header is not None:
        offset, channels = header
        body = run.stdout[offset:]
        frames = min(len(body) // (4 * channels), total)
        if frames > skip:
            interleaved = np.frombuffer(body, dtype=">f4", count=frames * channels)
            # Mean over channels (float64 accumulation), as the VGGish recipe does.
            mono = interleaved.reshape(frames, channels)[skip:].mean(axis=1, dtype=np.float64)
            samples = mono.astype(np.float32)
    elif len(run.stdout) >= 24 and not run.truncated:
        log.warning("ffmpeg wrote an unexpected header: %r", run.stdout[:24])
    failed = (run.returncode != 0 and not run.truncated) or (
        samples.size == 0 and bool(run.log_tail.strip())
    )
    return _Decoded(samples=samples, failed=failed, log_tail=run.log_tail)


def _parse_au_header(data: bytes) -> tuple[int, int] | None:
    """(data offset, channels) of a Sun AU float32 header, or None if not complete yet."""
    if len(data) < 24:
        return None
    if data[:4] != _AU_MAGIC:
        raise UnreadableAudioError("ffmpeg produced output musicrec does not understand.")
    offset, _size, encoding, _rate, channels = (
        int.from_bytes(data[i : i + 4], "big") for i in range(4, 24, 4)
    )
    if encoding != _AU_FLOAT32 or not 24 <= offset <= _AU_HEADER_CAP_BYTES:
        raise UnreadableAudioError("ffmpeg produced output musicrec does not understand.")
    if not 1 <= channels <= MAX_CHANNELS:
        raise UnreadableAudioError(
            f"The audio has {channels} channels; musicrec reads at most {MAX_CHANNELS}."
        )
    return offset, channels


@dataclass(frozen=True)
class _Run:
    returncode: int
    stdout: bytes
    log_tail: str
    truncated: bool
    """stdout reached its cap and the process was stopped (the output is complete enough)."""


class _Budget:
    """One deadline shared by every process a call starts."""

    def __init__(self, timeout_s: float, display: str) -> None:
        if not (math.isfinite(timeout_s) and timeout_s > 0):
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.display = display

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def expired(self) -> DecodeTimeoutError:
        return DecodeTimeoutError(
            f"Reading {self.display} took longer than {self.timeout_s:g} s and was stopped."
        )


def _run(
    args: list[str],
    budget: _Budget,
    max_stdout: int,
    stdout_cap: Callable[[bytes], int | None] | None,
    cancel: threading.Event | None = None,
) -> _Run:
    """Run a command with a deadline, capped stdout and the tail of stderr.

    ``max_stdout`` bounds stdout until ``stdout_cap(stdout_so_far)`` returns a number, which
    then replaces it. Reaching the cap stops the process (``truncated=True``). Passing the
    deadline kills it and raises DecodeTimeoutError; ``cancel`` being set kills it and
    returns what was read.
    """
    if budget.remaining() <= 0:
        raise budget.expired()
    try:
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except FileNotFoundError as exc:
        raise UnreadableAudioError(f"{os.path.basename(args[0])} {_INSTALL_FFMPEG}") from exc
    except OSError as exc:
        raise UnreadableAudioError(f"Could not run {args[0]}: {exc.strerror}.") from exc
    out = bytearray()
    err = bytearray()
    cap = max_stdout
    capped = False
    truncated = False
    timed_out = False
    assert proc.stdout is not None and proc.stderr is not None
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ, "out")
            selector.register(proc.stderr, selectors.EVENT_READ, "err")
            while selector.get_map():
                remaining = budget.remaining()
                if remaining <= 0:
                    timed_out = True
                    break
                if cancel is not None:
                    if cancel.is_set():
                        break
                    remaining = min(remaining, 0.05)
                for key, _ in selector.select(timeout=remaining):
                    chunk = os.read(key.fd, 1 << 16)
                    if not chunk:
                        selector.unregister(key.fileobj)
                    elif key.data == "err":
                        err += chunk
                        if len(err) > 2 * _STDERR_KEEP_BYTES:
                            del err[:-_STDERR_KEEP_BYTES]
                    else:
                        out += chunk
                        if stdout_cap is not None and not capped:
                            limit = stdout_cap(bytes(out[:_AU_HEADER_CAP_BYTES]))
                            if limit is not None:
                                cap, capped = limit, True
                        if len(out) >= cap:
                            del out[cap:]
                            truncated = True
                if truncated:
                    break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    if timed_out:
        raise budget.expired()
    return _Run(
        returncode=proc.returncode,
        stdout=bytes(out),
        log_tail=err[-_STDERR_KEEP_BYTES:].decode("utf-8", errors="replace"),
        truncated=truncated,
    )


def _binaries() -> tuple[str, str]:
    """Paths of ffmpeg and ffprobe, located through pydub's configuration."""
    converter = "ffmpeg"
    prober = "ffprobe"
    try:
        from pydub import AudioSegment
        from pydub.utils import get_prober_name

        converter = str(AudioSegment.converter or "ffmpeg")
        prober = get_prober_name()
    except Exception:  # pydub missing or broken (e.g. no audioop on Python 3.13)
        log.debug("pydub unavailable; looking for ffmpeg on PATH", exc_info=True)
    if os.path.basename(converter).startswith("avconv"):
        converter = "ffmpeg"  # pydub prefers libav's avconv when present; we need ffmpeg
    if os.path.basename(prober).startswith("avprobe"):
        prober = "ffprobe"
    folder = os.path.dirname(converter)
    if folder:  # an explicit ffmpeg location: take the ffprobe next to it
        prober = os.path.join(folder, "ffprobe" + (".exe" if converter.endswith(".exe") else ""))
    ffmpeg = shutil.which(converter)
    if ffmpeg is None:
        raise UnreadableAudioError(f"ffmpeg ({converter}) {_INSTALL_FFMPEG}")
    ffprobe = shutil.which(prober)
    if ffprobe is None:
        raise UnreadableAudioError(f"ffprobe ({prober}) {_INSTALL_FFMPEG}")
    return ffmpeg, ffprobe


_resamplers: dict[str, str] = {}
_resamplers_lock = threading.Lock()


def _resampler_for(ffmpeg: str, budget: _Budget | None = None) -> str:
    """Say "soxr" when this ffmpeg was built with libsoxr, else "swr" (cached per binary).

    The check runs ``ffmpeg -buildconf`` once per binary, within the caller's deadline
    (a timed-out check raises DecodeTimeoutError and is not cached).
    """
    with _resamplers_lock:
        known = _resamplers.get(ffmpeg)
    if known is not None:
        return known
    run = _run(
        [ffmpeg, "-hide_banner", "-buildconf"], budget or _Budget(10, "ffmpeg"), 1 << 16, None
    )
    found = "soxr" if "--enable-libsoxr" in run.stdout.decode("utf-8", "replace") else "swr"
    with _resamplers_lock:
        _resamplers[ffmpeg] = found
    return found


def _checked_path(path: str | os.PathLike[str], name: str | None) -> Path:
    file = Path(os.path.abspath(os.fspath(path)))
    display = name or file.name
    if not file.exists():
        raise UnreadableAudioError(f"{display} does not exist.")
    if not file.is_file():
        raise UnreadableAudioError(f"{display} is not a regular file.")
    if not os.access(file, os.R_OK):
        raise UnreadableAudioError(f"{display} cannot be read (permission denied).")
    return file


def _file_url(file: Path) -> str:
    """The path as ffmpeg's file protocol URL, so no name is read as another protocol."""
    return "file:" + str(file)
