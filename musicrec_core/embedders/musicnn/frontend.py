"""musicnn's input representation: log-compressed mel spectrogram patches of 3 s.

What the musicnn weights were trained on (librosa 0.7's ``melspectrogram`` defaults at the
parameters below), written out in numpy so librosa is not needed:

1. a centred STFT: the waveform is reflect-padded by half a window on each side (the
   default ``pad_mode="reflect"`` of librosa before 0.9, which musicnn used; newer librosa
   pads with zeros), cut into 512-sample frames every 256 samples and multiplied by a
   periodic Hann window;
2. the power spectrum |X|^2 of each frame, bins 0 .. 256 (0 .. 8000 Hz);
3. 96 triangular mel filters on the Slaney mel scale (linear below 1 kHz, logarithmic
   above), each scaled to unit area (``norm="slaney"``), spanning 0 .. 8000 Hz;
4. compression ``log10(10000 * mel + 1)``.

Everything is float32. The reference code casts the mel energies to float16 before step 4,
which overflows to inf on loud audio (float16 stops at 65504); this module never does.

The network sees patches of 187 frames (2.992 s) taken one after another without overlap;
trailing frames that do not fill a whole patch are dropped, as the reference does. A clip
shorter than one patch is repeat-padded (its frames tiled until 187 frames, the
``repeat-pad`` rule of the musicnn training set-up) and flagged as padded.
"""

from __future__ import annotations

import functools

import numpy as np

from musicrec_core.clip import SAMPLE_RATE_HZ
from musicrec_core.errors import AudioTooShortError

STFT_WINDOW_SAMPLES = 512
"""FFT size and Hann window length, in samples (32 ms)."""
STFT_HOP_SAMPLES = 256
"""Hop between STFT frames, in samples (16 ms)."""
FFT_BINS = STFT_WINDOW_SAMPLES // 2 + 1
"""Non-negative frequency bins per frame (257)."""
MEL_BANDS = 96
"""Number of mel bands."""
MEL_MIN_HZ = 0.0
"""Lower edge of the lowest mel filter, in Hz."""
MEL_MAX_HZ = SAMPLE_RATE_HZ / 2
"""Upper edge of the highest mel filter, in Hz (Nyquist)."""
LOG_GAIN = 10_000.0
"""Mel energies are compressed as log10(LOG_GAIN * mel + 1)."""
PATCH_FRAMES = 187
"""Spectrogram frames per network input patch."""
PATCH_SECONDS = PATCH_FRAMES * STFT_HOP_SAMPLES / SAMPLE_RATE_HZ
"""Audio covered by one patch, in seconds (2.992)."""
MIN_SAMPLES = STFT_WINDOW_SAMPLES
"""Shortest waveform accepted, in samples (one STFT window, 32 ms); shorter is an error."""

