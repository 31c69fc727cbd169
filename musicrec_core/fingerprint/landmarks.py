"""Spectral landmarks of a clip: the peaks of its spectrogram, hashed in pairs.

Mental model (the classic audio fingerprint): a recording is known by *where* its strongest
spectral peaks sit, not by how loud they are. Noise, a narrow band and a low bit rate bury
the weak peaks and change every level, but a peak that rises well above its neighbourhood
stays at the same (time, frequency) point. Two nearby peaks make a *landmark*, hashed as
(frequency of the first, frequency step to the second, time step between them); the time
of its first peak travels with it. A clip of a recording shares many landmarks with it,
all at one time offset (:mod:`.store` votes on that offset)::

    samples [n] at 16 kHz --Hann STFT, N_FFT / HOP--> power [frames, bins]
      --keep BAND_HZ (what a phone passes), dB, minus each bin's median over the clip-->
      contrast [frames, band bins]
      --local maxima over PEAK_NEIGHBOURHOOD, at least MIN_CONTRAST_DB, the strongest
        PEAKS_PER_SECOND of each second--> peaks [(frame, bin)]
      --each peak paired with its FAN_OUT nearest later peaks within MAX_DT_FRAMES and
        MAX_DF_BINS--> hashes uint32 [m], anchor frames int64 [m]

Choices: the band is 300-3400 Hz because a phone-like clip holds nothing else; subtracting
each bin's median over the clip takes away stationary noise and the spectral tilt, so the
peaks are chosen by how much they stand out, in a clean window and in its noisy copy alike;
picking a fixed number per second keeps the density even through quiet and loud passages.

Units: a frame is :data:`HOP` samples (32 ms), a bin :data:`SAMPLE_RATE_HZ` / :data:`N_FFT`
Hz (15.6 Hz). A pitch change moves every bin, so a sped-up clip is not identified (the
embedding still finds it); that is the price of exact hashes.
"""

from __future__ import annotations

import numpy as np

from musicrec_core.clip import SAMPLE_RATE_HZ

__all__ = [
    "BAND_HZ",
    "FAN_OUT",
    "HASH_BITS",
    "HOP",
    "LANDMARK_VERSION",
    "MAX_DF_BINS",
    "MAX_DT_FRAMES",
    "N_FFT",
    "PEAKS_PER_SECOND",
    "Landmarks",
    "landmarks",
    "landmarks_of_peaks",
    "spectral_peaks",
]

LANDMARK_VERSION = 1
"""Bumped whenever a change below gives other hashes for the same audio."""

N_FFT = 1024
"""STFT length in samples (64 ms at 16 kHz, 15.6 Hz per bin)."""
HOP = 512
"""STFT hop in samples: one frame is 32 ms."""
BAND_HZ = (300.0, 3400.0)
"""The frequencies peaks are looked for in, in Hz."""
PEAK_NEIGHBOURHOOD = (7, 9)
"""A peak is the largest value within +-7 frames (224 ms) and +-9 bins (140 Hz)."""
MIN_CONTRAST_DB = 6.0
"""A peak rises at least this far above its bin's median over the clip."""
PEAKS_PER_SECOND = 20
"""Peaks kept per second of audio (the strongest by contrast)."""
FAN_OUT = 6
"""Landmarks per anchor peak: pairs with its nearest later peaks."""
MAX_DT_FRAMES = 63
"""Largest time step of a pair, in frames (2 s); fits 6 bits."""
MAX_DF_BINS = 63
"""Largest frequency step of a pair, in bins (984 Hz), either way; fits 7 bits."""

_LOW_BIN = int(np.ceil(BAND_HZ[0] * N_FFT / SAMPLE_RATE_HZ))
_HIGH_BIN = int(np.floor(BAND_HZ[1] * N_FFT / SAMPLE_RATE_HZ))
_BAND_BINS = _HIGH_BIN - _LOW_BIN + 1  # 198: fits 8 bits
HASH_BITS = 8 + 7 + 6
"""Bits of a hash: first peak's bin in the band, frequency step + 63, time step."""
_LOOK_AHEAD = 4 * FAN_OUT
"""Later peaks (in time order) considered as partners of each anchor."""

Landmarks = tuple[np.ndarray, np.ndarray]
"""(hashes uint32 [m], anchor frames int64 [m]) of one clip, in anchor order."""


