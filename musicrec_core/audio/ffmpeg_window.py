"""Decode one window of a file with an ffmpeg process: the path where PyAV is unavailable.

``-ss START -t SECONDS`` *before* ``-i`` (input seeking, so a 3-hour file costs what 10 s
cost), first audio stream only (``-map 0:a:0``; video, subtitles and data never decoded),
resampled to 16 kHz by ffmpeg (:func:`~musicrec_core.audio.process.resampler_for`),
written as 32-bit float Sun AU to a pipe, capped at the window's size plus 0.5 s. AU
output carries the channel count in its 24-byte header, so more than ``max_channels``
stops ffmpeg as soon as the header arrives. ``sanitize`` runs ffmpeg's ``aeval`` filter
to set every non-finite input sample to 0 *before* resampling.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from musicrec_core.audio.probe import too_many_channels
from musicrec_core.audio.process import Budget, input_args, run_process
from musicrec_core.audio.window_samples import Decoded, WindowRead, downmix
from musicrec_core.child_process import NORMAL_PRIORITY, ChildPriority
from musicrec_core.clip import SAMPLE_RATE_HZ
from musicrec_core.errors import UnreadableAudioError

__all__ = ["decode_window"]

log = logging.getLogger(__name__)

_AU_HEADER_CAP_BYTES = 1 << 16
_AU_MAGIC = b".snd"
_AU_FLOAT32 = 6
_ZERO_BAD = "aeval=exprs='if(isnan(val(ch))+isinf(val(ch)),0,val(ch))':c=same,"


def decode_window(
    ffmpeg: str,
    resampler: str,
    file: Path,
    read: WindowRead,
    budget: Budget,
    *,
    max_channels: int,
    cancel: threading.Event | None = None,
    sanitize: bool = False,
    priority: ChildPriority = NORMAL_PRIORITY,
) -> Decoded:
    """Decode ``read`` of ``file`` to mono float32 16 kHz (not yet sanitised).

    Raises:
        UnreadableAudioError: the output header shows more than ``max_channels`` channels
            (ffmpeg is stopped there), or output musicrec does not understand.
    """
    seek = ["-ss", f"{read.seek_s:.6f}"] if read.seek_s > 0 else []
    cleanup = _ZERO_BAD if sanitize else ""
    if resampler == "soxr":
        resample = f"aresample={SAMPLE_RATE_HZ}:resampler=soxr:precision=28"
    else:
        resample = f"aresample={SAMPLE_RATE_HZ}:resampler=swr"
    args = [
        ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-loglevel", "error",
        *seek, "-t", f"{read.read_s:.6f}", *input_args(file),
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
        if channels > max_channels:
            raise too_many_channels(budget.display, channels)
        return offset + read.cap * channels * 4

    run = run_process(args, budget, _AU_HEADER_CAP_BYTES, stdout_cap, cancel, priority)
    samples = np.zeros(0, dtype=np.float32)
    header = _parse_au_header(run.stdout)
    if header is not None:
        offset, channels = header
        body = run.stdout[offset:]
        frames = min(len(body) // (4 * channels), read.total)
        interleaved = np.frombuffer(body, dtype=">f4", count=frames * channels)
        samples = downmix(interleaved.reshape(frames, channels), read)
    elif len(run.stdout) >= 24 and not run.truncated:
        log.warning("ffmpeg wrote an unexpected header: %r", run.stdout[:24])
    failed = (run.returncode != 0 and not run.truncated) or (
        samples.size == 0 and bool(run.log_tail.strip())
    )
    return Decoded(samples=samples, failed=failed, log_tail=run.log_tail)


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
