"""Reduced-precision VGGish runs only for the weight files a check passed on.

bfloat16 (TensorFlow's oneDNN kernels, AVX-512 BF16) and int8 (:mod:`.int8`) run instead
of float32 only once ``musicrec quantize check`` found their embeddings agree with
float32's for the very checkpoint and PCA file in use, on this CPU, and recorded so
(:mod:`musicrec_core.embedders.checked`; the int8 record keeps the checked model file).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from musicrec_core.embedders.checked import CHECK_COMMAND, WeightsByRole, require_checked
from musicrec_core.embedders.precision import Precision

if TYPE_CHECKING:
    from musicrec_core.embedders.vggish.int8 import OnnxVGGishModel
    from musicrec_core.embedders.vggish.model import VGGishModel

EMBEDDER = "vggish"


def weight_files(checkpoint: Path, pca: Path) -> WeightsByRole:
    """VGGish's weight files by role, as its records name them (the checkpoint is the key)."""
    return {"checkpoint": checkpoint, "pca": pca}


def load_checked_model(
    precision: Precision, checkpoint: Path, pca: Path
) -> VGGishModel | OnnxVGGishModel:
    """The ``precision`` model checked for these weight files, ready to run.

    Raises:
        PrecisionNotCheckedError: no passing check is recorded for these exact files.
        CheckpointError: (bfloat16) the checkpoint is unusable.
    """
    files = weight_files(checkpoint, pca)
    checked = require_checked(EMBEDDER, precision, files, CHECK_COMMAND)
    if checked.path is not None:
        from musicrec_core.embedders.vggish.int8 import OnnxVGGishModel

        return OnnxVGGishModel(checked.path)
    from musicrec_core.embedders.vggish.checkpoint import load_weights
    from musicrec_core.embedders.vggish.model import VGGishModel

    return VGGishModel(load_weights(checkpoint), compute_dtype=precision.value)
