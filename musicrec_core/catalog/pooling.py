"""The rule that turns per-frame embeddings into the one vector a catalog item is indexed by.

Index and query must pool the same way, so the rule is named in every index manifest and
the recommender pools its query with the rule the loaded index names.

Rules:
    ``"mean"``: the mean of the frames, ``[n, d] -> [d]``. The default.
    ``"mean_std"``: the mean and the (population) standard deviation of the frames
    concatenated, ``[n, d] -> [2d]``. A one-frame clip has a zero standard deviation.

Why ``"mean"`` is the default (measured by ``benchmarks/bench_index.py --pooling``, which
draws synthetic "videos" whose per-second frames scatter around a video-specific centre and
queries a different window of each video): with an angular metric, mean pooling found the
query's own video first as often as ``mean_std`` did, within noise, while ``mean_std``
doubles the index size and the search cost. The standard deviation half of a
``mean_std`` vector mostly measures how much a clip varies, which in the whitened VGGish
space is similar for most music, so it adds a common offset that pulls unrelated clips
together under the angular metric. This is a synthetic argument; the rule would be
re-validated on the real AudioSet features with the real VGGish before changing it.

Frames are expected in the space the catalog indexes: for VGGish the dequantized
postprocessed embedding (``q * 4/255 - 2``), which is also how AudioSet's uint8 release
features are turned into floats (:func:`dequantize`).
"""

from __future__ import annotations

import numpy as np

POOLING_RULES = ("mean", "mean_std")
"""Every rule :func:`pool` knows, in the order they were introduced."""

DEFAULT_POOLING = "mean"
"""The rule new indexes are built with (recorded in their manifest)."""

QUANTIZED_MIN = -2.0
"""The value uint8 0 stands for in AudioSet's 8-bit features."""

QUANTIZED_MAX = 2.0
"""The value uint8 255 stands for in AudioSet's 8-bit features."""


def check_rule(rule: str) -> None:
    """Raise ValueError naming the known rules unless ``rule`` is one of them."""
    if rule not in POOLING_RULES:
        raise ValueError(f"unknown pooling rule {rule!r}; known: {', '.join(POOLING_RULES)}")


def pooled_dim(frame_dim: int, rule: str) -> int:
    """Width of the pooled vector for frames of width ``frame_dim`` under ``rule``."""
    check_rule(rule)
    return frame_dim * 2 if rule == "mean_std" else frame_dim


def dequantize(quantized: np.ndarray) -> np.ndarray:
    """uint8 [..., d] AudioSet/VGGish codes -> float32 [..., d] in [-2, 2] (q * 4/255 - 2)."""
    scale = np.float32((QUANTIZED_MAX - QUANTIZED_MIN) / 255.0)
    return quantized.astype(np.float32) * scale + np.float32(QUANTIZED_MIN)


def pool(frames: np.ndarray, rule: str) -> np.ndarray:
    """Pool float32 frames [n, d] (n >= 1) into one float32 vector [pooled_dim(d, rule)].

    Raises:
        ValueError: for an unknown rule, a non-2-D array or zero frames.
    """
    check_rule(rule)
    if frames.ndim != 2:
        raise ValueError(f"frames must be a 2-D array [n, d], got shape {frames.shape}")
    if frames.shape[0] == 0:
        raise ValueError("cannot pool zero frames")
    as_float = frames.astype(np.float32, copy=False)
    mean = as_float.mean(axis=0, dtype=np.float64)
    if rule == "mean":
        return mean.astype(np.float32)
    std = as_float.std(axis=0, dtype=np.float64)
    return np.concatenate([mean, std]).astype(np.float32)


def pool_segments(frames: np.ndarray, lengths: np.ndarray, rule: str) -> np.ndarray:
    """Pool many variable-length segments at once (the ingest hot path).

    Args:
        frames: float32 [total_frames, d], the segments' frames one after another.
        lengths: int [num_segments], frames per segment (each >= 1, summing to total_frames).
        rule: a pooling rule.

    Returns:
        float32 [num_segments, pooled_dim(d, rule)], row i equal to
        ``pool(frames[offset_i : offset_i + lengths[i]], rule)``.
    """
    check_rule(rule)
    lengths = np.asarray(lengths, dtype=np.int64)
    if frames.ndim != 2 or lengths.ndim != 1:
        raise ValueError("frames must be [total, d] and lengths [num_segments]")
    if lengths.size and (lengths.min() < 1 or int(lengths.sum()) != frames.shape[0]):
        raise ValueError("every segment needs at least one frame and lengths must sum to total")
    if lengths.size == 0:
        return np.zeros((0, pooled_dim(frames.shape[1], rule)), dtype=np.float32)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    as_float = frames.astype(np.float64)
    counts = lengths[:, None].astype(np.float64)
    mean = np.add.reduceat(as_float, starts, axis=0) / counts
    if rule == "mean":
        return mean.astype(np.float32)
    mean_square = np.add.reduceat(as_float * as_float, starts, axis=0) / counts
    std = np.sqrt(np.maximum(mean_square - mean * mean, 0.0))
    return np.concatenate([mean, std], axis=1).astype(np.float32)
