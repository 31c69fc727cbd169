"""Which seconds of a source become the clip: the window rule, as plain arithmetic.

Nothing here runs a process; :mod:`musicrec_core.audio.decode` applies these rules to a
file, and :func:`musicrec_core.sources.youtube.plan_section` applies the same ones to a
video before any of it is downloaded.

- **A start is given** (:func:`fit_start`): the window starts there. A start at or past
  the end of the audio is :class:`~musicrec_core.errors.AudioTooShortError`; a start less
  than a window before the end is moved back so the window ends at the end of the audio
  (when the audio is at least a window long), so the clip is always as long as the source
  allows.
- **No start, short source** (:func:`read_from_start`): a source of at most the window plus
  :data:`WHOLE_SOURCE_SLACK_S` (10.5 s for a 10-s window), or of unknown duration, is used
  from its start: clips between :data:`MIN_CLIP_SECONDS` and 10 s are used whole.
- **No start, longer source** (:func:`candidate_starts`): four candidate windows centred
  at :data:`CANDIDATE_FRACTIONS` (25 %, 40 %, 55 % and 70 %) of the duration, clamped to
  lie inside it (:func:`centred_start`), are decoded and the one with the highest
  :func:`window_rms` wins (the earliest on a tie). Intros, fade-ins and silent stretches
  lose to the body of the track.

Clips shorter than :data:`MIN_CLIP_SECONDS` (0.975 s, one VGGish example) are
:class:`~musicrec_core.errors.AudioTooShortError`.
"""

from __future__ import annotations

import math

import numpy as np

from musicrec_core.clip import SAMPLE_RATE_HZ
from musicrec_core.errors import AudioTooShortError
from musicrec_core.timecode import format_clock

__all__ = [
    "CANDIDATE_FRACTIONS",
    "MIN_CLIP_SAMPLES",
    "MIN_CLIP_SECONDS",
    "WHOLE_SOURCE_SLACK_S",
    "candidate_starts",
    "centred_start",
    "fit_start",
    "read_from_start",
    "window_rms",
]

MIN_CLIP_SECONDS = 0.975
"""Shortest usable clip in seconds: one VGGish example (96 frames of 10 ms + 15 ms)."""

MIN_CLIP_SAMPLES = round(MIN_CLIP_SECONDS * SAMPLE_RATE_HZ)
""":data:`MIN_CLIP_SECONDS` at 16 kHz: 15 600 samples."""

CANDIDATE_FRACTIONS = (0.25, 0.40, 0.55, 0.70)
"""Where the candidate windows of a long source are centred, as fractions of its duration."""

WHOLE_SOURCE_SLACK_S = 0.5
"""A source at most this much longer than the window is read from its start, not searched."""


def fit_start(start_s: float, duration_s: float | None, length_s: float, *, source: str) -> float:
    """Where a window of ``length_s`` seconds asked to start at ``start_s`` really starts.

    Args:
        start_s: the requested start, in seconds from the start of the source (finite, >= 0).
        duration_s: the source's duration in seconds, or None when unknown (then the
            request is kept as it is).
        length_s: the window's length in seconds.
        source: how to call the source in the error message ("song.mp3", "the video").

    Returns:
        ``start_s``, or ``max(0, duration_s - length_s)`` when the window would run past
        the end.

    Raises:
        AudioTooShortError: ``start_s`` is at or past the end of the source.
    """
    if duration_s is None:
        return start_s
    if start_s >= duration_s:
        raise AudioTooShortError(
            f"The start time {format_clock(start_s, tenths=True)} is past the end "
            f"of {source}, which is {format_clock(duration_s, tenths=True)} long."
        )
    if start_s + length_s > duration_s:
        return max(0.0, duration_s - length_s)
    return start_s


def read_from_start(duration_s: float | None, clip_seconds: float) -> bool:
    """True when a source without a requested start is used from its start, not searched.

    That is a source of unknown duration or at most ``clip_seconds`` +
    :data:`WHOLE_SOURCE_SLACK_S` seconds long.
    """
    return duration_s is None or duration_s <= clip_seconds + WHOLE_SOURCE_SLACK_S


def centred_start(duration_s: float, centre: float, length_s: float) -> float:
    """Start of a ``length_s``-second span centred at ``centre`` (a fraction) of the source.

    The span is clamped to lie inside ``[0, duration_s]`` (it starts at 0 when it is longer
    than the source). All values in seconds except ``centre``.
    """
    return min(max(centre * duration_s - length_s / 2, 0.0), duration_s - length_s)


def candidate_starts(duration_s: float, clip_seconds: float) -> list[float]:
    """Starts (seconds, rounded down to the millisecond) of the candidate windows of a
    source longer than the window, earliest first, without repeats."""
    starts = {
        math.floor(centred_start(duration_s, fraction, clip_seconds) * 1000) / 1000
        for fraction in CANDIDATE_FRACTIONS
    }
    return sorted(starts)


def window_rms(samples: np.ndarray, clip_seconds: float) -> float:
    """RMS of decoded window samples (float32 [n], 16 kHz) over the nominal window length.

    Computed on the samples as they will be returned: non-finite ones count as 0, values
    are clipped to [-1, 1], and samples missing at the end (a file that ended early) count
    as silence, since the sum of squares is divided by ``clip_seconds`` worth of samples.
    """
    wanted = round(clip_seconds * SAMPLE_RATE_HZ)
    clean = np.clip(np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0), -1, 1)
    return math.sqrt(float(np.sum(np.square(clean, dtype=np.float64))) / wanted)
