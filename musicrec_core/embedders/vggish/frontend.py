"""Waveform -> log-mel examples, exactly as VGGish was trained (numpy only).

Pipeline for a mono 16 kHz waveform of N samples:

1. frames: 1 + floor((N - 400) / 160) windows of 400 samples, hop 160, no padding;
2. each frame times a periodic Hann window, |rfft| with 512 points -> 257 bins;
3. times the 257 x 64 HTK mel matrix (125-7500 Hz, DC row zero, no area normalisation);
4. natural log of (mel magnitude + 0.01);
5. grouped 96 frames at a time with hop 96, no padding -> [num_examples, 96, 64].
"""

from __future__ import annotations

import functools

import numpy as np

from musicrec_core.embedders.vggish import params


def periodic_hann(window_length: int) -> np.ndarray:
    """Periodic Hann window, float64 [window_length]: 0.5 - 0.5 cos(2 pi n / window_length)."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(window_length) / window_length)


def hertz_to_mel(frequencies_hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale: 1127 ln(1 + f / 700), element-wise, in mels."""
    return params.MEL_HIGH_FREQUENCY_Q * np.log1p(
        np.asarray(frequencies_hz, dtype=np.float64) / params.MEL_BREAK_FREQUENCY_HZ
    )


@functools.cache
def mel_matrix() -> np.ndarray:
    """The read-only float64 [257, 64] matrix mapping magnitude bins to mel bands.

    Band i rises linearly in mel from edges[i] to a peak of 1 at edges[i + 1] and falls to
    edges[i + 2], with edges = linspace(mel(125 Hz), mel(7500 Hz), 66); the DC bin's row is
    zero.
    """
    nyquist_hz = params.SAMPLE_RATE_HZ / 2.0
    bin_mels = hertz_to_mel(np.linspace(0.0, nyquist_hz, params.NUM_SPECTROGRAM_BINS))
    edges = np.linspace(
        hertz_to_mel(params.MEL_MIN_HZ),
        hertz_to_mel(params.MEL_MAX_HZ),
        params.NUM_MEL_BANDS + 2,
    )
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    # [257, 1] bins against [64] bands broadcast to [257, 64] slopes.
    rising = (bin_mels[:, None] - lower) / (centre - lower)
    falling = (upper - bin_mels[:, None]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    weights.flags.writeable = False
    return weights


@functools.cache
def _mel_segments() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mel matrix's non-zero entries grouped by band: (bin indices, weights, starts).

    Band b's entries are ``[starts[b], starts[b + 1])``; each bin feeds at most two bands,
    so applying these (about 2 x 257 products per frame) replaces the dense 257 x 64
    product. That keeps the frontend off BLAS: a multi-threaded BLAS call leaves OpenBLAS
    threads spinning for tens of milliseconds, which slowed the TensorFlow model run right
    after it by half on a 2-core machine (measured).
    """
    bands, bins = np.nonzero(mel_matrix().T)  # row-major: sorted by band, then bin
    weights = mel_matrix()[bins, bands]
    starts = np.searchsorted(bands, np.arange(params.NUM_MEL_BANDS))
    return bins, weights, starts


@functools.cache
def _window() -> np.ndarray:
    window = periodic_hann(params.STFT_WINDOW_LENGTH_SAMPLES)
    window.flags.writeable = False
    return window


def num_examples(num_samples: int) -> int:
    """How many examples a waveform of ``num_samples`` 16 kHz samples yields."""
    if num_samples < params.STFT_WINDOW_LENGTH_SAMPLES:
        return 0
    frames = 1 + (num_samples - params.STFT_WINDOW_LENGTH_SAMPLES) // params.STFT_HOP_LENGTH_SAMPLES
    if frames < params.EXAMPLE_WINDOW_FRAMES:
        return 0
    return 1 + (frames - params.EXAMPLE_WINDOW_FRAMES) // params.EXAMPLE_HOP_FRAMES


def waveform_to_examples(samples: np.ndarray) -> np.ndarray:
    """Log-mel examples of a mono 16 kHz waveform.

    Args:
        samples: float [num_samples] at 16 kHz, values in [-1, 1].

    Returns:
        float32 [num_examples, 96, 64]: log mel magnitudes, one 0.96-s example per row;
        num_examples is 0 for inputs shorter than 15,600 samples (0.975 s).

    Raises:
        ValueError: ``samples`` is not one-dimensional.
    """
    waveform = np.asarray(samples, dtype=np.float64)
    if waveform.ndim != 1:
        raise ValueError(f"expected a mono waveform [num_samples], got shape {waveform.shape}")
    count = num_examples(waveform.shape[0])
    if count == 0:
        return np.zeros((0, params.EXAMPLE_WINDOW_FRAMES, params.NUM_MEL_BANDS), np.float32)
    # Only the STFT frames that end up in an example are computed.
    frames_used = (count - 1) * params.EXAMPLE_HOP_FRAMES + params.EXAMPLE_WINDOW_FRAMES
    # [frames_used, 400] strided view: frame j starts at sample j * 160.
    frames = np.lib.stride_tricks.sliding_window_view(waveform, params.STFT_WINDOW_LENGTH_SAMPLES)[
        :: params.STFT_HOP_LENGTH_SAMPLES
    ][:frames_used]
    # [frames_used, 257] magnitude spectrum of each windowed frame.
    magnitudes = np.abs(np.fft.rfft(frames * _window(), n=params.FFT_LENGTH_SAMPLES))
    # [frames_used, 64] mel magnitudes (= magnitudes @ mel_matrix(), summed band by band
    # over the non-zero weights only), then their natural log.
    bins, weights, starts = _mel_segments()
    mel = np.add.reduceat(magnitudes[:, bins] * weights, starts, axis=1)
    log_mel = np.log(mel + params.LOG_OFFSET)
    # [count, 64, 96] strided view over frames, then [count, 96, 64] frames x bands.
    examples = np.lib.stride_tricks.sliding_window_view(
        log_mel, params.EXAMPLE_WINDOW_FRAMES, axis=0
    )[:: params.EXAMPLE_HOP_FRAMES]
    return np.ascontiguousarray(examples.transpose(0, 2, 1), dtype=np.float32)
