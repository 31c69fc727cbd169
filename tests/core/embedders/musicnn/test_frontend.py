"""musicnn's log-mel frontend against a plainly written reference, and its edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from musicrec_core.embedders.musicnn import frontend
from musicrec_core.errors import AudioTooShortError

SR = 16_000


def reference_log_mel(samples: np.ndarray) -> np.ndarray:
    """librosa-0.7-style log-mel features from direct formulas, float64 [frames, 96].

    Written independently of the module under test: explicit reflection indices, the Hann
    window as sin^2, the DFT as a sum of complex exponentials, and each mel triangle built
    point by point from Slaney's mel formula.
    """
    n = len(samples)
    n_fft, hop, n_mels = 512, 256, 96

    def reflect(i: int) -> int:
        return -i if i < 0 else (2 * (n - 1) - i if i >= n else i)

    window = np.array([math.sin(math.pi * m / n_fft) ** 2 for m in range(n_fft)])
    dft = np.exp(-2j * np.pi * np.outer(np.arange(n_fft // 2 + 1), np.arange(n_fft)) / n_fft)
    power = []
    for t in range(1 + n // hop):
        frame = np.array([samples[reflect(t * hop + m - n_fft // 2)] for m in range(n_fft)])
        power.append(np.abs(dft @ (frame * window)) ** 2)
    power_spec = np.array(power)  # [frames, 257]

    def to_mel(f: float) -> float:
        return 3.0 * f / 200.0 if f < 1000.0 else 15.0 + 27.0 * math.log(f / 1000.0) / math.log(6.4)

    def from_mel(m: float) -> float:
        return 200.0 * m / 3.0 if m < 15.0 else 1000.0 * 6.4 ** ((m - 15.0) / 27.0)

    top = to_mel(SR / 2)
    edges = [from_mel(top * j / (n_mels + 1)) for j in range(n_mels + 2)]
    filters = np.zeros((n_mels, n_fft // 2 + 1))
    for band in range(n_mels):
        low, centre, high = edges[band], edges[band + 1], edges[band + 2]
        for k in range(n_fft // 2 + 1):
            f = k * SR / n_fft
            if low <= f <= centre:
                filters[band, k] = (f - low) / (centre - low)
            elif centre < f <= high:
                filters[band, k] = (high - f) / (high - centre)
        filters[band] *= 2.0 / (high - low)
    return np.log10(10_000.0 * power_spec @ filters.T + 1.0)


def test_log_mel_matches_a_plainly_written_reference() -> None:
    rng = np.random.default_rng(7)
    t = np.arange(2_000) / SR
    samples = 0.4 * np.sin(2 * np.pi * 440 * t) + 0.1 * rng.standard_normal(t.size)
    actual = frontend.log_mel_spectrogram(samples.astype(np.float32))
    expected = reference_log_mel(samples.astype(np.float32).astype(np.float64))
    assert actual.dtype == np.float32
    assert actual.shape == (1 + 2_000 // 256, 96)
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4)


def test_mel_filters_have_unit_area_and_cover_the_band() -> None:
    filters = frontend.mel_filterbank()
    assert filters.shape == (96, 257) and filters.dtype == np.float32
    assert not filters.flags.writeable
    # Unit area over frequency in Hz (bin spacing 31.25 Hz); edge bands lose a little to
    # the discrete grid, so compare the median.
    areas = filters.sum(axis=1) * (SR / 512)
    assert np.median(areas) == pytest.approx(1.0, rel=0.05)
    assert (filters.max(axis=1) > 0).all()


def test_log_compression_stays_finite_on_a_full_scale_square_wave() -> None:
    t = np.arange(3 * SR) / SR
    square = np.where(np.sin(2 * np.pi * 1_000 * t) >= 0, 1.0, -1.0).astype(np.float32)
    mel = frontend.mel_spectrogram(square)
    # The reference's float16 cast would overflow here: the gain pushes energies past 65504.
    assert float(mel.max()) * frontend.LOG_GAIN > float(np.finfo(np.float16).max)
    features = frontend.log_mel_spectrogram(square)
    assert features.dtype == np.float32
    assert np.isfinite(features).all()
    assert float(features.max()) < 12.0


def test_patches_follow_each_other_and_drop_the_incomplete_tail() -> None:
    frames = 2 * frontend.PATCH_FRAMES + 50
    log_mel = np.arange(frames * 96, dtype=np.float32).reshape(frames, 96)
    patches, padded = frontend.to_patches(log_mel)
    assert not padded
    assert patches.shape == (2, frontend.PATCH_FRAMES, 96)
    np.testing.assert_array_equal(
        patches[1], log_mel[frontend.PATCH_FRAMES : 2 * frontend.PATCH_FRAMES]
    )


def test_a_clip_shorter_than_a_patch_is_repeat_padded_and_flagged() -> None:
    samples = np.sin(2 * np.pi * 220 * np.arange(SR) / SR).astype(np.float32)  # 1 s
    patches, padded = frontend.waveform_to_patches(samples)
    frames = 1 + SR // 256  # 63
    assert padded
    assert patches.shape == (1, frontend.PATCH_FRAMES, 96)
    np.testing.assert_array_equal(patches[0, frames : 2 * frames], patches[0, :frames])
    np.testing.assert_array_equal(patches[0, :frames], frontend.log_mel_spectrogram(samples))


def test_exactly_one_patch_of_audio_is_not_padded() -> None:
    samples = np.zeros(int(frontend.PATCH_SECONDS * SR), dtype=np.float32)
    patches, padded = frontend.waveform_to_patches(samples)
    assert patches.shape[0] == 1 and not padded


def test_too_short_and_malformed_waveforms_are_refused() -> None:
    with pytest.raises(AudioTooShortError, match="too short"):
        frontend.waveform_to_patches(np.zeros(frontend.MIN_SAMPLES - 1, dtype=np.float32))
    with pytest.raises(ValueError, match="mono"):
        frontend.waveform_to_patches(np.zeros((2, SR), dtype=np.float32))
