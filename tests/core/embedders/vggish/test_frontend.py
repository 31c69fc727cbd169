"""The VGGish frontend against a plainly written reference of the documented algorithm."""

from __future__ import annotations

import math

import numpy as np
import pytest

from musicrec_core.embedders.vggish.frontend import mel_matrix, waveform_to_examples


def reference_log_mel_examples(waveform: np.ndarray) -> np.ndarray:
    """VGGish's log-mel recipe, written out step by step with loops and direct formulas."""
    window, hop, fft = 400, 160, 512
    bins = fft // 2 + 1

    def mel(hz: float) -> float:
        return 1127.0 * math.log(1.0 + hz / 700.0)

    # Mel matrix, one weight at a time.
    low, high = mel(125.0), mel(7500.0)
    edges = [low + (high - low) * i / 65 for i in range(66)]
    weights = np.zeros((bins, 64))
    for k in range(1, bins):  # bin 0 (DC) stays zero
        m = mel(8000.0 * k / (bins - 1))
        for band in range(64):
            lower, centre, upper = edges[band], edges[band + 1], edges[band + 2]
            rising = (m - lower) / (centre - lower)
            falling = (upper - m) / (upper - centre)
            weights[k, band] = max(0.0, min(rising, falling))

    # Direct DFT of the zero-padded 512-point frame: only the first 400 samples are non-zero.
    n = np.arange(window)
    k = np.arange(bins)
    dft = np.exp(-2j * np.pi * np.outer(n, k) / fft)  # [400, 257]
    hann = np.array([0.5 - 0.5 * math.cos(2 * math.pi * i / window) for i in range(window)])

    log_mel_frames = []
    start = 0
    while start + window <= len(waveform):
        frame = np.asarray(waveform[start : start + window], dtype=np.float64) * hann
        magnitude = np.abs(frame @ dft)
        log_mel_frames.append(np.log(magnitude @ weights + 0.01))
        start += hop
    examples = []
    first = 0
    while first + 96 <= len(log_mel_frames):
        examples.append(np.stack(log_mel_frames[first : first + 96]))
        first += 96
    return np.array(examples).reshape(-1, 96, 64)


def test_log_mel_matches_the_reference() -> None:
    rng = np.random.default_rng(7)
    t = np.arange(int(2.5 * 16000)) / 16000
    waveform = (
        0.4 * np.sin(2 * np.pi * 440 * t)
        + 0.2 * np.sin(2 * np.pi * (300 + 900 * t) * t)
        + 0.05 * rng.standard_normal(t.size)
    ).astype(np.float32)
    ours = waveform_to_examples(waveform)
    reference = reference_log_mel_examples(waveform)
    assert ours.dtype == np.float32
    assert ours.shape == reference.shape == (2, 96, 64)
    assert np.max(np.abs(ours - reference)) <= 1e-4


def test_silence_is_the_log_offset() -> None:
    examples = waveform_to_examples(np.zeros(16000, np.float32))
    np.testing.assert_allclose(examples, math.log(0.01), rtol=0, atol=1e-6)


def test_mel_matrix_facts() -> None:
    weights = mel_matrix()
    assert weights.shape == (257, 64)
    assert not weights.flags.writeable
    assert np.all(weights[0] == 0.0), "the DC row must be zero"
    assert np.all(weights >= 0.0) and np.all(weights <= 1.0)
    bin_hz = np.linspace(0.0, 8000.0, 257)
    assert np.all(weights[bin_hz <= 125.0] == 0.0)
    assert np.all(weights[bin_hz >= 7500.0] == 0.0)
    assert np.all(weights.sum(axis=0) > 0.0), "every band covers at least one bin"
    inside = (bin_hz > 140.0) & (bin_hz < 7400.0)
    assert np.all(weights[inside].sum(axis=1) > 0.0), "every bin inside the range is used"
    # Bands ascend in frequency: the peak bin of each band is non-decreasing.
    assert np.all(np.diff(np.argmax(weights, axis=0)) >= 0)


@pytest.mark.parametrize(
    ("num_samples", "expected"),
    [
        (int(0.9 * 16000), 0),
        (15599, 0),
        (int(0.975 * 16000), 1),
        (2 * 15600 - 400, 1),
        (10 * 16000, 10),
    ],
)
def test_example_counts(num_samples: int, expected: int) -> None:
    examples = waveform_to_examples(np.zeros(num_samples, np.float32))
    assert examples.shape == (expected, 96, 64)
    assert examples.dtype == np.float32


def test_examples_do_not_overlap() -> None:
    """Example i starts at frame 96 i: its content comes from 0.96 s further on."""
    rng = np.random.default_rng(3)
    waveform = rng.uniform(-1, 1, 3 * 16000).astype(np.float32)
    examples = waveform_to_examples(waveform)
    shifted = waveform_to_examples(waveform[96 * 160 :])
    np.testing.assert_allclose(examples[1:], shifted[: len(examples) - 1], atol=1e-5)


def test_rejects_multichannel_input() -> None:
    with pytest.raises(ValueError, match="mono"):
        waveform_to_examples(np.zeros((2, 16000), np.float32))
