"""The rule that turns per-frame embeddings into the one vector a catalog item is indexed by.

Index and query must pool the same way, so the rule is named in every index manifest and
the recommender pools its query with the rule the loaded index names.

Rules:
    ``"mean"``: the mean of the frames, ``[n, d] -> [d]``. The default.
    ``"mean_std"``: the mean and the (population) standard deviation of the frames
    concatenated, ``[n, d] -> [2d]``. A one-frame clip has a zero standard deviation.

Why ``"mean"`` is the default, measured by ``benchmarks/bench_index.py --pooling``:
synthetic videos whose seconds scatter around a video-specific centre with a
video-specific spread per dimension, quantized like VGGish; the index holds one 10-s
window per video and the query is another window of the same video (top-1 = own video
first, 2000 videos)::

    centre std  spreads     mean   mean_std
    0.5         0.3..1.5    1.000  1.000     videos differ by what they sound like
    0.5         0.6..0.8    1.000  1.000
    0.2         0.3..1.5    0.574  1.000     ... mostly by how much they vary
    0.2         0.6..0.8    0.971  0.952
    0.1         0.3..1.5    0.018  0.997     ... only by how much they vary
    0.1         0.6..0.8    0.067  0.080

Where videos differ by their average sound (the regime we expect for 10-s AudioSet
segments, whose seconds mostly sound alike), both rules are perfect and ``mean`` costs
half the index size and distance work; ``mean_std`` wins only where videos differ by
their variability, and loses a little where spreads are alike (its all-positive half
pulls every vector towards a common direction under the angular metric). This is
synthetic evidence: the choice is to be re-checked on the real AudioSet features with
the real VGGish, and ``mean_std`` stays available (``--pooling mean_std``).

Frames are expected in the space the catalog indexes: for VGGish the dequantized
postprocessed embedding (``q * 4/255 - 2``). AudioSet's uint8 release features are pooled as
codes and mapped onto that grid by VGGish's own dequantizer
(:func:`~musicrec_core.embedders.vggish.postprocess.dequantize_mean`), so a segment and a
query sit on the same float32 values (:func:`pool_quantized`).
"""

from __future__ import annotations

import numpy as np

from musicrec_core.embedders.vggish.postprocess import QUANTIZE_STEP, dequantize_mean

POOLING_RULES = ("mean", "mean_std")
"""Every rule :func:`pool` knows, in the order they were introduced."""

DEFAULT_POOLING = "mean"
"""The rule new indexes are built with (recorded in their manifest)."""


def check_rule(rule: str) -> None:
    """Raise ValueError naming the known rules unless ``rule`` is one of them."""
    if rule not in POOLING_RULES:
        raise ValueError(f"unknown pooling rule {rule!r}; known: {', '.join(POOLING_RULES)}")


def pooled_dim(frame_dim: int, rule: str) -> int:
    """Width of the pooled vector for frames of width ``frame_dim`` under ``rule``."""
    check_rule(rule)
    return frame_dim * 2 if rule == "mean_std" else frame_dim


def pool(frames: np.ndarray, rule: str) -> np.ndarray:
    """Pool float32 frames [n, d] (n >= 1) into one float32 vector [pooled_dim(d, rule)].

    Raises:
        ValueError: for an unknown rule, a non-2-D array or zero frames.
    """
    if frames.ndim != 2:
        raise ValueError(f"frames must be a 2-D array [n, d], got shape {frames.shape}")
    return pool_many(frames[None], rule)[0]


def pool_many(frames: np.ndarray, rule: str) -> np.ndarray:
    """Pool m equally long segments at once: [m, n, d] (n >= 1, any real dtype) -> float32 [m, D].

    This is the one implementation of every rule; :func:`pool`, :func:`pool_segments` and
    :func:`pool_quantized` call it. Statistics are taken along the frame axis in float32,
    so a row's result does not depend on the other rows of the batch.
    """
    check_rule(rule)
    if frames.ndim != 3:
        raise ValueError(f"frames must be a 3-D array [m, n, d], got shape {frames.shape}")
    if frames.shape[1] == 0:
        raise ValueError("cannot pool zero frames")
    mean = frames.mean(axis=1, dtype=np.float32)
    if rule == "mean":
        return mean
    std = frames.std(axis=1, dtype=np.float32)
    return np.concatenate([mean, std], axis=1)


def pool_quantized(codes: np.ndarray, rule: str) -> np.ndarray:
    """``pool_many(dequantize(codes), rule)`` without dequantizing every frame.

    Dequantization is affine (x = q * s + min), so the mean of the values is the
    dequantized mean of the codes and their standard deviation is s times the codes'.
    The codes are pooled first (the float32 statistics :func:`pool_many` takes of them),
    then mapped by :func:`~musicrec_core.embedders.vggish.postprocess.dequantize_mean`,
    the grid's one arithmetic: a one-frame segment gives exactly the float32 vector that
    dequantizing (and pooling) that frame on the query path gives. For ``"mean"`` the codes
    are summed in uint16 (uint32 past 257 frames), which is exact, and divided in float32:
    the very float32 mean :func:`pool_many` gives, in about half the time (the sum it takes
    in float32 is exact too, but converts every code first).

    Args:
        codes: uint8 [m, n, d] AudioSet/VGGish codes.
        rule: a pooling rule.

    Returns:
        float32 [m, pooled_dim(d, rule)].
    """
    frames = codes.shape[1] if codes.ndim == 3 else 0
    if rule == "mean" and codes.dtype == np.uint8 and frames > 0:
        pooled = codes.sum(axis=1, dtype=np.uint16 if frames <= 257 else np.uint32)
        pooled = pooled.astype(np.float32)
        pooled /= np.float32(frames)
    else:
        pooled = pool_many(codes, rule)
    dim = codes.shape[2]
    pooled[:, :dim] = dequantize_mean(pooled[:, :dim])
    # A spread scales by the step alone (no offset), in the same float64 arithmetic.
    pooled[:, dim:] = pooled[:, dim:].astype(np.float64) * QUANTIZE_STEP
    return pooled


def pool_segments(frames: np.ndarray, lengths: np.ndarray, rule: str) -> np.ndarray:
    """Pool many variable-length segments at once.

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
    pooled = np.zeros((lengths.size, pooled_dim(frames.shape[1], rule)), dtype=np.float32)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    # Segments of equal length are pooled together as one [m, n, d] block.
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        take = starts[rows][:, None] + np.arange(length)
        pooled[rows] = pool_many(frames[take], rule)
    return pooled
