"""Decode the chosen window of a file into the 10-second mono 16 kHz clip the embedders take.

:func:`load_clip` is the whole path from a file to a :class:`~musicrec_core.clip.Clip`:

1. **Probe** (:mod:`musicrec_core.audio.probe`) and, at the same time, decode the most
   likely window (from the start, or from the requested start): AU output carries the
   channel count in its 24-byte header, so decoding does not have to wait for the probe, and
   a short file costs one process start-up, not two.
2. **Choose the window** by :mod:`musicrec_core.audio.window`'s rule. For a long source
   without a start, the candidate windows are decoded (side by side, ``max_decoders`` at
   a time, :data:`CANDIDATE_NICENESS` levels below the first look at any file, so that
   short requests never wait behind a long file's extra windows; a ``background`` call
   runs all its processes in the idle CPU class instead) and the loudest one's
   samples *are* the clip: no fifth decode. A source of at most twice the window (20 s)
   has a candidate at 0, and the speculative decode of step 1 is that candidate's decode.
   When every candidate comes back empty (a truncated file whose header promises more than
   it holds), the window falls back to the start of the file.
3. **Decode only the window** with ffmpeg: ``-ss START -t SECONDS`` *before* ``-i`` (input
   seeking, so a 3-hour file costs what 10 s cost), first audio stream only (``-map 0:a:0``,
   video/subtitles/data never decoded), resampled to 16 kHz by ffmpeg, written as 32-bit
   float Sun AU to a pipe, capped at the window's size plus 0.5 s. After a seek, decoding
   starts 0.2 s early and that lead-in is dropped, so decoder warm-up (MP3 bit reservoir,
   AAC overlap) and the resampler's start-up transient never reach the clip.
4. **Downmix**: the plain mean over channels, exactly the VGGish recipe (ffmpeg's own
   ``-ac 1`` weights the centre and drops LFE, and sums stereo at 0.707 each without
   normalising float data, which can leave [-1, 1]): ffmpeg sends every channel and numpy
   takes the mean (at most 5.5 MB of output per window). A file with more than
   :data:`MAX_CHANNELS` is refused as soon as the probe, or the speculative decode's
   output header, shows the count: every channel costs a decoder, so the cap bounds what
   one upload can cost (a 64-channel Opus window costs about a CPU-second).
5. **Sanitise**: the samples returned are always finite and in [-1, 1]. Policy for NaN/inf
   (float WAV): a window with *no* finite sample is
   :class:`~musicrec_core.errors.UnreadableAudioError`; otherwise the window is decoded
   again with ffmpeg's ``aeval`` filter setting every non-finite input sample to 0 *before*
   resampling (a resampler would smear each bad sample over its filter length, about 75 ms
   with soxr), so only the bad samples themselves become silence. Finite values beyond
   +-1 are clipped. Only such files pay for the second decode.

Every process runs under :mod:`musicrec_core.audio.process`'s limits; this module creates
no file at all, temporary or otherwise. Thread safety: :func:`load_clip` may be called from
several threads at once (callers run decoding in an executor).
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

from musicrec_core.audio.probe import AudioInfo, probe
from musicrec_core.audio.process import (
    DEFAULT_TIMEOUT_S,
    Budget,
    checked_path,
    find_binaries,
    input_args,
    resampler_for,
    run_process,
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
from musicrec_core.child_process import NORMAL_PRIORITY, ChildPriority
from musicrec_core.clip import CLIP_SECONDS, SAMPLE_RATE_HZ, Clip, Provenance
from musicrec_core.errors import AudioTooShortError, DecodeTimeoutError, UnreadableAudioError
from musicrec_core.timecode import format_clock

__all__ = ["CANDIDATE_NICENESS", "MAX_CHANNELS", "PREROLL_S", "load_clip"]

log = logging.getLogger(__name__)

MAX_CHANNELS = 8
"""More channels than this (7.1 surround) is refused: music people share has at most 8,
and each channel is one more decoder to run."""

CANDIDATE_NICENESS = 5
"""Nice levels by which a long file's candidate-window decodes run below other decodes."""

PREROLL_S = 0.2
"""A window after a seek is decoded from this much earlier; the lead-in is dropped."""

_OUTPUT_MARGIN_S = 0.5
"""Extra decoded seconds tolerated on stdout before ffmpeg is stopped."""

