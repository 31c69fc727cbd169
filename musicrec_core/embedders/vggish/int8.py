"""int8 VGGish: made by onnxruntime's static quantization, run by onnxruntime.

:func:`quantize_int8` quantizes :func:`~musicrec_core.embedders.vggish.onnx_graph.vggish_graph`
(weights int8 per output channel, activations uint8 per tensor with min/max ranges
calibrated on log-mel examples, :data:`FLOAT_LAYERS` kept float); onnxruntime's x86 kernels
use AVX-512 VNNI where the CPU has it. :class:`OnnxVGGishModel` runs an ONNX VGGish. Such a
model runs in the product only after a passing check (:mod:`.checked`).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from musicrec_core.embedders.vggish import params
from musicrec_core.embedders.vggish.checkpoint import VGGishWeights

FLOAT_LAYERS = ("conv1", "fc2")
"""Layers left in float32: conv1 sees one input channel and fc2 writes the embedding; both
are under 0.5 % of the work, and quantizing them cost agreement (measured)."""

Quantizer = Callable[[VGGishWeights, np.ndarray, Path], None]
"""``quantizer(weights, calibration_examples [n, 96, 64], target)``: write a model to run
instead of float32 at ``target`` (an ONNX file with input ``examples``, output ``raw``)."""


def quantize_int8(weights: VGGishWeights, calibration: np.ndarray, target: Path) -> None:
    """Write the int8 VGGish for ``weights`` to ``target``, calibrated on ``calibration``.

    Args:
        weights: validated float32 weights.
        calibration: float32 [n, 96, 64] log-mel examples whose activation ranges set the
            uint8 scales (n >= 1; tens of clips' worth is plenty).
        target: the ONNX file to write.
    """
    import onnx

    from musicrec_core.embedders.vggish.onnx_graph import INPUT_NAME, vggish_graph

    with tempfile.TemporaryDirectory(prefix="musicrec-", dir=target.parent) as scratch:
        float_model = Path(scratch) / "float32.onnx"
        onnx.save(vggish_graph(weights), float_model)
        quantize_onnx(float_model, target, {INPUT_NAME: calibration}, FLOAT_LAYERS)


def quantize_onnx(
    float_model: Path,
    target: Path,
    calibration: Mapping[str, np.ndarray],
    keep_float: Sequence[str] = (),
    op_types: Sequence[str] | None = None,
    batch: int = 16,
) -> None:
    """Static int8 quantization of an ONNX model: QDQ format, weights int8 per output
    channel, activations uint8 per tensor with min/max ranges from ``calibration``.

    Args:
        float_model, target: the float32 ONNX file read and the int8 one written.
        calibration: input name -> float32 [n, ...] examples, fed ``batch`` at a time.
        keep_float: names of nodes left in float32.
        op_types: the operator types to quantize (None: all onnxruntime can).
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    ((name, examples),) = calibration.items()

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter(np.array_split(examples, max(1, len(examples) // batch)))

        def get_next(self) -> dict[str, np.ndarray] | None:
            part = next(self._batches, None)
            return None if part is None else {name: part}

    advice = _DropAdvice()  # onnxruntime logs advice on the root logger; not the user's concern
    logging.getLogger().addFilter(advice)
    try:
        quantize_static(
            float_model,
            target,
            Batches(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=list(keep_float),
            op_types_to_quantize=None if op_types is None else list(op_types),
        )
    finally:
        logging.getLogger().removeFilter(advice)


class _DropAdvice(logging.Filter):
    """Drops onnxruntime's 'Please consider (to run) pre-processing' warnings."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Please consider")


class OnnxVGGishModel:
    """An ONNX VGGish run by onnxruntime, with :class:`VGGishModel`'s call: float32
    [n, 96, 64] log-mel examples -> float32 [n, 128] raw embeddings. Thread-safe."""

    def __init__(self, path: Path) -> None:
        import onnxruntime

        from musicrec_core.embedders.vggish.onnx_graph import INPUT_NAME

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # warnings about unused initializers are noise here
        self._session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self._input = INPUT_NAME

    def __call__(self, examples: np.ndarray) -> np.ndarray:
        """Raw embeddings float32 [n, 128] of examples float32 [n, 96, 64].

        Raises:
            ValueError: ``examples`` does not have shape [n, 96, 64].
        """
        batch = np.ascontiguousarray(examples, dtype=np.float32)
        shape = (params.EXAMPLE_WINDOW_FRAMES, params.NUM_MEL_BANDS)
        if batch.ndim != 3 or batch.shape[1:] != shape:
            raise ValueError(
                f"expected examples of shape [num_examples, 96, 64], got {batch.shape}"
            )
        if batch.shape[0] == 0:
            return np.zeros((0, params.EMBEDDING_SIZE), np.float32)
        return self._session.run(None, {self._input: batch})[0]
