"""Landmarks: peaks of a clip's band spectrogram, hashed in pairs; the same recording
through a phone keeps enough of them at the same places."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicrec_core.clip import SAMPLE_RATE_HZ
from musicrec_core.fingerprint.landmarks import (
    BAND_HZ,
    FAN_OUT,
    HASH_BITS,
    HOP,
    N_FFT,
    PEAKS_PER_SECOND,
    landmarks,
    landmarks_of_peaks,
    spectral_peaks,
)
from tests.helpers.melody import melody, phone_recording


def test_peaks_lie_in_the_band_and_keep_their_density() -> None:
    samples = melody(1, 10.0)
    peaks = spectral_peaks(samples)
    frames = (samples.size - N_FFT) // HOP + 1
    assert peaks.ndim == 2 and peaks.shape[1] == 2 and len(peaks) > 5 * 10
    assert peaks[:, 0].min() >= 0 and peaks[:, 0].max() < frames
    per_second = np.bincount(peaks[:, 0] // round(SAMPLE_RATE_HZ / HOP))
    assert per_second.max() <= PEAKS_PER_SECOND
    band_bins = (BAND_HZ[1] - BAND_HZ[0]) * N_FFT / SAMPLE_RATE_HZ
    assert peaks[:, 1].min() >= 0 and peaks[:, 1].max() <= band_bins + 1
    assert np.all(np.diff(peaks[:, 0]) >= 0)  # time order


def test_hashes_fit_their_bits_and_fan_out() -> None:
    hashes, frames = landmarks(melody(2, 10.0))
    assert hashes.dtype == np.uint32 and frames.shape == hashes.shape
    assert int(hashes.max()) < 2**HASH_BITS
    assert np.bincount(frames).max() <= FAN_OUT * PEAKS_PER_SECOND
    dt = hashes & 0x3F
    assert dt.min() >= 1


def test_pairs_are_hashed_by_bin_step_and_time_step() -> None:
    peaks = np.array([[0, 10], [3, 20], [5, 4]])
    hashes, frames = landmarks_of_peaks(peaks)
    expected = [(10 << 13) | ((10 + 63) << 6) | 3, (10 << 13) | ((-6 + 63) << 6) | 5]
    expected.append((20 << 13) | ((-16 + 63) << 6) | 2)
    assert hashes.tolist() == expected and frames.tolist() == [0, 0, 3]


@pytest.mark.parametrize("samples", [np.zeros(0, np.float32), np.zeros(500, np.float32)])
def test_clips_too_short_or_silent_have_no_landmarks(samples: np.ndarray) -> None:
    hashes, frames = landmarks(samples)
    assert hashes.size == frames.size == 0


def test_silence_has_no_peaks() -> None:
    assert len(spectral_peaks(np.zeros(SAMPLE_RATE_HZ * 5, np.float32))) == 0


def test_a_phone_recording_keeps_many_landmarks(tmp_path: Path) -> None:
    samples = melody(3, 10.0)
    clean = set(zip(*(a.tolist() for a in landmarks(samples)), strict=True))
    phone = phone_recording(samples, tmp_path / "phone.mp3", seed=1)
    heard = set(zip(*(a.tolist() for a in landmarks(phone.samples)), strict=True))
    shared = {h for h, f in heard if any(abs(f - g) <= 1 for hh, g in clean if hh == h)}
    assert len(shared) >= 0.1 * len(clean)  # chance would share almost none
