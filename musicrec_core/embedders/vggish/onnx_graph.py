"""VGGish as an ONNX graph, built from its validated weights (for onnxruntime and int8).

The graph is the network of :mod:`.model`, written in ONNX's NCHW layout: input
``examples`` float32 [n, 96, 64] is reshaped to [n, 1, 96, 64]; each 3x3 convolution (kernel
transposed from TensorFlow's [h, w, in, out] to ONNX's [out, in, h, w], one zero of padding
on every side = SAME for a 3x3 stride-1 kernel) is followed by ReLU and, where the network
pools, a 2x2 stride-2 max-pool (96x64 halves exactly four times to 6x4, so SAME pooling
needs no padding). TensorFlow flattens the last map [6, 4, 512] in (height, width, channel)
order; ONNX's Flatten of [512, 6, 4] runs (channel, height, width), so fc1_1's 12288 rows
are permuted once here instead of transposing every activation. Then three Gemm layers
(ReLU after the first two); output ``raw`` float32 [n, 128].

Nothing here imports TensorFlow: the weights come from
:func:`~musicrec_core.embedders.vggish.checkpoint.load_weights`.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from musicrec_core.embedders.vggish import params
from musicrec_core.embedders.vggish.checkpoint import VGGishWeights

INPUT_NAME = "examples"
"""The graph's input: float32 [n, 96, 64] log-mel examples."""
OUTPUT_NAME = "raw"
"""The graph's output: float32 [n, 128] raw (pre-PCA) embeddings."""
OPSET = 17
_LAST_MAP = (512, 6, 4)
"""(channels, height, width) of the last pooled map."""


def vggish_graph(weights: VGGishWeights) -> onnx.ModelProto:
    """The float32 VGGish network as an ONNX model (see the module docstring)."""
    arrays = weights.arrays
    initializers: list[TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def constant(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    shape = constant("input_shape", np.array([-1, 1, *_example_shape()], np.int64))
    nodes.append(helper.make_node("Reshape", [INPUT_NAME, shape], ["image"]))
    net = "image"
    for scope, _, pooled in params.CONV_LAYERS:
        prefix = f"{params.VARIABLE_SCOPE}/{scope}"
        kernel = constant(f"{scope}/kernel", arrays[f"{prefix}/weights"].transpose(3, 2, 0, 1))
        bias = constant(f"{scope}/bias", arrays[f"{prefix}/biases"])
        nodes.append(
            helper.make_node(
                "Conv", [net, kernel, bias], [f"{scope}/conv"], name=scope, pads=[1, 1, 1, 1]
            )
        )
        nodes.append(helper.make_node("Relu", [f"{scope}/conv"], [f"{scope}/relu"]))
        net = f"{scope}/relu"
        if pooled:
            size = [params.POOL_SIZE, params.POOL_SIZE]
            nodes.append(
                helper.make_node(
                    "MaxPool", [net], [f"{scope}/pool"], kernel_shape=size, strides=size
                )
            )
            net = f"{scope}/pool"
    nodes.append(helper.make_node("Flatten", [net], ["flat"], axis=1))
    net = "flat"
    for position, (scope, _, relu) in enumerate(params.FC_LAYERS):
        prefix = f"{params.VARIABLE_SCOPE}/{scope}"
        matrix = arrays[f"{prefix}/weights"]
        if position == 0:
            matrix = _rows_in_channel_order(matrix)
        last = position == len(params.FC_LAYERS) - 1
        out = OUTPUT_NAME if last and not relu else f"{scope}/gemm"
        inputs = [
            net,
            constant(f"{scope}/matrix", matrix),
            constant(f"{scope}/bias", arrays[f"{prefix}/biases"]),
        ]
        nodes.append(helper.make_node("Gemm", inputs, [out], name=scope))
        net = out
        if relu:
            nodes.append(helper.make_node("Relu", [net], [f"{scope}/relu"]))
            net = f"{scope}/relu"
    graph = helper.make_graph(
        nodes,
        "vggish",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["n", *_example_shape()])],
        [
            helper.make_tensor_value_info(
                OUTPUT_NAME, TensorProto.FLOAT, ["n", params.EMBEDDING_SIZE]
            )
        ],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return model


def _example_shape() -> tuple[int, int]:
    return params.EXAMPLE_WINDOW_FRAMES, params.NUM_MEL_BANDS


def _rows_in_channel_order(matrix: np.ndarray) -> np.ndarray:
    """fc1_1's [12288, 4096] rows reordered from (height, width, channel) to (channel,
    height, width), the order ONNX's Flatten gives the last map."""
    channels, height, width = _LAST_MAP
    by_position = matrix.reshape(height, width, channels, -1)
    return by_position.transpose(2, 0, 1, 3).reshape(channels * height * width, -1)
