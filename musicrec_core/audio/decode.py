"""Decode the chosen window of a file into the 10-second mono 16 kHz clip the embedders take.

:func:`load_clip` is the whole path from a file to a :class:`~musicrec_core.clip.Clip`,
through one of two decoders that give the same clip (``tests/core/audio/test_paths.py``):

- **A decode worker** (:mod:`musicrec_core.audio.decode_workers`), wherever PyAV and soxr
  are installed: one long-lived process opens the file once, and that open serves the
  probe, the first window and, by seeking, every candidate window.
- **The ffmpeg programs** otherwise (or after ``set_default_workers(False)``): ffprobe and,
  at the same time, ffmpeg decoding the most likely window (:mod:`.ffmpeg_window`); a
  short file costs one process start-up, not two.

The steps, the same on both paths:

1. **Probe** (:mod:`musicrec_core.audio.probe`): refuse non-audio, playlists, lists of
   files, images and more than :data:`MAX_CHANNELS` channels (every channel costs a
   decoder, so the cap bounds what one upload can cost).
2. **Choose the window** by :mod:`musicrec_core.audio.window`'s rule. For a long source
   without a start, the candidate windows are decoded and the loudest one's samples *are*
   the clip: no fifth decode. On the ffmpeg path they run side by side, ``max_decoders``
   at a time, :data:`CANDIDATE_NICENESS` levels below the first look at any file, so that
   short requests never wait behind a long file's extra windows; in a worker they are read
   one after another from one demuxer. A ``background`` call runs in the idle CPU class.
   When every candidate comes back empty (a truncated file whose header promises more than
   it holds), the window falls back to the start of the file.
3. **Decode only the window** (:mod:`.window_samples`): from 0.2 s before it (the lead-in,
   dropped), seeking on the input so a 3-hour file costs what 10 s cost, first audio
   stream only, resampled to 16 kHz.
4. **Downmix**: the plain mean over channels, exactly the VGGish recipe (ffmpeg's own
   ``-ac 1`` weights the centre and drops LFE, and sums stereo at 0.707 each without
   normalising float data, which can leave [-1, 1]).
5. **Sanitise**: the samples returned are always finite and in [-1, 1]. Policy for NaN/inf
   (float WAV): a window with *no* finite sample is
   :class:`~musicrec_core.errors.UnreadableAudioError`; otherwise the window is decoded
   again with every non-finite input sample set to 0 *before* resampling (a resampler
   would smear each bad sample over its filter length, about 75 ms with soxr), so only the
   bad samples themselves become silence. Finite values beyond +-1 are clipped. Only such
   files pay for the second decode.

Every process runs under :mod:`musicrec_core.audio.process`'s limits (the workers keep
the same ones); this module creates no file at all, temporary or otherwise. Thread
safety: :func:`load_clip` may be called from several threads at once (callers run
decoding in an executor).
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicrec_core.audio.decode_workers import (
    Session,
    WorkersUnavailableError,
    default_workers,
    set_default_workers,
)
from musicrec_core.audio.ffmpeg_window import decode_window
from musicrec_core.audio.probe import MAX_CHANNELS, AudioInfo, probe, too_many_channels
from musicrec_core.audio.process import (
    DEFAULT_TIMEOUT_S,
    Budget,
    checked_path,
    find_binaries,
    resampler_for,
)
from musicrec_core.audio.window import (
    CANDIDATE_FRACTIONS,
    MIN_CLIP_SAMPLES,
    MIN_CLIP_SECONDS,
    candidate_starts,
    fit_start,
    read_from_start,
    window_rms,
)
from musicrec_core.audio.window_samples import PREROLL_S, Decoded, WindowRead, downmix
from musicrec_core.child_process import ChildPriority
from musicrec_core.clip import CLIP_SECONDS, SAMPLE_RATE_HZ, Clip, Provenance
from musicrec_core.errors import AudioTooShortError, DecodeTimeoutError, UnreadableAudioError
from musicrec_core.timecode import format_clock

__all__ = [
    "CANDIDATE_NICENESS",
    "MAX_CHANNELS",
    "PREROLL_S",
    "WindowRequest",
    "load_clip",
    "window_from_worker",
]

log = logging.getLogger(__name__)

CANDIDATE_NICENESS = 5
"""Nice levels by which a long file's candidate-window decodes run below other decodes
(ffmpeg path)."""


def load_clip(
    path: str | os.PathLike[str],
    *,
    start_s: float | None = None,
    clip_seconds: float = CLIP_SECONDS,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    info: AudioInfo | None = None,
    max_decoders: int = len(CANDIDATE_FRACTIONS),
    background: bool = False,
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
            picks the window by :mod:`musicrec_core.audio.window`'s rule (loudest of four
            candidates for a long source). Must be finite and >= 0.
        clip_seconds: window length in seconds (10 for every embedder).
        timeout_s: wall-clock limit in seconds for the whole call (probe and decodes).
        info: the result of :func:`~musicrec_core.audio.probe_audio` on this file, when the
            caller has it already (saves one ffprobe run; a worker probes in the same open
            anyway, and then uses this one's duration and channels).
        max_decoders: ffmpeg processes run at once (ffprobe aside), on the ffmpeg path. The
            default decodes a long file's candidate windows side by side, fastest on an idle
            machine; 1 keeps a call to about one core, for a server that runs calls side by
            side. A decode worker reads the windows one after another, by seeking.
        background: run this call's decoding in the idle scheduling class
            (:class:`~musicrec_core.child_process.ChildPriority`), for costly calls on a
            shared machine (the bot's large uploads). Otherwise, on the ffmpeg path, the
            candidate windows run :data:`CANDIDATE_NICENESS` levels below the first look.
        kind, ref, title, channel: provenance. ``ref`` defaults to the file's base name and
            is the name used in error messages; ``title`` defaults to the title tag.

    Returns:
        A Clip whose samples are float32 [n] at 16 kHz, finite, in [-1, 1], with
        ``MIN_CLIP_SAMPLES <= n <= round(clip_seconds * 16000)``; its provenance records the
        start actually used, the clip's duration and the source's duration.

    Raises:
        NotAudioError, AudioTooShortError, UnreadableAudioError, DecodeTimeoutError: see the
            module docstrings. ValueError: ``start_s`` negative or not finite, or
            ``clip_seconds`` shorter than :data:`MIN_CLIP_SECONDS`, or ``max_decoders`` < 1.
    """
    if start_s is not None and not (math.isfinite(start_s) and start_s >= 0):
        raise ValueError(f"start_s must be a finite number of seconds >= 0, got {start_s!r}")
    if not (math.isfinite(clip_seconds) and clip_seconds >= MIN_CLIP_SECONDS):
        raise ValueError(f"clip_seconds must be >= {MIN_CLIP_SECONDS}, got {clip_seconds!r}")
    if max_decoders < 1:
        raise ValueError(f"max_decoders must be >= 1, got {max_decoders!r}")
    file = checked_path(path, ref)
    display = ref or file.name
    budget = Budget(timeout_s, display)
    request = WindowRequest(start_s, clip_seconds, display)
    workers = default_workers()
    if workers is not None:
        try:
            with workers.session(file, budget, background=background) as session:
                return window_from_worker(session, info or session.info, request).clip(
                    kind, title, channel
                )
        except WorkersUnavailableError as exc:
            log.warning("decode workers unavailable (%s); using the ffmpeg programs", exc)
            set_default_workers(False)
    return _from_ffmpeg(file, budget, info, request, max_decoders, background).clip(
        kind, title, channel
    )