_AU_HEADER_CAP_BYTES = 1 << 16
_AU_MAGIC = b".snd"
_AU_FLOAT32 = 6


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
            caller has it already (saves one ffprobe run).
        max_decoders: ffmpeg processes run at once (ffprobe aside). The default decodes a
            long file's candidate windows side by side, fastest on an idle machine; 1
            keeps a call to about one core, for a server that runs calls side by side
            (the bot's decode workers), so one member's long many-channel file cannot
            take the CPU another member's short clip needs.
        background: run every process of this call (ffprobe, each decode) in the idle
            scheduling class (:class:`~musicrec_core.child_process.ChildPriority`), for
            costly calls on a shared machine (the bot's large uploads). Otherwise the
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
    file = checked_path(path, ref)
    display = ref or file.name
    budget = Budget(timeout_s, display)
    ffmpeg, ffprobe = find_binaries()

    first_look = ChildPriority(background=background)
    later = ChildPriority(later_by=CANDIDATE_NICENESS, background=background)

    def decode(
        start: float,
        cancel: threading.Event | None = None,
        sanitize: bool = False,
        priority: ChildPriority = first_look,
    ) -> _Decoded:
        # Asked here, not before the probe: the first call in a process runs
        # `ffmpeg -buildconf` (a process start-up), which then overlaps ffprobe.
        resampler = resampler_for(ffmpeg, budget)
        return _decode(
            ffmpeg, resampler, file, start, clip_seconds, budget, cancel, sanitize, priority
        )

    def candidate(start: float) -> _Decoded:
        return decode(start, priority=later)

    if max_decoders < 1:
        raise ValueError(f"max_decoders must be >= 1, got {max_decoders!r}")
    with ThreadPoolExecutor(max_workers=max_decoders) as pool:
        speculative: Future[_Decoded] | None = None
        cancel_speculative = threading.Event()
        try:
            if info is None:
                # Decode the most likely window while ffprobe runs: for a short file (the common
                # case for attachments) it is the answer, and the two process start-ups overlap.
                speculative = pool.submit(decode, start_s or 0.0, cancel_speculative)
                info = probe(file, budget, ffprobe, first_look)
            if info.channels is not None and info.channels > MAX_CHANNELS:
                raise _too_many_channels(display, info.channels)
            duration = info.duration_s

            if start_s is not None:
                start = fit_start(start_s, duration, clip_seconds, source=display)
                result = _reuse_or_decode(speculative, start_s, start, decode, cancel_speculative)
                if start > 0 and result.samples.size == 0 and not result.failed:
                    at = format_clock(start, tenths=True)
                    raise AudioTooShortError(
                        f"Nothing could be decoded after {at} in {display}: "
                        "the audio ends before that."
                    )
            elif read_from_start(duration, clip_seconds):
                start = 0.0
                result = _reuse_or_decode(speculative, 0.0, 0.0, decode, cancel_speculative)
            else:
                assert duration is not None  # read_from_start says so
                starts = candidate_starts(duration, clip_seconds)
                if starts[0] != 0.0:
                    cancel_speculative.set()
                start, result = _loudest_window(pool, candidate, starts, clip_seconds, speculative)
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


def _loudest_window(
    pool: ThreadPoolExecutor,
    decode: Callable[[float], _Decoded],
    starts: list[float],
    clip_seconds: float,
    from_start: Future[_Decoded] | None,
) -> tuple[float, _Decoded]:
    """Decode every candidate in parallel and keep the one with the highest RMS.

    ``from_start`` is the speculative decode from 0, when one runs: a source a little
    longer than the window (at most twice its length) has a candidate at 0, whose decode it is
    (same arguments, so the same samples), and no process is started for that one.
    """
    futures = [
        from_start if start == 0.0 and from_start is not None else pool.submit(decode, start)
        for start in starts
    ]
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


def _decode(
    ffmpeg: str,
    resampler: str,
    file: Path,
    start_s: float,
    duration_s: float,
    budget: Budget,
    cancel: threading.Event | None,
    sanitize: bool = False,
    priority: ChildPriority = NORMAL_PRIORITY,
) -> _Decoded:
    """Decode one window to mono float32 16 kHz (not yet sanitised).

    ``sanitize`` zeroes non-finite input samples inside ffmpeg before resampling (slow:
    an expression per sample, so used only when a first decode met NaN/inf).

    Raises:
        UnreadableAudioError: the output header shows more than :data:`MAX_CHANNELS`
            channels (ffmpeg is stopped there), or output musicrec does not understand.
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
        *seek, "-t", f"{duration_s + preroll:.6f}", *input_args(file),
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
        if channels > MAX_CHANNELS:
            raise _too_many_channels(budget.display, channels)
        frames = total + round(_OUTPUT_MARGIN_S * SAMPLE_RATE_HZ)
        return offset + frames * channels * 4

    run = run_process(args, budget, _AU_HEADER_CAP_BYTES, stdout_cap, cancel, priority)
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
    bad_header = encoding != _AU_FLOAT32 or not 24 <= offset <= _AU_HEADER_CAP_BYTES
    if bad_header or channels < 1:
        raise UnreadableAudioError("ffmpeg produced output musicrec does not understand.")
    return offset, channels


def _too_many_channels(display: str, channels: int) -> UnreadableAudioError:
    return UnreadableAudioError(
        f"{display} has {channels} audio channels; musicrec reads up to {MAX_CHANNELS} "
        "(7.1 surround). Mix it down to stereo and try again."
    )
