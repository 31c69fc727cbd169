"""musicnn with its convolutions in bfloat16, run by TensorFlow: opt-in, after a check.

The network of :mod:`.model` (read that docstring for the layers) in one ``tf.function``
with a fixed input signature ``[None, 187, 96]`` float32, NHWC. Every convolution (the five
front-end blocks and the three mid-end ones, over 99 % of the multiply-adds) reads its
input and kernel in bfloat16; oneDNN's AVX-512 BF16 kernels accumulate in float32 and
write bfloat16. Everything else (input batch norm, bias, ReLU, batch norms, pooling, the
dense layers, the sigmoid) runs in float32 on the convolution outputs cast back.

The front end keeps the reference's order (:class:`~.model._ConvBlock`): the kernel's
columns for a negative batch-norm scale are negated, so the max over frequency is taken
straight from the bfloat16 convolution output, inside the graph, and ReLU and batch norm
run on [n, 187, C]. Rounding to bfloat16 is monotone, so that max is the rounded max of the
accumulated sums. The max is a max-pool over all frequencies (oneDNN's bfloat16 pooling):
``reduce_max`` gives the same values but added about a fifth to the 7x38 block's time.

Cost and agreement (``benchmarks/bench_int8.py`` on the development machine's AMD EPYC
with AVX512_BF16, 2 cores, same run): 17.0 CPU-ms per patch in batches of 16 against 28.9
for the product's float32 onnxruntime network (1.70x); on 200 queries of real music in 200
library windows, top-10 neighbours overlap 99.0 % and patch embeddings differ from
float32's by 0.75 % (median relative L2; 95th percentile 1.23 %). On a CPU without native
bfloat16 TensorFlow emulates it, slower than float32: ``musicrec quantize check`` measures
both and refuses there. Importing this module imports TensorFlow (about 2 s).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from musicrec_core.embedders.musicnn.frontend import MEL_BANDS, PATCH_FRAMES
from musicrec_core.embedders.musicnn.model import (
    POOLED_FEATURES,
    BatchNorm,
    NetworkOutput,
    front_end_blocks,
    mid_end_blocks,
)

_PATCH_SHAPE = (PATCH_FRAMES, MEL_BANDS)


class Bfloat16MusicnnNetwork:
    """The network with bfloat16 convolutions, with :class:`~.model.MusicnnNetwork`'s call.
    Holds no state between calls; several threads may call it at once."""

    def __init__(self, variables: Mapping[str, np.ndarray]) -> None:
        """Build the graph and trace it once (so the first real call pays no set-up).

        Args:
            variables: name -> float32 array for every name in
                :func:`~.model.variable_shapes` (as ``read_variables`` returns them).
        """
        w = {name: np.asarray(value, np.float32) for name, value in variables.items()}

        def norm(name: str) -> tuple[tf.Tensor, tf.Tensor]:
            """(scale, shift) float32 [width] of an inference batch norm."""
            folded = BatchNorm.read(w, name)
            return tf.constant(folded.scale), tf.constant(folded.shift)

        self._input_norm = norm("batch_normalization")
        self._front = []
        for conv, norm_name, time_pad in front_end_blocks():
            sign = BatchNorm.read(w, norm_name).sign
            kernel = w[f"{conv}/kernel"] * sign  # [t, f, 1, C], columns times sign
            self._front.append(
                (
                    tf.cast(tf.constant(kernel), tf.bfloat16),
                    tf.constant(w[f"{conv}/bias"]),
                    tf.constant(sign),
                    norm(norm_name),
                    [[0, 0], list(time_pad), [0, 0], [0, 0]],
                )
            )
        self._midend = [
            (
                tf.cast(
                    tf.constant(w[f"{conv}/kernel"][:, :, 0, :]), tf.bfloat16
                ),  # [7, width, 64]
                tf.constant(w[f"{conv}/bias"]),
                norm(norm_name),
                [[0, 0], list(time_pad), [0, 0]],
            )
            for conv, norm_name, time_pad in mid_end_blocks()
        ]
        self._pooled_norm = norm("batch_normalization_9")
        self._dense = (tf.constant(w["dense/kernel"]), tf.constant(w["dense/bias"]))
        self._embedding_norm = norm("batch_normalization_10")
        self._logits = (tf.constant(w["dense_1/kernel"]), tf.constant(w["dense_1/bias"]))
        self._forward = tf.function(
            self._graph,
            input_signature=[tf.TensorSpec((None, *_PATCH_SHAPE), tf.float32)],
            jit_compile=False,
        )
        self(np.zeros((1, *_PATCH_SHAPE), np.float32))

    def _graph(self, patches: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """float32 [n, 187, 96] -> (probabilities [n, 50], embedding [n, 200], dense [n, 200])."""
        scale, shift = self._input_norm
        image = tf.cast(tf.expand_dims(patches * scale + shift, -1), tf.bfloat16)  # [n,187,96,1]

        front = []
        for kernel, bias, sign, (scale, shift), pads in self._front:
            h = tf.nn.conv2d(tf.pad(image, pads), kernel, 1, "VALID")  # [n, 187, F', C] bf16
            window = (1, MEL_BANDS - kernel.shape[1] + 1)  # all F' frequencies
            peak = tf.squeeze(tf.nn.max_pool2d(h, window, window, "VALID"), axis=2)
            extreme = tf.cast(peak, tf.float32) * sign  # [n, 187, C]
            front.append(tf.nn.relu(extreme + bias) * scale + shift)
        features = [tf.concat(front, axis=2)]  # [n, 187, 561]

        for index, (kernel, bias, (scale, shift), pads) in enumerate(self._midend):
            previous = features[-1]
            h = tf.nn.conv1d(tf.pad(tf.cast(previous, tf.bfloat16), pads), kernel, 1, "VALID")
            h = tf.nn.relu(tf.cast(h, tf.float32) + bias) * scale + shift  # [n, 187, 64]
            features.append(h if index == 0 else h + previous)
        dense_features = tf.concat(features, axis=2)  # [n, 187, 753]

        pooled = tf.stack(
            [tf.reduce_max(dense_features, axis=1), tf.reduce_mean(dense_features, axis=1)],
            axis=2,
        )  # [n, 753, 2]: max_0, mean_0, max_1, ...
        scale, shift = self._pooled_norm
        pooled = tf.reshape(pooled, (-1, POOLED_FEATURES)) * scale + shift
        kernel, bias = self._dense
        dense = tf.nn.relu(tf.matmul(pooled, kernel) + bias)
        scale, shift = self._embedding_norm
        embedding = dense * scale + shift
        kernel, bias = self._logits
        probabilities = tf.sigmoid(tf.matmul(embedding, kernel) + bias)
        return probabilities, embedding, dense

    def __call__(self, patches: np.ndarray) -> NetworkOutput:
        """Run patches float32 [n, PATCH_FRAMES, MEL_BANDS] (n >= 1) through the network.

        Raises:
            ValueError: ``patches`` does not have shape [n, 187, 96].
        """
        batch = np.asarray(patches, dtype=np.float32)
        if batch.ndim != 3 or batch.shape[1:] != _PATCH_SHAPE or batch.shape[0] == 0:
            raise ValueError(f"expected patches of shape [n, 187, 96], got {batch.shape}")
        probabilities, embedding, dense = self._forward(tf.constant(batch))
        return NetworkOutput(probabilities.numpy(), embedding.numpy(), dense.numpy())
