"""musicnn as an ONNX graph, for onnxruntime to run (:mod:`.onnx_network`) or quantize.

The same network as the numpy reference (:mod:`musicrec_core.embedders.musicnn.model`) in
ONNX's NCHW layout. Tensors are [n, channels, time, frequency]; a 2-D TensorFlow kernel
[t, f, 1, C] becomes [C, 1, t, f].

- input batch norm, reshape to [n, 1, 187, 96];
- front end: each block conv -> bias -> ReLU -> batch norm -> max over frequency
  (timbral: time padded by 3, VALID; temporal: SAME in time, the odd zero after)
  -> [n, C, 187, 1]; concatenated -> [n, 561, 187, 1]. The graph takes the max straight
  from the convolution and runs ReLU and batch norm after it, on a tensor 59-96 times
  smaller, as the numpy reference does: both are non-decreasing for a channel whose
  batch-norm scale is positive, so they commute with the max; for a negative scale the
  max becomes the min, taken as minus the max of the convolution with kernel and bias
  negated (``sign``). The result is bit for bit that of the textbook order, not only
  close: negating a kernel and a bias negates every product and sum exactly, and float32
  rounding of ``x + b``, ``x * s`` and ReLU is itself monotone, so the max (or min) picks
  the same element either way. The convolution output, the largest tensor of the network,
  is never normalised or reordered (profile: the batch norms and the layout reorders
  after it were about a fifth of the network's time);
- mid end: a kernel [7, width, 1, 64] spanning every feature is a conv of the 561 (or 64)
  channels with a [7, 1] kernel: [64, width, 7, 1]; ReLU, batch norm, residual from the 2nd;
  dense connection -> [n, 753, 187, 1]. The first conv reads the 561 features with 15
  zero channels added (:data:`CHANNEL_BLOCK`), which runs its sums in another order than
  the plain product did: outputs move by float32 rounding only (embeddings by at most
  2e-6 on the reference clips);
- back end: max and mean over time concatenated on a new axis [n, 753, 2, 1] and flattened,
  interleaving (max_0, mean_0, ...) as the reference does; batch norm; dense 200 + ReLU;
  batch norm -> ``embedding``; dense 50, sigmoid -> ``probabilities``. The ReLU output of
  dense 200 (before its batch norm) is the third output, ``dense``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from musicrec_core.embedders.musicnn.frontend import MEL_BANDS, PATCH_FRAMES
from musicrec_core.embedders.musicnn.model import (
    EMBEDDING_DIM,
    NUM_TAGS,
    POOLED_FEATURES,
    BatchNorm,
    front_end_blocks,
    mid_end_blocks,
)

INPUT_NAME = "patches"
OUTPUTS = ("embedding", "probabilities", "dense")
"""Output names, in the graph's order; widths EMBEDDING_DIM, NUM_TAGS, EMBEDDING_DIM."""
CHANNEL_BLOCK = 16
"""Convolutions get zero filters, or zero input channels, up to a multiple of this
(front-end filters 204 -> 208 and 51 -> 64; the mid end's 561 input features -> 576).
onnxruntime's blocked (NCHWc) layout, 16 channels a block with AVX-512 and 8 with AVX2,
takes only whole blocks: otherwise the max over frequency runs after a reorder of the
whole [n, C, 187, F'] convolution output (it was a tenth of the network's time), and the
first mid-end convolution as a plain im2col product, about three times slower per
multiply-add than the blocked one."""