# Slaney's mel scale (librosa htk=False): linear, 200/3 Hz per mel, below 1000 Hz;
# logarithmic above, each mel a factor 6.4 ** (1 / 27) in frequency.
_SLANEY_HZ_PER_MEL = 200.0 / 3.0
_SLANEY_BREAK_HZ = 1000.0
_SLANEY_BREAK_MEL = _SLANEY_BREAK_HZ / _SLANEY_HZ_PER_MEL
_SLANEY_LOG_STEP = np.log(6.4) / 27.0


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Frequencies in Hz -> Slaney mels (float64, same shape)."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / _SLANEY_HZ_PER_MEL
    # np.maximum keeps log() away from 0 Hz; those entries take the linear branch anyway.
    logarithmic = (
        _SLANEY_BREAK_MEL
        + np.log(np.maximum(hz, _SLANEY_BREAK_HZ) / _SLANEY_BREAK_HZ) / _SLANEY_LOG_STEP
    )
    return np.where(hz >= _SLANEY_BREAK_HZ, logarithmic, linear)


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """Slaney mels -> frequencies in Hz (float64, same shape); inverse of :func:`hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * _SLANEY_HZ_PER_MEL
    logarithmic = _SLANEY_BREAK_HZ * np.exp(_SLANEY_LOG_STEP * (mel - _SLANEY_BREAK_MEL))
    return np.where(mel >= _SLANEY_BREAK_MEL, logarithmic, linear)


@functools.cache
def mel_filterbank() -> np.ndarray:
    """The mel filter weights, float32 [MEL_BANDS, FFT_BINS] (read-only).

    Filter i is a triangle rising from edge i to a peak at edge i+1 and falling to edge i+2,
    where the MEL_BANDS + 2 edges are equally spaced in Slaney mels between MEL_MIN_HZ and
    MEL_MAX_HZ; it is scaled by 2 / (edge[i+2] - edge[i]) so that every filter has unit area
    over frequency in Hz. Computed in float64, stored as float32.
    """
    bin_hz = np.linspace(0.0, SAMPLE_RATE_HZ / 2, FFT_BINS)  # [FFT_BINS]
    edges_hz = mel_to_hz(
        np.linspace(hz_to_mel(MEL_MIN_HZ), hz_to_mel(MEL_MAX_HZ), MEL_BANDS + 2)
    )  # [MEL_BANDS + 2]
    widths_hz = np.diff(edges_hz)  # [MEL_BANDS + 1]
    # offsets[j, k] = edge j - frequency of bin k, in Hz.
    offsets = edges_hz[:, np.newaxis] - bin_hz[np.newaxis, :]
    rising = -offsets[:-2] / widths_hz[:-1, np.newaxis]  # 0 at edge i, 1 at edge i+1
    falling = offsets[2:] / widths_hz[1:, np.newaxis]  # 1 at edge i+1, 0 at edge i+2
    weights = np.maximum(0.0, np.minimum(rising, falling))  # [MEL_BANDS, FFT_BINS]
    weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, np.newaxis]
    weights = weights.astype(np.float32)
    weights.flags.writeable = False
    return weights


@functools.cache
def _hann_window() -> np.ndarray:
    """Periodic Hann window, float32 [STFT_WINDOW_SAMPLES] (read-only)."""
    n = np.arange(STFT_WINDOW_SAMPLES, dtype=np.float64)
    window = (0.5 - 0.5 * np.cos(2.0 * np.pi * n / STFT_WINDOW_SAMPLES)).astype(np.float32)
    window.flags.writeable = False
    return window


def mel_spectrogram(samples: np.ndarray) -> np.ndarray:
    """Mel power spectrogram of a 16 kHz waveform, float32 [1 + len // 256, MEL_BANDS].

    Args:
        samples: float [num_samples] at 16 kHz, num_samples >= MIN_SAMPLES.

    Frame t is centred on sample 256 * t (the signal is reflect-padded by 256 samples on
    each side), so there are 1 + num_samples // 256 frames.
    """
    samples = _check_waveform(samples)
    half = STFT_WINDOW_SAMPLES // 2
    padded = np.pad(samples, half, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, STFT_WINDOW_SAMPLES)
    frames = frames[::STFT_HOP_SAMPLES]  # [num_frames, STFT_WINDOW_SAMPLES], a view
    spectrum = np.fft.rfft(frames * _hann_window(), axis=1)  # complex64 [num_frames, FFT_BINS]
    power = np.square(spectrum.real) + np.square(spectrum.imag)  # float32
    return power @ mel_filterbank().T  # [num_frames, MEL_BANDS]


def log_mel_spectrogram(samples: np.ndarray) -> np.ndarray:
    """musicnn's input features, float32 [1 + len // 256, MEL_BANDS]: log10(10000 mel + 1)."""
    mel = mel_spectrogram(samples)
    return np.log10(np.float32(LOG_GAIN) * mel + np.float32(1.0))


def to_patches(log_mel: np.ndarray) -> tuple[np.ndarray, bool]:
    """Cut features into consecutive non-overlapping patches.

    Args:
        log_mel: float32 [num_frames, MEL_BANDS], num_frames >= 1.

    Returns:
        (patches float32 [max(1, num_frames // PATCH_FRAMES), PATCH_FRAMES, MEL_BANDS],
        padded). Trailing frames that do not fill a patch are dropped; when there are fewer
        than PATCH_FRAMES frames, they are tiled (repeated from the start) to fill one patch
        and ``padded`` is True.
    """
    num_frames = log_mel.shape[0]
    if num_frames < PATCH_FRAMES:
        repeats = -(-PATCH_FRAMES // num_frames)  # ceiling division
        tiled = np.tile(log_mel, (repeats, 1))[:PATCH_FRAMES]
        return tiled[np.newaxis].astype(np.float32, copy=False), True
    num_patches = num_frames // PATCH_FRAMES
    used = log_mel[: num_patches * PATCH_FRAMES]
    return used.reshape(num_patches, PATCH_FRAMES, MEL_BANDS).astype(np.float32), False


def waveform_to_patches(samples: np.ndarray) -> tuple[np.ndarray, bool]:
    """16 kHz waveform -> (patches float32 [n, PATCH_FRAMES, MEL_BANDS], padded).

    Raises:
        AudioTooShortError: for fewer than MIN_SAMPLES samples.
    """
    return to_patches(log_mel_spectrogram(samples))


def _check_waveform(samples: np.ndarray) -> np.ndarray:
    """Validate a mono waveform and return it as contiguous float32."""
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"expected a mono waveform of shape [num_samples], got {samples.shape}")
    if samples.shape[0] < MIN_SAMPLES:
        raise AudioTooShortError(
            f"The audio is too short for musicnn: {samples.shape[0] / SAMPLE_RATE_HZ:.3f} s "
            f"(it needs at least {MIN_SAMPLES / SAMPLE_RATE_HZ:.3f} s)."
        )
    return samples
