"""One decoded window, the same shape from either decoder: the ffmpeg programs or a worker.

A window of ``clip_seconds`` starting at ``start_s`` is read from :data:`PREROLL_S` earlier
(decoder warm-up after a seek, the MP3 bit reservoir, AAC overlap, and the resampler's
start-up transient fall in that lead-in), resampled to 16 kHz, and the lead-in dropped
(:class:`WindowRead` holds that arithmetic). :func:`downmix` then takes the plain mean over
channels, exactly the VGGish recipe, in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musicrec_core.clip import SAMPLE_RATE_HZ

__all__ = ["PREROLL_S", "Decoded", "WindowRead", "downmix"]

PREROLL_S = 0.2
"""A window after a seek is decoded from this much earlier; the lead-in is dropped."""

_OUTPUT_MARGIN_S = 0.5
"""Extra decoded seconds tolerated before a decoder is stopped."""


@dataclass(frozen=True)
class WindowRead:
    """What to read for a window of ``seconds`` from ``start_s`` (seconds of the source).

    Attributes:
        seek_s: where decoding starts (``start_s`` less the lead-in), seconds.
        read_s: seconds read from there (the window and its lead-in).
        skip: output frames (16 kHz) of lead-in to drop.
        total: output frames to keep, lead-in included.
        cap: output frames a decoder may send before it is stopped (``total`` + 0.5 s).
    """

    seek_s: float
    read_s: float
    skip: int
    total: int
    cap: int

    @classmethod
    def of(cls, start_s: float, seconds: float) -> WindowRead:
        preroll = min(start_s, PREROLL_S)
        skip = round(preroll * SAMPLE_RATE_HZ)
        total = skip + round(seconds * SAMPLE_RATE_HZ)
        cap = total + round(_OUTPUT_MARGIN_S * SAMPLE_RATE_HZ)
        return cls(start_s - preroll, seconds + preroll, skip, total, cap)


@dataclass(frozen=True)
class Decoded:
    """Raw result of one window decode (mono, not yet sanitised).

    Attributes:
        samples: float32 [n] at 16 kHz.
        failed: the decoder failed (exit status, or errors and nothing decoded).
        log_tail: what it said about it.
    """

    samples: np.ndarray
    failed: bool
    log_tail: str


def downmix(interleaved: np.ndarray, read: WindowRead) -> np.ndarray:
    """Mono float32 [n] from decoded frames [frames, channels]: the lead-in dropped, at
    most ``read.total`` frames, the mean over channels accumulated in float64."""
    frames = min(interleaved.shape[0], read.total)
    if frames <= read.skip:
        return np.zeros(0, dtype=np.float32)
    mono = interleaved[read.skip : frames].mean(axis=1, dtype=np.float64)
    return mono.astype(np.float32)
