"""The musicnn network (MSD_musicnn / MTT_musicnn) in TensorFlow 2, inference only.

Input: log-mel patches float32 [batch, 187, 96] (time, mel band). Shapes below omit batch.

- Input batch norm over the single channel [batch_normalization].
- Front end ("musically motivated" filters), each block conv -> ReLU -> batch norm -> max
  over the whole frequency axis:
  - timbral: time zero-padded by 3 on each side, conv 7x38 [conv2d] and 7x67 [conv2d_1],
    204 filters, VALID -> [187, 204] each;
  - temporal: conv 128x1, 64x1, 32x1 [conv2d_2 .. conv2d_4], 51 filters, SAME -> [187, 51].
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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

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


class MusicnnNetwork:
    """The network with its weights as constants; call it on patches.

    Calls may come from several threads: a compiled ``tf.function`` with a fixed input
    signature is traced once and is safe to run concurrently.
    """

    def __init__(self, variables: Mapping[str, np.ndarray]) -> None:
        """Args: variables: name -> float32 array for every name in :func:`variable_shapes`
        (as returned by :func:`~musicrec_core.embedders.musicnn.checkpoint.read_variables`)."""
        self._weights = {
            name: tf.constant(value, dtype=tf.float32) for name, value in variables.items()
        }
        self._forward = tf.function(
            self._graph,
            input_signature=[tf.TensorSpec([None, PATCH_FRAMES, MEL_BANDS], tf.float32)],
        )

    def __call__(self, patches: np.ndarray) -> NetworkOutput:
        """Run patches float32 [n, PATCH_FRAMES, MEL_BANDS] (n >= 1) through the network."""
        probabilities, embedding, dense = self._forward(tf.convert_to_tensor(patches, tf.float32))
        return NetworkOutput(probabilities.numpy(), embedding.numpy(), dense.numpy())

    def _batch_norm(self, x: tf.Tensor, name: str) -> tf.Tensor:
        """Inference batch norm over the last axis with the stored moving statistics."""
        w = self._weights
        return tf.nn.batch_normalization(
            x,
            mean=w[f"{name}/moving_mean"],
            variance=w[f"{name}/moving_variance"],
            offset=w[f"{name}/beta"],
            scale=w[f"{name}/gamma"],
            variance_epsilon=BATCH_NORM_EPSILON,
        )

    def _conv_block(self, x: tf.Tensor, conv: str, norm: str, padding: str) -> tf.Tensor:
        """conv2d -> ReLU -> batch norm -> max over frequency: [n, T, F, 1] -> [n, T', filters].

        Computed in an order that gives exactly the same numbers with less work: ReLU and
        a batch norm with a positive scale are non-decreasing, so they commute with the max
        over frequency; a negative scale turns that max into the min. So each channel's max
        or min over frequency is taken straight from the convolution, and ReLU and batch
        norm run on [n, T', filters] instead of the 59-96 times larger [n, T', F', filters].
        """
        w = self._weights
        h = tf.nn.conv2d(x, w[f"{conv}/kernel"], strides=1, padding=padding) + w[f"{conv}/bias"]
        scale = w[f"{norm}/gamma"] * tf.math.rsqrt(
            w[f"{norm}/moving_variance"] + BATCH_NORM_EPSILON
        )
        extreme = tf.where(scale >= 0, tf.reduce_max(h, axis=2), tf.reduce_min(h, axis=2))
        return self._batch_norm(tf.nn.relu(extreme), norm)

    def _graph(self, patches: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        w = self._weights
        x = self._batch_norm(patches[..., tf.newaxis], "batch_normalization")  # [n, 187, 96, 1]

        # Front end.
        time_pad = [[0, 0], [_TIMBRAL_TIME_PAD, _TIMBRAL_TIME_PAD], [0, 0], [0, 0]]
        padded = tf.pad(x, time_pad)  # [n, 193, 96, 1]
        front = [self._conv_block(padded, conv, norm, "VALID") for conv, norm, *_ in _TIMBRAL]
        front += [self._conv_block(x, conv, norm, "SAME") for conv, norm, *_ in _TEMPORAL]
        features = [tf.concat(front, axis=2)]  # [n, 187, 561]

        # Mid end: 1-D convolutions over time; a [7, width, 1, 64] kernel spanning every
        # feature is a conv1d kernel [7, width, 64].
        for index, (conv, norm) in enumerate(_MIDEND):
            previous = features[-1]
            kernel = w[f"{conv}/kernel"]
            kernel = tf.reshape(kernel, [_MIDEND_KERNEL_TIME, kernel.shape[1], MIDEND_FILTERS])
            h = tf.pad(previous, [[0, 0], [_MIDEND_TIME_PAD, _MIDEND_TIME_PAD], [0, 0]])
            h = tf.nn.conv1d(h, kernel, stride=1, padding="VALID")  # [n, 187, 64]
            h = self._batch_norm(tf.nn.relu(h + w[f"{conv}/bias"]), norm)
            features.append(h if index == 0 else h + previous)
        dense_features = tf.concat(features, axis=2)  # [n, 187, 753]

        # Back end.
        pooled = tf.stack(
            [tf.reduce_max(dense_features, axis=1), tf.reduce_mean(dense_features, axis=1)],
            axis=2,
        )  # [n, 753, 2]
        pooled = tf.reshape(pooled, [-1, POOLED_FEATURES])  # max_0, mean_0, max_1, ...
        pooled = self._batch_norm(pooled, "batch_normalization_9")
        dense = tf.nn.relu(tf.matmul(pooled, w["dense/kernel"]) + w["dense/bias"])
        embedding = self._batch_norm(dense, "batch_normalization_10")
        logits = tf.matmul(embedding, w["dense_1/kernel"]) + w["dense_1/bias"]
        return tf.sigmoid(logits), embedding, dense