def _contrast(samples: np.ndarray) -> np.ndarray:
    """Band spectrogram in dB above each bin's median over the clip: float32
    [frames, band bins]; zero frames for clips shorter than one STFT."""
    signal = np.asarray(samples, dtype=np.float32)
    if signal.ndim != 1:
        raise ValueError(f"expected mono samples [n], got shape {signal.shape}")
    if signal.size < N_FFT:
        return np.zeros((0, _BAND_BINS), dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(signal, N_FFT)[::HOP]
    spectrum = np.fft.rfft(frames * np.hanning(N_FFT).astype(np.float32), axis=1)
    band = spectrum[:, _LOW_BIN : _HIGH_BIN + 1]
    power = band.real**2 + band.imag**2
    level = 10.0 * np.log10(power + 1e-10)
    return (level - np.median(level, axis=0, keepdims=True)).astype(np.float32)


def _max_filter(values: np.ndarray, half_width: int, axis: int) -> np.ndarray:
    """The largest value within +-``half_width`` along ``axis`` (edges padded with -inf)."""
    pad = [(0, 0)] * values.ndim
    pad[axis] = (half_width, half_width)
    padded = np.pad(values, pad, constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half_width + 1, axis=axis)
    return windows.max(axis=-1)


def spectral_peaks(samples: np.ndarray) -> np.ndarray:
    """The constellation of a 16-kHz mono clip: int64 [p, 2] rows (frame, band bin),
    sorted by frame then bin. ``samples``: float32 [n]; a clip shorter than one STFT
    (64 ms) has no peaks."""
    contrast = _contrast(samples)
    if contrast.shape[0] == 0:
        return np.zeros((0, 2), dtype=np.int64)
    dt, df = PEAK_NEIGHBOURHOOD
    local_max = _max_filter(_max_filter(contrast, dt, axis=0), df, axis=1)
    frame, band_bin = np.nonzero((contrast == local_max) & (contrast >= MIN_CONTRAST_DB))
    strength = contrast[frame, band_bin]
    per_second = int(round(SAMPLE_RATE_HZ / HOP))
    second = frame // per_second
    # Strongest first within each second, then keep the first PEAKS_PER_SECOND of each.
    order = np.lexsort((-strength, second))
    second_sorted = second[order]
    first_of_second = np.searchsorted(second_sorted, second_sorted, side="left")
    rank = np.arange(order.size) - first_of_second
    kept = order[rank < PEAKS_PER_SECOND]
    peaks = np.stack([frame[kept], band_bin[kept]], axis=1).astype(np.int64)
    return peaks[np.lexsort((peaks[:, 1], peaks[:, 0]))]


def landmarks_of_peaks(peaks: np.ndarray) -> Landmarks:
    """Hash the pairs of a constellation (int64 [p, 2] (frame, bin), sorted by frame).

    Each peak is paired with the first :data:`FAN_OUT` later peaks (time order) at most
    :data:`MAX_DT_FRAMES` later and :data:`MAX_DF_BINS` away. Hash layout, 21 bits:
    ``bin << 13 | (df + 63) << 6 | dt`` with dt in 1..63.
    """
    peaks = np.asarray(peaks, dtype=np.int64).reshape(-1, 2)
    count = peaks.shape[0]
    if count < 2:
        return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.int64)
    anchor = np.arange(count)[:, None]
    partner = anchor + np.arange(1, _LOOK_AHEAD + 1)[None, :]  # [p, look-ahead]
    inside = partner < count
    partner = np.minimum(partner, count - 1)
    dt = peaks[partner, 0] - peaks[anchor, 0]
    df = peaks[partner, 1] - peaks[anchor, 1]
    usable = inside & (dt >= 1) & (dt <= MAX_DT_FRAMES) & (np.abs(df) <= MAX_DF_BINS)
    usable &= np.cumsum(usable, axis=1) <= FAN_OUT
    rows, columns = np.nonzero(usable)
    first_bin = peaks[rows, 1]
    hashes = (first_bin << 13) | ((df[rows, columns] + MAX_DF_BINS) << 6) | dt[rows, columns]
    return hashes.astype(np.uint32), peaks[rows, 0]


def landmarks(samples: np.ndarray) -> Landmarks:
    """The landmarks of a 16-kHz mono clip (float32 [n]): hashes uint32 [m] and the frame
    of each one's first peak, int64 [m] (frames of :data:`HOP` samples from the clip's
    start)."""
    return landmarks_of_peaks(spectral_peaks(samples))
