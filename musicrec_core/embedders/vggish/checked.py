"""Reduced-precision VGGish runs only for the weight files a check passed on.

bfloat16 (TensorFlow's oneDNN kernels, AVX-512 BF16) and int8 (:mod:`.int8`) run instead
of float32 only once ``musicrec quantize check`` found their embeddings agree with
float32's for the very weight files in use, and recorded so:

    <models_dir("vggish")>/checked/<precision>/<sha256 of the checkpoint>/
        check.json     {precision, checkpoint_sha256, pca_sha256, model_sha256, figures,
                        checked_at}
        model.onnx     int8 only: the model that was checked

:func:`load_checked_model` hashes the checkpoint and PCA file in use, finds their record
(and for int8 verifies the model file's sha256) before building the model; no record (never
checked, failed, or the weights changed since) raises :class:`PrecisionNotCheckedError`, which
says what to run.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from musicrec_core import paths
from musicrec_core.embedders.precision import PRECISION_ENV, Precision
from musicrec_core.errors import PrecisionNotCheckedError
from musicrec_core.hashing import file_sha256

if TYPE_CHECKING:
    from musicrec_core.embedders.vggish.int8 import OnnxVGGishModel
    from musicrec_core.embedders.vggish.model import VGGishModel

CHECK_COMMAND = "musicrec quantize check"
MODEL_NAME = "model.onnx"
RECORD_NAME = "check.json"


@dataclass(frozen=True)
class CheckedModel:
    """A reduced-precision model that passed the check for one pair of weight files.

    Attributes:
        precision: bfloat16 or int8.
        path: the checked ONNX model file (int8), or None (bfloat16 is built from the
            checkpoint itself).
        figures: the check's figures (see ``Agreement.to_json``).
        checked_at: when the check passed (ISO 8601, UTC).
    """

    precision: Precision
    path: Path | None
    figures: Mapping[str, object]
    checked_at: str


def record_dir(precision: Precision, checkpoint_sha256: str) -> Path:
    """The folder holding a checkpoint's record (by its sha256) for one precision."""
    return paths.models_dir("vggish") / "checked" / precision.value / checkpoint_sha256


def record_pass(
    precision: Precision,
    checkpoint: Path,
    pca: Path,
    model: Path | None,
    figures: Mapping[str, object],
) -> CheckedModel:
    """Record that ``precision`` passed for these files, keeping ``model`` (moved) if any.

    The folder is written beside its final place and renamed into it, so a reader sees the
    old record or the whole new one. Returns the record as :func:`find_checked` reads it.
    """
    target = record_dir(precision, file_sha256(checkpoint))
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="musicrec-", dir=target.parent))
    try:
        if model is not None:
            shutil.move(model, staging / MODEL_NAME)
        record = {
            "precision": precision.value,
            "checkpoint_sha256": target.name,
            "pca_sha256": file_sha256(pca),
            "model_sha256": file_sha256(staging / MODEL_NAME) if model is not None else None,
            "figures": dict(figures),
            "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (staging / RECORD_NAME).write_text(json.dumps(record, indent=2), encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    path = target / MODEL_NAME if model is not None else None
    return CheckedModel(precision, path, record["figures"], record["checked_at"])


def forget(precision: Precision, checkpoint: Path) -> None:
    """Remove the record of ``precision`` for this checkpoint, if there is one."""
    shutil.rmtree(record_dir(precision, file_sha256(checkpoint)), ignore_errors=True)


def find_checked(precision: Precision, checkpoint: Path, pca: Path) -> CheckedModel | None:
    """The passing record of ``precision`` for exactly these files (by sha256), or None when
    there is none, it was for another PCA file, or its model file has changed since."""
    folder = record_dir(precision, file_sha256(checkpoint))
    try:
        record = json.loads((folder / RECORD_NAME).read_text(encoding="utf-8"))
        model = folder / MODEL_NAME if record["model_sha256"] is not None else None
        if (
            record["precision"] != precision.value
            or record["checkpoint_sha256"] != folder.name
            or record["pca_sha256"] != file_sha256(pca)
            or (model is not None and record["model_sha256"] != file_sha256(model))
            or record["figures"].get("passed") is not True
        ):
            return None
        return CheckedModel(precision, model, record["figures"], str(record["checked_at"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def load_checked_model(
    precision: Precision, checkpoint: Path, pca: Path
) -> VGGishModel | OnnxVGGishModel:
    """The ``precision`` model checked for these weight files, ready to run.

    Raises:
        PrecisionNotCheckedError: no passing check is recorded for these exact files.
        CheckpointError: (bfloat16) the checkpoint is unusable.
    """
    checked = find_checked(precision, checkpoint, pca)
    if checked is None:
        raise PrecisionNotCheckedError(
            f"{PRECISION_ENV}={precision.value} asks for reduced-precision VGGish, but no "
            f"agreement check has passed for {precision.value} with the weights {checkpoint} "
            f"and {pca} as they are now. Run `{CHECK_COMMAND} --precision {precision.value}` "
            f"first, or unset {PRECISION_ENV} to use float32."
        )
    if checked.path is not None:
        from musicrec_core.embedders.vggish.int8 import OnnxVGGishModel

        return OnnxVGGishModel(checked.path)
    from musicrec_core.embedders.vggish.checkpoint import load_weights
    from musicrec_core.embedders.vggish.model import VGGishModel

    return VGGishModel(load_weights(checkpoint), compute_dtype=precision.value)
