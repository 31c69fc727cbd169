"""VGGish constants, each with its unit in the name.

The values are the ones Google's VGGish was trained with, and with which AudioSet's
released features were computed: a 16 kHz log-mel frontend (25 ms windows every 10 ms,
64 HTK mel bands over 125-7500 Hz, ln(mel + 0.01)), examples of 96 frames without
overlap, a VGG-style network ending in a 128-wide layer, then PCA whitening and 8-bit
quantization over [-2, 2]. Changing any of them moves embeddings out of the AudioSet space.
"""

from __future__ import annotations

# Input.
SAMPLE_RATE_HZ = 16_000
"""Sample rate the frontend expects, in Hz (clips are resampled upstream)."""

# STFT.
STFT_WINDOW_LENGTH_SAMPLES = 400
"""25 ms analysis window at 16 kHz."""
STFT_HOP_LENGTH_SAMPLES = 160
"""10 ms hop between STFT frames at 16 kHz."""
FFT_LENGTH_SAMPLES = 512
"""Next power of two above the window length; gives 257 frequency bins."""
NUM_SPECTROGRAM_BINS = FFT_LENGTH_SAMPLES // 2 + 1
"""Bins of the one-sided magnitude spectrum (257)."""

# Mel filterbank.
NUM_MEL_BANDS = 64
"""Mel bands per frame."""
MEL_MIN_HZ = 125.0
"""Lower edge of the lowest mel band, in Hz."""
MEL_MAX_HZ = 7500.0
"""Upper edge of the highest mel band, in Hz."""
MEL_BREAK_FREQUENCY_HZ = 700.0
"""HTK mel scale: mel(f) = MEL_HIGH_FREQUENCY_Q * ln(1 + f / MEL_BREAK_FREQUENCY_HZ)."""
MEL_HIGH_FREQUENCY_Q = 1127.0
"""HTK mel scale multiplier (mels)."""
LOG_OFFSET = 0.01
"""Added to the mel magnitude before the natural log, to keep log(0) away."""

# Examples.
EXAMPLE_WINDOW_FRAMES = 96
"""STFT frames per example (0.96 s)."""
EXAMPLE_HOP_FRAMES = 96
"""STFT frames between the starts of consecutive examples (no overlap)."""
EXAMPLE_SECONDS = EXAMPLE_WINDOW_FRAMES * STFT_HOP_LENGTH_SAMPLES / SAMPLE_RATE_HZ
"""Audio one embedding describes and the spacing between embeddings (0.96 s)."""
MIN_SAMPLES_FOR_ONE_EXAMPLE = (
    STFT_WINDOW_LENGTH_SAMPLES + (EXAMPLE_WINDOW_FRAMES - 1) * STFT_HOP_LENGTH_SAMPLES
)
"""Shortest input that yields an example: 15,600 samples (0.975 s)."""

# Network (variable scopes of the official checkpoint, under VARIABLE_SCOPE).
VARIABLE_SCOPE = "vggish"
"""Top-level scope of every checkpoint variable."""
CONV_LAYERS: tuple[tuple[str, int, bool], ...] = (
    ("conv1", 64, True),
    ("conv2", 128, True),
    ("conv3/conv3_1", 256, False),
    ("conv3/conv3_2", 256, True),
    ("conv4/conv4_1", 512, False),
    ("conv4/conv4_2", 512, True),
)
"""(scope, output channels, followed by a 2x2 max-pool) for each 3x3 ReLU convolution."""
CONV_KERNEL_SIZE = 3
"""Height and width of every convolution kernel (stride 1, SAME padding)."""
POOL_SIZE = 2
"""Height, width and stride of every max-pool (SAME padding)."""
FLATTENED_SIZE = 6 * 4 * 512
"""conv4 output [6, 4, 512] flattened in NHWC order (12,288)."""
FC_LAYERS: tuple[tuple[str, int, bool], ...] = (
    ("fc1/fc1_1", 4096, True),
    ("fc1/fc1_2", 4096, True),
    ("fc2", 128, False),
)
"""(scope, output width, ReLU) for each fully connected layer; fc2 has no activation."""
EMBEDDING_SIZE = 128
"""Width of the fc2 output and of the postprocessed embedding."""
FLOPS_PER_EXAMPLE = 1_727_791_104
"""FLOP (2 per multiply-add) of one forward pass, convs and fully connected layers."""

# Postprocessing.
QUANTIZE_MIN_VAL = -2.0
"""PCA-whitened values are clipped to [QUANTIZE_MIN_VAL, QUANTIZE_MAX_VAL] ..."""
QUANTIZE_MAX_VAL = 2.0
"""... and mapped linearly onto 0..255."""
QUANTIZE_LEVELS = 255
"""Steps between QUANTIZE_MIN_VAL and QUANTIZE_MAX_VAL (uint8 range)."""
PCA_EIGEN_VECTORS_NAME = "pca_eigen_vectors"
"""Array in vggish_pca_params.npz: [128, 128] whitening projection (rows = components)."""
PCA_MEANS_NAME = "pca_means"
"""Array in vggish_pca_params.npz: [128] mean of the raw embeddings."""

# Files and identity.
AUDIOSET_VERSION = "vggish-audioset-v1"
"""Embedder version of the official weights + PCA: the space of AudioSet's released features.
Indexes built from those features record it; other weights get a version naming their md5s."""
CHECKPOINT_MD5 = "d1c7011e6366aa34176bb05c705e31a8"
"""md5 of the official vggish_model.ckpt."""
PCA_MD5 = "c80cae691033abe7c7ecd11ea39fc834"
"""md5 of the official vggish_pca_params.npz."""
CHECKPOINT_FILE_NAME = "vggish_model.ckpt"
"""The official single-file TensorFlow V1 checkpoint."""
PCA_FILE_NAME = "vggish_pca_params.npz"
"""The official PCA parameters."""
