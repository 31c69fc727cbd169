"""The musicnn network (MSD_musicnn / MTT_musicnn) in numpy, inference only.

Input: log-mel patches float32 [batch, 187, 96] (time, mel band). Shapes below omit batch.

- Input batch norm over the single channel [batch_normalization].
- Front end ("musically motivated" filters), each block conv -> ReLU -> batch norm -> max
  over the whole frequency axis:
  - timbral: time zero-padded by 3 on each side, conv 7x38 [conv2d] and 7x67 [conv2d_1],
    204 filters, VALID -> [187, 204] each;
  - temporal: conv 128x1, 64x1, 32x1 [conv2d_2 .. conv2d_4], 51 filters, SAME (as
    TensorFlow pads: the odd extra zero goes after) -> [187, 51] each.
  Concatenated (timbral 38, timbral 67, temporal 128, 64, 32) -> [187, 561].
- Mid end: three 1-D convs over time, kernel 7 spanning all features, 64 filters, time
  zero-padded by 3, conv -> ReLU -> batch norm [conv2d_5 .. 7, batch_normalization_6 .. 8];
  the 2nd and 3rd add their input (residual). Dense connection: front end and the three
  mid-end outputs concatenated -> [187, 753].
- Back end: max and mean over time, interleaved per feature (max_0, mean_0, max_1, ...)
  -> [1506]; batch norm [batch_normalization_9]; dense 200 + ReLU [dense]; batch norm
  [batch_normalization_10] -> the 200-d "penultimate" embedding; dense 50 [dense_1] -> logits;
  sigmoid -> tag probabilities.

Batch norms use the stored moving statistics with epsilon 0.001; dropout is off.

Every convolution is one matrix product: the input's sliding windows (a strided view,
copied once into rows) times the kernel flattened to [window, filters], which BLAS runs on
all cores. The network is small (about 2.8 GFLOP per patch, :func:`flops_per_patch`), so
numpy runs it about as fast as TensorFlow did, without TensorFlow's 2-s import and
graph tracing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from musicrec_core.embedders.musicnn.frontend import MEL_BANDS, PATCH_FRAMES

BATCH_NORM_EPSILON = 0.001
"""Epsilon of every batch norm (TensorFlow 1's default)."""

# (conv variable, batch-norm variable, kernel time x frequency, filters)
_TIMBRAL = (
    ("conv2d", "batch_normalization_1", (7, 38), 204),
    ("conv2d_1", "batch_normalization_2", (7, 67), 204),
)
_TEMPORAL = (
    ("conv2d_2", "batch_normalization_3", (128, 1), 51),
    ("conv2d_3", "batch_normalization_4", (64, 1), 51),
    ("conv2d_4", "batch_normalization_5", (32, 1), 51),
)
_TIMBRAL_TIME_PAD = 3
FRONTEND_FEATURES = sum(filters for *_, filters in _TIMBRAL + _TEMPORAL)
"""Width of the front-end output (561)."""

_MIDEND = (
    ("conv2d_5", "batch_normalization_6"),
    ("conv2d_6", "batch_normalization_7"),
    ("conv2d_7", "batch_normalization_8"),
)
MIDEND_FILTERS = 64
"""Filters of each mid-end conv."""
_MIDEND_KERNEL_TIME = 7
_MIDEND_TIME_PAD = 3
MIDEND_FEATURES = FRONTEND_FEATURES + len(_MIDEND) * MIDEND_FILTERS
"""Width of the densely connected mid-end output (753)."""
POOLED_FEATURES = 2 * MIDEND_FEATURES
"""Width of the interleaved max/mean pooled vector (1506)."""
EMBEDDING_DIM = 200
"""Width of the penultimate layer, the embedding."""
NUM_TAGS = 50
"""Outputs of the last layer (both variants)."""


def variable_shapes() -> dict[str, tuple[int, ...]]:
    """Every variable the network reads, name -> shape, as stored in the checkpoints."""
    shapes: dict[str, tuple[int, ...]] = {}

    def batch_norm(name: str, width: int) -> None:
        for part in ("gamma", "beta", "moving_mean", "moving_variance"):
            shapes[f"{name}/{part}"] = (width,)

    batch_norm("batch_normalization", 1)
    for conv, norm, (time, freq), filters in _TIMBRAL + _TEMPORAL:
        shapes[f"{conv}/kernel"] = (time, freq, 1, filters)
        shapes[f"{conv}/bias"] = (filters,)
        batch_norm(norm, filters)
    width = FRONTEND_FEATURES
    for conv, norm in _MIDEND:
        shapes[f"{conv}/kernel"] = (_MIDEND_KERNEL_TIME, width, 1, MIDEND_FILTERS)
        shapes[f"{conv}/bias"] = (MIDEND_FILTERS,)
        batch_norm(norm, MIDEND_FILTERS)
        width = MIDEND_FILTERS
    batch_norm("batch_normalization_9", POOLED_FEATURES)
    shapes["dense/kernel"] = (POOLED_FEATURES, EMBEDDING_DIM)
    shapes["dense/bias"] = (EMBEDDING_DIM,)
    batch_norm("batch_normalization_10", EMBEDDING_DIM)
    shapes["dense_1/kernel"] = (EMBEDDING_DIM, NUM_TAGS)
    shapes["dense_1/bias"] = (NUM_TAGS,)
    return shapes


def flops_per_patch() -> int:
    """Floating-point operations for one patch, counted from the layer shapes.

    Each multiply-add of a convolution or dense layer counts as 2 FLOPs, over every output
    position (SAME-padded positions included, as the convolution computes them); batch
    norms, ReLUs, pooling and the sigmoid are element-wise and left out (under 1 %).
    """
    macs = 0
    for _, _, (time, freq), filters in _TIMBRAL:
        macs += PATCH_FRAMES * (MEL_BANDS - freq + 1) * filters * time * freq
    for _, _, (time, freq), filters in _TEMPORAL:
        macs += PATCH_FRAMES * MEL_BANDS * filters * time * freq
    width = FRONTEND_FEATURES
    for _ in _MIDEND:
        macs += PATCH_FRAMES * MIDEND_FILTERS * _MIDEND_KERNEL_TIME * width
        width = MIDEND_FILTERS
    macs += POOLED_FEATURES * EMBEDDING_DIM + EMBEDDING_DIM * NUM_TAGS
    return 2 * macs


def front_end_blocks() -> list[tuple[str, str, tuple[int, int]]]:
    """(conv variable, batch-norm variable, zeros (before, after) the time axis) of each
    front-end block, in the order their outputs are concatenated (timbral 38, 67, temporal
    128, 64, 32); each block's frequency axis is VALID."""
    timbral = [(conv, norm, (_TIMBRAL_TIME_PAD,) * 2) for conv, norm, *_ in _TIMBRAL]
    temporal = [(conv, norm, _same_padding(time)) for conv, norm, (time, _), _ in _TEMPORAL]
    return timbral + temporal


def mid_end_blocks() -> list[tuple[str, str, tuple[int, int]]]:
    """(conv variable, batch-norm variable, zeros (before, after) the time axis) of each
    mid-end block, in order; the 2nd and 3rd add their input."""
    return [(conv, norm, (_MIDEND_TIME_PAD,) * 2) for conv, norm in _MIDEND]


@dataclass(frozen=True)
class NetworkOutput:
    """What one forward pass returns, one row per patch.

    Attributes:
        probabilities: float32 [n, NUM_TAGS], sigmoid of the logits.
        embedding: float32 [n, EMBEDDING_DIM], the penultimate layer (after its batch norm).
        dense: float32 [n, EMBEDDING_DIM], the same layer before that batch norm (ReLU output).
    """

    probabilities: np.ndarray
    embedding: np.ndarray
    dense: np.ndarray


@dataclass(frozen=True)
class _ConvBlock:
    """A front-end block: conv -> ReLU -> batch norm -> max over frequency, kept in an
    order that gives exactly the same numbers with less work.

    ReLU and a batch norm with a positive scale are non-decreasing, so they commute with
    the max over frequency; a negative scale turns that max into the min, and the min of
    the convolution is minus the max of the convolution with the negated kernel. So the
    kernel's columns for negative scales are stored negated (``sign`` -1), the max over
    frequency is taken straight from the convolution and multiplied by ``sign``, and ReLU
    and batch norm run on [n, T, C] instead of the 59-96 times larger [n, T, F', C].

    Attributes:
        window: the kernel's (time, frequency) extent.
        time_pad: zeros added (before, after) the input's time axis.
        kernel: float32 [time * frequency, C], the conv kernel flattened, columns times
            ``sign``.
        bias: float32 [C].
        sign: float32 [C], +1 or -1: the sign of the batch norm's scale.
        norm: the batch norm.
    """

    window: tuple[int, int]
    time_pad: tuple[int, int]
    kernel: np.ndarray
    bias: np.ndarray
    sign: np.ndarray
    norm: BatchNorm

    @classmethod
    def read(
        cls,
        variables: Mapping[str, np.ndarray],
        conv: str,
        norm: str,
        window: tuple[int, int],
        time_pad: tuple[int, int],
    ) -> _ConvBlock:
        batch_norm = BatchNorm.read(variables, norm)
        kernel = variables[f"{conv}/kernel"]
        kernel = kernel.reshape(-1, kernel.shape[-1]) * batch_norm.sign
        return cls(window, time_pad, kernel, variables[f"{conv}/bias"], batch_norm.sign, batch_norm)

    def __call__(self, padded: np.ndarray) -> np.ndarray:
        """The block on a time-padded input [n, T + sum(time_pad), F] -> [n, T, C]."""
        view = np.lib.stride_tricks.sliding_window_view(padded, self.window, axis=(1, 2))
        n, time, freq = view.shape[:3]  # VALID positions
        rows = view.reshape(n * time * freq, -1)  # the windows, copied once
        h = (rows @ self.kernel).reshape(n, time, freq, -1)
        extreme = h.max(axis=2) * self.sign  # the max, or for a negative scale the min
        return self.norm(np.maximum(extreme + self.bias, 0))


@dataclass(frozen=True)
class BatchNorm:
    """An inference batch norm folded into ``x * scale + shift``, float32 [width] each (the
    one fold every musicnn network reads: numpy, ONNX and bfloat16)."""

    scale: np.ndarray
    shift: np.ndarray

    @property
    def sign(self) -> np.ndarray:
        """float32 [width], +1 or -1: the sign of ``scale`` (a front-end block takes the max
        over frequency for +1, the min for -1; see :class:`_ConvBlock`)."""
        return np.where(self.scale >= 0, 1, -1).astype(np.float32)

    @classmethod
    def read(cls, variables: Mapping[str, np.ndarray], name: str) -> BatchNorm:
        """The batch norm ``name``'s stored moving statistics, folded (epsilon
        :data:`BATCH_NORM_EPSILON`)."""
        mean, variance = variables[f"{name}/moving_mean"], variables[f"{name}/moving_variance"]
        scale = variables[f"{name}/gamma"] / np.sqrt(variance + np.float32(BATCH_NORM_EPSILON))
        return cls(scale, variables[f"{name}/beta"] - mean * scale)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x * self.scale + self.shift


class MusicnnNetwork:
    """The network with its weights; call it on patches. Holds no state between calls, so
    several threads may call it at once."""

    def __init__(self, variables: Mapping[str, np.ndarray]) -> None:
        """Args: variables: name -> float32 array for every name in :func:`variable_shapes`
        (as returned by :func:`~musicrec_core.embedders.musicnn.checkpoint.read_variables`)."""
        w = {name: np.asarray(value, dtype=np.float32) for name, value in variables.items()}
        self._input_norm = BatchNorm.read(w, "batch_normalization")
        self._front = [
            _ConvBlock.read(w, conv, norm, w[f"{conv}/kernel"].shape[:2], time_pad)
            for conv, norm, time_pad in front_end_blocks()
        ]
        self._midend = [
            (
                w[f"{conv}/kernel"].reshape(-1, MIDEND_FILTERS),  # [7 * width, 64]
                w[f"{conv}/bias"],
                BatchNorm.read(w, norm),
            )
            for conv, norm, _ in mid_end_blocks()
        ]
        self._pooled_norm = BatchNorm.read(w, "batch_normalization_9")
        self._dense = (w["dense/kernel"], w["dense/bias"])
        self._embedding_norm = BatchNorm.read(w, "batch_normalization_10")
        self._logits = (w["dense_1/kernel"], w["dense_1/bias"])

    def __call__(self, patches: np.ndarray) -> NetworkOutput:
        """Run patches float32 [n, PATCH_FRAMES, MEL_BANDS] (n >= 1) through the network."""
        x = self._input_norm(np.asarray(patches, dtype=np.float32))
        n = x.shape[0]

        # Front end.
        front = [block(np.pad(x, [(0, 0), block.time_pad, (0, 0)])) for block in self._front]
        features = [np.concatenate(front, axis=2)]  # [n, 187, 561]

        # Mid end: a [7, width, 1, 64] kernel spanning every feature is a 1-D conv over time.
        for index, (kernel, bias, norm) in enumerate(self._midend):
            previous = features[-1]
            h = np.pad(previous, [(0, 0), (_MIDEND_TIME_PAD, _MIDEND_TIME_PAD), (0, 0)])
            rows = np.lib.stride_tricks.sliding_window_view(h, _MIDEND_KERNEL_TIME, axis=1)
            rows = rows.transpose(0, 1, 3, 2).reshape(n * PATCH_FRAMES, -1)  # [.., 7 * width]
            h = norm(np.maximum(rows @ kernel + bias, 0)).reshape(n, PATCH_FRAMES, -1)
            features.append(h if index == 0 else h + previous)
        dense_features = np.concatenate(features, axis=2)  # [n, 187, 753]

        # Back end.
        pooled = np.stack([dense_features.max(axis=1), dense_features.mean(axis=1)], axis=2)
        pooled = self._pooled_norm(pooled.reshape(n, POOLED_FEATURES))  # max_0, mean_0, ...
        kernel, bias = self._dense
        dense = np.maximum(pooled @ kernel + bias, 0)
        embedding = self._embedding_norm(dense)
        kernel, bias = self._logits
        logits = embedding @ kernel + bias
        probabilities = 1 / (1 + np.exp(-logits))
        return NetworkOutput(
            probabilities.astype(np.float32),
            embedding.astype(np.float32),
            dense.astype(np.float32),
        )


def _same_padding(length: int) -> tuple[int, int]:
    """TensorFlow's SAME padding of a stride-1 kernel of ``length``: (before, after), the
    odd extra zero after."""
    before = (length - 1) // 2
    return before, length - 1 - before
