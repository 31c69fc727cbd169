"""musicnn's int8 twin, for ``bench_int8.py`` to measure (benchmark-only: the product runs
the float32 graph of :mod:`musicrec_core.embedders.musicnn.onnx_graph`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musicrec_core.embedders.musicnn.onnx_graph import INPUT_NAME
from musicrec_core.embedders.vggish.int8 import quantize_onnx


def quantize_musicnn(float_model: Path, target: Path, calibration: np.ndarray) -> None:
    """int8 of the model at ``float_model`` (the product's quantization, convolutions only:
    quantizing the element-wise ops and dense layers too measured worse), calibrated on
    ``calibration`` patches [n, 187, 96], written to ``target``."""
    quantize_onnx(float_model, target, {INPUT_NAME: calibration}, op_types=["Conv"], batch=8)
