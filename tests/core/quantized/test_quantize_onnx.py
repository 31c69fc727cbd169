"""quantize_onnx on a small model: int8 nodes appear, outputs stay close, no advice logged."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from musicrec_core.embedders.vggish.int8 import quantize_onnx


def two_layer_model(path: Path) -> Path:
    """x [n, 32] -> Gemm 64 -> Relu -> Gemm 8 (named 'last') -> y [n, 8]."""
    rng = np.random.default_rng(0)
    weights = [
        numpy_helper.from_array(rng.normal(0, 0.2, shape).astype(np.float32), name)
        for name, shape in (("w1", (32, 64)), ("b1", (64,)), ("w2", (64, 8)), ("b2", (8,)))
    ]
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="first"),
        helper.make_node("Relu", ["h"], ["r"], name="relu"),
        helper.make_node("Gemm", ["r", "w2", "b2"], ["y"], name="last"),
    ]
    graph = helper.make_graph(
        nodes,
        "small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 8])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_a_small_model_is_quantized_and_stays_close(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    float_model = two_layer_model(tmp_path / "float.onnx")
    examples = np.random.default_rng(1).normal(size=(64, 32)).astype(np.float32)
    with caplog.at_level(logging.WARNING):
        quantize_onnx(float_model, tmp_path / "int8.onnx", {"x": examples}, keep_float=["last"])
    assert not [record for record in caplog.records if "pre-process" in record.getMessage()]
    quantized = onnx.load(tmp_path / "int8.onnx")
    kinds = {node.op_type for node in quantized.graph.node}
    assert "QuantizeLinear" in kinds and "DequantizeLinear" in kinds
    # The kept layer reads float weights; the first one reads dequantized int8 weights.
    initializers = {tensor.name: tensor.data_type for tensor in quantized.graph.initializer}
    assert initializers["w2"] == TensorProto.FLOAT
    assert any(kind == TensorProto.INT8 for kind in initializers.values())

    def run(path: Path) -> np.ndarray:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run(None, {"x": examples})[0]

    expected, ours = run(float_model), run(tmp_path / "int8.onnx")
    assert not np.array_equal(ours, expected), "int8 should not be bit-exact"
    assert np.linalg.norm(ours - expected) / np.linalg.norm(expected) < 0.05