def whole_blocks(channels: int) -> int:
    """``channels`` rounded up to a multiple of :data:`CHANNEL_BLOCK`."""
    return -(-channels // CHANNEL_BLOCK) * CHANNEL_BLOCK


def musicnn_graph(variables: Mapping[str, np.ndarray]) -> onnx.ModelProto:
    """The float32 network: ``patches`` [n, 187, 96] -> ``embedding`` [n, 200],
    ``probabilities`` [n, 50] and ``dense`` [n, 200].

    Args:
        variables: name -> array for every name in
            :func:`~musicrec_core.embedders.musicnn.model.variable_shapes`.
    """
    w = {name: np.asarray(value, np.float32) for name, value in variables.items()}
    nodes: list[onnx.NodeProto] = []
    initializers: list[TensorProto] = []

    def constant(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attributes: object) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def batch_norm(x: str, name: str, shape: tuple[int, ...]) -> str:
        folded = BatchNorm.read(w, name)
        scale = constant(f"{name}/scale", folded.scale.reshape(shape))
        scaled = node("Mul", [x, scale], f"{name}/mul")
        return node("Add", [scaled, constant(f"{name}/shift", folded.shift.reshape(shape))], name)

    def convolution(
        x: str, name: str, kernel: np.ndarray, bias: np.ndarray, pads: list[int]
    ) -> str:
        weights = [constant(f"{name}/kernel", kernel), constant(f"{name}/bias", bias)]
        return node("Conv", [x, *weights], f"{name}/conv", pads=pads)

    def conv_block(x: str, name: str, norm: str, kernel: np.ndarray, pads: list[int]) -> str:
        out = convolution(x, name, kernel, w[f"{name}/bias"], pads)
        return batch_norm(node("Relu", [out], f"{name}/relu"), norm, (1, -1, 1, 1))

    def front_block(x: str, name: str, norm: str, kernel: np.ndarray, pads: list[int]) -> str:
        filters = kernel.shape[0]
        added = whole_blocks(filters) - filters
        sign = BatchNorm.read(w, norm).sign
        signed_kernel = np.pad(kernel * sign[:, None, None, None], [(0, added)] + [(0, 0)] * 3)
        signed_bias = np.pad(w[f"{name}/bias"] * sign, (0, added))
        signed = convolution(x, name, signed_kernel, signed_bias, pads)
        frequencies = MEL_BANDS - kernel.shape[3] + 1  # VALID positions
        peak = node("MaxPool", [signed], f"{name}/max", kernel_shape=[1, frequencies])
        if added:
            limits = [constant(f"{name}/filters", np.array([filters])), "channel_axis"]
            peak = node("Slice", [peak, "zero", *limits], f"{name}/sliced")
        extreme = node("Mul", [peak, constant(f"{name}/sign", sign.reshape(1, -1, 1, 1))], name)
        return batch_norm(node("Relu", [extreme], f"{name}/relu"), norm, (1, -1, 1, 1))

    constant("zero", np.array([0]))
    constant("channel_axis", np.array([1]))
    x = batch_norm(INPUT_NAME, "batch_normalization", (1,))
    x = node(
        "Reshape",
        [x, constant("image_shape", np.array([-1, 1, PATCH_FRAMES, MEL_BANDS]))],
        "image",
    )
    front = []
    for conv, norm, (before, after) in front_end_blocks():
        kernel = w[f"{conv}/kernel"].transpose(3, 2, 0, 1)  # [t, f, 1, C] -> [C, 1, t, f]
        front.append(front_block(x, conv, norm, kernel, [before, 0, after, 0]))
    features = [node("Concat", front, "front", axis=1)]
    for index, (conv, norm, (before, after)) in enumerate(mid_end_blocks()):
        kernel = w[f"{conv}/kernel"].transpose(3, 1, 0, 2)  # [7, width, 1, 64] -> [64, width, 7, 1]
        source, added = features[-1], whole_blocks(kernel.shape[1]) - kernel.shape[1]
        if added:  # the 561 front-end features: zero channels with zero weights
            kernel = np.pad(kernel, [(0, 0), (0, added), (0, 0), (0, 0)])
            channel_pads = constant(f"{conv}/pads", np.array([0, 0, 0, 0, 0, added, 0, 0]))
            source = node("Pad", [source, channel_pads], f"{conv}/blocked")
        out = conv_block(source, conv, norm, kernel, [before, 0, after, 0])
        if index > 0:
            out = node("Add", [out, features[-1]], f"{conv}/residual")
        features.append(out)
    dense_features = node("Concat", features, "dense_features", axis=1)
    pooled = [
        node("ReduceMax", [dense_features], "time_max", axes=[2], keepdims=1),
        node("ReduceMean", [dense_features], "time_mean", axes=[2], keepdims=1),
    ]
    x = node("Concat", pooled, "pooled", axis=2)
    x = node(
        "Reshape",
        [x, constant("pooled_shape", np.array([-1, POOLED_FEATURES]))],
        "flat",
    )
    x = batch_norm(x, "batch_normalization_9", (1, -1))
    x = node(
        "Gemm",
        [
            x,
            constant("dense/w", w["dense/kernel"]),
            constant("dense/b", w["dense/bias"]),
        ],
        "dense/gemm",
    )
    dense = node("Relu", [x], "dense/relu")
    nodes.append(helper.make_node("Identity", [dense], [OUTPUTS[2]]))
    embedding = batch_norm(dense, "batch_normalization_10", (1, -1))
    nodes.append(helper.make_node("Identity", [embedding], [OUTPUTS[0]]))
    logits = node(
        "Gemm",
        [
            embedding,
            constant("dense_1/w", w["dense_1/kernel"]),
            constant("dense_1/b", w["dense_1/bias"]),
        ],
        "logits",
    )
    nodes.append(helper.make_node("Sigmoid", [logits], [OUTPUTS[1]]))
    graph = helper.make_graph(
        nodes,
        "musicnn",
        [
            helper.make_tensor_value_info(
                INPUT_NAME, TensorProto.FLOAT, ["n", PATCH_FRAMES, MEL_BANDS]
            )
        ],
        [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, ["n", width])
            for name, width in zip(OUTPUTS, (EMBEDDING_DIM, NUM_TAGS, EMBEDDING_DIM), strict=True)
        ],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
