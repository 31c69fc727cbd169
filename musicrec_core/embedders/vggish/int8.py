"""VGGish's int8 model: how it is made, where a checked one is kept, and how it is run.

An int8 model is made from validated weights by :func:`quantize_int8` (onnxruntime's static
quantization of :func:`~musicrec_core.embedders.vggish.onnx_graph.vggish_graph`: weights
int8 per output channel, activations uint8 per tensor with min/max ranges calibrated on
log-mel examples, :data:`FLOAT_LAYERS` kept float; onnxruntime's x86 kernels use AVX-512
VNNI where the CPU has it). It runs only once
``musicrec quantize check`` found its embeddings agree with float32's for the very weight
files in use, and recorded so:

    <models_dir("vggish")>/int8/<sha256 of the checkpoint>/
        model.onnx     the int8 model that was checked
        check.json     {checkpoint_sha256, pca_sha256, model_sha256, figures, checked_at}

:func:`load_checked_model` hashes the checkpoint and PCA file in use, finds their record
and verifies the model file's sha256 before running it; no record (never checked, failed,
or the weights changed since) raises :class:`Int8NotCheckedError`, which says what to run.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from musicrec_core import paths
from musicrec_core.embedders.precision import PRECISION_ENV
from musicrec_core.embedders.vggish import params
from musicrec_core.embedders.vggish.checkpoint import VGGishWeights
from musicrec_core.errors import Int8NotCheckedError
from musicrec_core.hashing import file_sha256

CHECK_COMMAND = "musicrec quantize check"
MODEL_NAME = "model.onnx"
RECORD_NAME = "check.json"

FLOAT_LAYERS = ("conv1", "fc2")
"""Layers left in float32: conv1 sees one input channel and fc2 writes the embedding; both
are under 0.5 % of the work, and quantizing them cost agreement (measured)."""

Quantizer = Callable[[VGGishWeights, np.ndarray, Path], None]
"""``quantizer(weights, calibration_examples [n, 96, 64], target)``: write a model to run
instead of float32 at ``target`` (an ONNX file with input ``examples``, output ``raw``)."""


@dataclass(frozen=True)
class CheckedModel:
    """A model that passed the agreement check for one pair of weight files.

    Attributes:
        path: the ONNX model file.
        figures: the check's figures (see ``Agreement.to_json``).
        checked_at: when the check passed (ISO 8601, UTC).
    """

    path: Path
    figures: Mapping[str, object]
    checked_at: str


def quantize_int8(weights: VGGishWeights, calibration: np.ndarray, target: Path) -> None:
    """Write the int8 VGGish for ``weights`` to ``target``, calibrated on ``calibration``.

    Args:
        weights: validated float32 weights.
        calibration: float32 [n, 96, 64] log-mel examples whose activation ranges set the
            uint8 scales (n >= 1; tens of clips' worth is plenty).
        target: the ONNX file to write.
    """
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    from musicrec_core.embedders.vggish.onnx_graph import INPUT_NAME, vggish_graph

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter(np.array_split(calibration, max(1, len(calibration) // 16)))

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self._batches, None)
            return None if batch is None else {INPUT_NAME: batch}

    with tempfile.TemporaryDirectory(prefix="musicrec-", dir=target.parent) as scratch:
        float_model = Path(scratch) / "float32.onnx"
        onnx.save(vggish_graph(weights), float_model)
        quantize_static(
            float_model,
            target,
            Batches(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=list(FLOAT_LAYERS),
        )


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
        if batch.ndim != 3 or batch.shape[1:] != (params.EXAMPLE_WINDOW_FRAMES, 64):
            raise ValueError(
                f"expected examples of shape [num_examples, 96, 64], got {batch.shape}"
            )
        if batch.shape[0] == 0:
            return np.zeros((0, params.EMBEDDING_SIZE), np.float32)
        return self._session.run(None, {self._input: batch})[0]


def record_dir(checkpoint_sha256: str) -> Path:
    """The folder holding the checked model and record for a checkpoint (by its sha256)."""
    return paths.models_dir("vggish") / "int8" / checkpoint_sha256


def record_pass(
    checkpoint: Path, pca: Path, model: Path, figures: Mapping[str, object]
) -> CheckedModel:
    """Keep ``model`` (moved) as the checked model of this checkpoint and PCA file.

    The folder is written beside its final place and renamed into it, so a reader sees the
    old record or the whole new one. Returns the record as :func:`find_checked` reads it.
    """
    target = record_dir(file_sha256(checkpoint))
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="musicrec-", dir=target.parent))
    try:
        shutil.move(model, staging / MODEL_NAME)
        record = {
            "checkpoint_sha256": target.name,
            "pca_sha256": file_sha256(pca),
            "model_sha256": file_sha256(staging / MODEL_NAME),
            "figures": dict(figures),
            "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (staging / RECORD_NAME).write_text(json.dumps(record, indent=2), encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return CheckedModel(target / MODEL_NAME, record["figures"], record["checked_at"])


def find_checked(checkpoint: Path, pca: Path) -> CheckedModel | None:
    """The checked model for exactly these files (by sha256), or None when there is none,
    it was checked with another PCA file, or its model file has changed since."""
    folder = record_dir(file_sha256(checkpoint))
    try:
        record = json.loads((folder / RECORD_NAME).read_text(encoding="utf-8"))
        model = folder / MODEL_NAME
        if (
            record["checkpoint_sha256"] != folder.name
            or record["pca_sha256"] != file_sha256(pca)
            or record["model_sha256"] != file_sha256(model)
            or record["figures"].get("passed") is not True
        ):
            return None
        return CheckedModel(model, record["figures"], str(record["checked_at"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def load_checked_model(checkpoint: Path, pca: Path) -> OnnxVGGishModel:
    """The int8 model checked for these weight files, ready to run.

    Raises:
        Int8NotCheckedError: no passing check is recorded for these exact files.
    """
    checked = find_checked(checkpoint, pca)
    if checked is None:
        raise Int8NotCheckedError(
            f"int8 VGGish is switched on ({PRECISION_ENV}=int8) but no agreement check has "
            f"passed for the weights {checkpoint} and {pca} as they are now. Run "
            f"`{CHECK_COMMAND}` first, or unset {PRECISION_ENV} to use float32."
        )
    return OnnxVGGishModel(checked.path)