@dataclass(frozen=True)
class WindowRequest:
    """What a caller asked for: the start (None: by the window rule), the window length
    (seconds) and the file's name in messages."""

    start_s: float | None
    clip_seconds: float
    display: str


@dataclass(frozen=True)
class ChosenWindow:
    """The window chosen and its samples, ready to become a Clip."""

    info: AudioInfo
    start: float
    samples: np.ndarray
    request: WindowRequest

    def clip(self, kind: str, title: str | None, channel: str | None) -> Clip:
        return Clip(
            samples=self.samples,
            provenance=Provenance(
                kind=kind,
                ref=self.request.display,
                title=title if title is not None else self.info.title,
                channel=channel,
                start_s=self.start,
                duration_s=self.samples.shape[0] / SAMPLE_RATE_HZ,
                source_duration_s=self.info.duration_s,
            ),
        )


def window_from_worker(session: Session, info: AudioInfo, request: WindowRequest) -> ChosenWindow:
    """Choose and decode the window in a worker's open file (``info``: its probe): the
    window rule, the decode and the sanitising of :func:`load_clip`, so a session may serve
    several requests (:func:`musicrec_core.audio.track_windows.load_windows`).

    Raises:
        AudioTooShortError, UnreadableAudioError, DecodeTimeoutError: as :func:`load_clip`.
    """

    def decode(start: float, sanitize: bool = False) -> Decoded:
        read = WindowRead.of(start, request.clip_seconds)
        window = session.decode(
            read.seek_s, read.read_s, sanitize=sanitize, cap_frames=read.cap,
            max_channels=MAX_CHANNELS,
        )  # fmt: skip
        return Decoded(downmix(window.samples, read), window.failed, window.log_tail)

    start, result = _choose(info, request, decode, decode, _run_now, None, threading.Event())
    return _finished(info, start, result, decode, request)


