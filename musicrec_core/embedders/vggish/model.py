"""The VGGish network in TensorFlow 2: log-mel examples -> 128-d raw embeddings.

NHWC float32, as in the official model: six 3x3 stride-1 SAME ReLU convolutions with four
2x2 stride-2 SAME max-pools (see params.CONV_LAYERS), the [6, 4, 512] map flattened in NHWC
order, then fc1_1 and fc1_2 (4096, ReLU) and fc2 (128, no activation: the released AudioSet
features are fc2's pre-activation values).

The forward pass is one ``tf.function`` with a fixed input signature (no retracing for new
batch sizes) over weights captured as constants; TensorFlow's oneDNN kernels fuse each
conv + bias + ReLU and run within a few percent of numpy's float32 GEMM rate on the 2-core
development machine. XLA (``jit_compile=True``) measured no faster there, so it is off.
One instance may be called from several threads at once.

``compute_dtype="bfloat16"`` keeps the weights and activations in bfloat16 (oneDNN's
AVX-512 BF16 kernels accumulate in float32); input and output stay float32. It runs only
after a passing check (:mod:`.checked`).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from musicrec_core.embedders.vggish import params
from musicrec_core.embedders.vggish.checkpoint import VGGishWeights

_EXAMPLE_SHAPE = (params.EXAMPLE_WINDOW_FRAMES, params.NUM_MEL_BANDS)


class VGGishModel:
    """Callable VGGish network built from validated weights.

    ``model(examples)`` maps float32 [num_examples, 96, 64] log-mel examples to float32
    [num_examples, 128] raw (pre-PCA) embeddings.
    """

    def __init__(self, weights: VGGishWeights, compute_dtype: str = "float32") -> None:
        """Build the network; ``compute_dtype`` is "float32" or "bfloat16"."""
        self._dtype = tf.dtypes.as_dtype(compute_dtype)

        def constant(scope: str, kind: str) -> tf.Tensor:
            # tf.identity copies the (memory-mapped) array into one TF-owned buffer;
            # tf.constant kept two copies of each large array alive (TF 2.21, measured).
            value = tf.identity(weights.arrays[f"{params.VARIABLE_SCOPE}/{scope}/{kind}"])
            return value if self._dtype == tf.float32 else tf.cast(value, self._dtype)

        self._convs = [
            (constant(scope, "weights"), constant(scope, "biases"), pooled)
            for scope, _, pooled in params.CONV_LAYERS
        ]
        self._fcs = [
            (constant(scope, "weights"), constant(scope, "biases"), relu)
            for scope, _, relu in params.FC_LAYERS
        ]
        self._forward = tf.function(
            self._graph,
            input_signature=[tf.TensorSpec((None, *_EXAMPLE_SHAPE), tf.float32)],
            jit_compile=False,
        )
        # Trace and run once so the first real call pays no set-up cost.
        self(np.zeros((1, *_EXAMPLE_SHAPE), np.float32))

    def _graph(self, examples: tf.Tensor) -> tf.Tensor:
        # [n, 96, 64] -> [n, 96, 64, 1]: one input channel.
        net = tf.cast(tf.expand_dims(examples, axis=-1), self._dtype)
        for kernel, bias, pooled in self._convs:
            net = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(net, kernel, 1, "SAME"), bias))
            if pooled:
                net = tf.nn.max_pool2d(net, params.POOL_SIZE, params.POOL_SIZE, "SAME")
        # [n, 6, 4, 512] -> [n, 12288], row-major over (height, width, channel).
        net = tf.reshape(net, (-1, params.FLATTENED_SIZE))
        for kernel, bias, relu in self._fcs:
            net = tf.nn.bias_add(tf.matmul(net, kernel), bias)
            if relu:
                net = tf.nn.relu(net)
        return tf.cast(net, tf.float32)

    def __call__(self, examples: np.ndarray) -> np.ndarray:
        """Raw embeddings of log-mel examples.

        Args:
            examples: float32 [num_examples, 96, 64] (from frontend.waveform_to_examples).

        Returns:
            float32 [num_examples, 128]; an empty batch gives [0, 128].

        Raises:
            ValueError: ``examples`` does not have shape [num_examples, 96, 64].
        """
        batch = np.asarray(examples, dtype=np.float32)
        if batch.ndim != 3 or batch.shape[1:] != _EXAMPLE_SHAPE:
            raise ValueError(
                f"expected examples of shape [num_examples, 96, 64], got {batch.shape}"
            )
        if batch.shape[0] == 0:
            return np.zeros((0, params.EMBEDDING_SIZE), np.float32)
        return self._forward(tf.constant(batch)).numpy()
