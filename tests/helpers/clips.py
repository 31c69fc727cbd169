"""Checks on decoded clips shared by the audio tests.

Tones come from ffmpeg's ``sine`` source, whose amplitude is 1/8 of full scale, so a clip's
RMS must be :data:`SINE_RMS`.
"""

from __future__ import annotations

import numpy as np
import pytest

from musicrec_core.audio import MIN_CLIP_SAMPLES
from musicrec_core.clip import SAMPLE_RATE_HZ, Clip

SINE_RMS = 0.125 / np.sqrt(2)
WINDOW = 10 * SAMPLE_RATE_HZ
"""Samples in a full 10-s clip at 16 kHz."""


def peak_hz(samples: np.ndarray) -> float:
    """Frequency of the strongest FFT bin (Hann-windowed), in Hz."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.argmax(spectrum)) * SAMPLE_RATE_HZ / samples.size


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def assert_valid_clip(clip: Clip) -> np.ndarray:
    """The invariants every clip keeps; returns its samples."""
    samples = clip.samples
    assert isinstance(samples, np.ndarray)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert samples.flags.c_contiguous
    assert np.isfinite(samples).all()
    assert np.abs(samples).max() <= 1.0
    assert MIN_CLIP_SAMPLES <= samples.size <= WINDOW
    assert clip.provenance.duration_s == pytest.approx(samples.size / SAMPLE_RATE_HZ)
    return samples