def _from_ffmpeg(
    file: Path,
    budget: Budget,
    info: AudioInfo | None,
    request: WindowRequest,
    max_decoders: int,
    background: bool,
) -> ChosenWindow:
    """Choose and decode the window with ffprobe and one ffmpeg per window."""
    ffmpeg, ffprobe = find_binaries()
    first_look = ChildPriority(background=background)
    later = ChildPriority(later_by=CANDIDATE_NICENESS, background=background)

    def decode(
        start: float,
        sanitize: bool = False,
        cancel: threading.Event | None = None,
        priority: ChildPriority = first_look,
    ) -> Decoded:
        # Asked here, not before the probe: the first call in a process runs
        # `ffmpeg -buildconf` (a process start-up), which then overlaps ffprobe.
        resampler = resampler_for(ffmpeg, budget)
        read = WindowRead.of(start, request.clip_seconds)
        return decode_window(
            ffmpeg, resampler, file, read, budget, max_channels=MAX_CHANNELS,
            cancel=cancel, sanitize=sanitize, priority=priority,
        )  # fmt: skip

    def candidate(start: float) -> Decoded:
        return decode(start, priority=later)

    with ThreadPoolExecutor(max_workers=max_decoders) as pool:
        speculative: Future[Decoded] | None = None
        cancel_speculative = threading.Event()
        try:
            if info is None:
                # Decode the most likely window while ffprobe runs: for a short file (the common
                # case for attachments) it is the answer, and the two process start-ups overlap.
                first = request.start_s or 0.0
                speculative = pool.submit(decode, first, False, cancel_speculative)
                info = probe(file, budget, ffprobe, first_look)
            start, result = _choose(
                info, request, decode, candidate, pool.submit, speculative, cancel_speculative
            )
        finally:
            cancel_speculative.set()  # stop it on every path that did not use it
    return _finished(info, start, result, decode, request)


def _choose(
    info: AudioInfo,
    request: WindowRequest,
    decode: Callable[[float], Decoded],
    candidate: Callable[[float], Decoded],
    submit: Callable[..., Future[Decoded]],
    speculative: Future[Decoded] | None,
    cancel_speculative: threading.Event,
) -> tuple[float, Decoded]:
    """The window rule applied: (start used, its raw decode)."""
    display, clip_seconds = request.display, request.clip_seconds
    if info.channels is not None and info.channels > MAX_CHANNELS:
        raise too_many_channels(display, info.channels)
    duration = info.duration_s
    if request.start_s is not None:
        start = fit_start(request.start_s, duration, clip_seconds, source=display)
        result = _reuse_or_decode(speculative, request.start_s, start, decode, cancel_speculative)
        if start > 0 and result.samples.size == 0 and not result.failed:
            at = format_clock(start, tenths=True)
            raise AudioTooShortError(
                f"Nothing could be decoded after {at} in {display}: the audio ends before that."
            )
        return start, result
    if read_from_start(duration, clip_seconds):
        return 0.0, _reuse_or_decode(speculative, 0.0, 0.0, decode, cancel_speculative)
    assert duration is not None  # read_from_start says so
    starts = candidate_starts(duration, clip_seconds)
    if starts[0] != 0.0:
        cancel_speculative.set()
    return _loudest_window(submit, candidate, starts, clip_seconds, speculative)


def _finished(
    info: AudioInfo,
    start: float,
    result: Decoded,
    decode: Callable[..., Decoded],
    request: WindowRequest,
) -> ChosenWindow:
    """Sanitise the chosen window (decoding it again without its NaN/inf when it has any)."""
    if result.samples.size and not np.isfinite(result.samples).all():
        if not np.isfinite(result.samples).any():
            raise _all_non_finite(request.display)
        result = decode(start, sanitize=True)
    return ChosenWindow(info, start, _finish(result, request.display), request)


def _run_now(function: Callable[..., Decoded], *args: object) -> Future[Decoded]:
    """``function(*args)`` run here and now, as a finished Future (the worker path's windows
    are read one after another from one demuxer)."""
    future: Future[Decoded] = Future()
    try:
        future.set_result(function(*args))
    except Exception as exc:  # handed to the Future's reader, as an executor would
        future.set_exception(exc)
    return future


def _reuse_or_decode(
    speculative: Future[Decoded] | None,
    speculative_start: float,
    start: float,
    decode: Callable[[float], Decoded],
    cancel_speculative: threading.Event,
) -> Decoded:
    if speculative is not None and speculative_start == start:
        return speculative.result()
    cancel_speculative.set()
    return decode(start)


def _loudest_window(
    submit: Callable[..., Future[Decoded]],
    decode: Callable[[float], Decoded],
    starts: list[float],
    clip_seconds: float,
    from_start: Future[Decoded] | None,
) -> tuple[float, Decoded]:
    """Decode every candidate in parallel and keep the one with the highest RMS.

    ``from_start`` is the speculative decode from 0, when one runs: a source a little
    longer than the window (at most twice its length) has a candidate at 0, whose decode it is
    (same arguments, so the same samples), and no process is started for that one.
    """
    futures = [
        from_start if start == 0.0 and from_start is not None else submit(decode, start)
        for start in starts
    ]
    best: tuple[float, float, Decoded] | None = None
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
        rms = window_rms(result.samples, clip_seconds)
        if best is None or rms > best[0]:
            best = (rms, start, result)
    if best is not None:
        return best[1], best[2]
    if first_error is not None:
        raise first_error
    # Every candidate was empty or short: the header overstated the duration.
    log.info("no candidate window decoded; falling back to the start of the file")
    return 0.0, decode(0.0)


def _finish(result: Decoded, display: str) -> np.ndarray:
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
