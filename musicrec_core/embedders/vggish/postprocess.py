"""PCA whitening and 8-bit quantization: raw embeddings -> AudioSet's released format.

For raw embeddings E [n, 128] with the PCA matrix P [128, 128] and means m [128, 1] of
``vggish_pca_params.npz``: x = (P @ (E.T - m)).T, clipped to [-2, 2], then
q = (x + 2) * 255 / 4 cast to uint8 by truncation (astype, not rounding) — the recipe of
the released AudioSet features. Searches use the dequantized value q * 4 / 255 - 2, so a
query and an AudioSet item are compared on the same 256-level grid.

This module owns that grid: :func:`dequantize_mean` is its one arithmetic (float64, rounded
once to float32), used by the query path (:func:`dequantize`, each VGGish frame) and by the
AudioSet ingest (``catalog.pooling.pool_quantized``, the mean of a segment's codes), so a
one-frame segment and a one-frame query give bit-identical float32 vectors.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicrec_core.embedders.vggish import params
from musicrec_core.errors import CheckpointError, WeightsMissingError

_QUANTIZE_RANGE = params.QUANTIZE_MAX_VAL - params.QUANTIZE_MIN_VAL

QUANTIZE_STEP = _QUANTIZE_RANGE / params.QUANTIZE_LEVELS
"""Whitened value of one code step, 4 / 255 (a Python float, i.e. float64)."""


@dataclass(frozen=True)
class PCAParams:
    """The PCA of vggish_pca_params.npz.

    Attributes:
        eigen_vectors: float64 [128, 128], one whitened principal component per row.
        means: float64 [128, 1], the mean raw embedding as a column.
    """

    eigen_vectors: np.ndarray
    means: np.ndarray


def load_pca_params(path: Path) -> PCAParams:
    """Read and validate a PCA parameter file.

    Raises:
        WeightsMissingError: no file at ``path``.
        CheckpointError: not an .npz file, or arrays missing, mis-shaped or not finite.
    """
    if not path.is_file():
        raise WeightsMissingError(f"The VGGish PCA file {path} does not exist.")
    size = params.EMBEDDING_SIZE
    unreadable = f"The VGGish PCA file {path} is not a readable .npz file."
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise CheckpointError(unreadable) from exc
    if not isinstance(loaded, np.lib.npyio.NpzFile):  # a bare .npy array
        raise CheckpointError(unreadable)
    with loaded:
        wanted = (params.PCA_EIGEN_VECTORS_NAME, params.PCA_MEANS_NAME)
        missing = [name for name in wanted if name not in loaded.files]
        if missing:
            raise CheckpointError(
                f"The VGGish PCA file {path} lacks the array(s) {', '.join(missing)}."
            )
        try:
            eigen_vectors = np.asarray(loaded[params.PCA_EIGEN_VECTORS_NAME], dtype=np.float64)
            means = np.asarray(loaded[params.PCA_MEANS_NAME], dtype=np.float64)
        except (OSError, ValueError, TypeError, EOFError, zipfile.BadZipFile) as exc:
            raise CheckpointError(unreadable) from exc
    problems = []
    if eigen_vectors.shape != (size, size):
        problems.append(
            f"{params.PCA_EIGEN_VECTORS_NAME} has shape {list(eigen_vectors.shape)}, "
            f"expected [{size}, {size}]"
        )
    if means.size != size or means.squeeze().ndim != 1:
        problems.append(f"{params.PCA_MEANS_NAME} has shape {list(means.shape)}, expected [{size}]")
    if not problems and not (np.isfinite(eigen_vectors).all() and np.isfinite(means).all()):
        problems.append("it holds values that are not finite numbers")
    if problems:
        raise CheckpointError(f"The VGGish PCA file {path} is unusable: {'; '.join(problems)}.")
    return PCAParams(eigen_vectors=eigen_vectors, means=means.reshape(size, 1))


def quantize(raw: np.ndarray, pca: PCAParams) -> np.ndarray:
    """PCA-whiten, clip and quantize raw embeddings.

    Args:
        raw: float [num_frames, 128] network outputs.
        pca: the PCA parameters.

    Returns:
        uint8 [num_frames, 128] in AudioSet's release format.

    Raises:
        ValueError: ``raw`` is not [num_frames, 128].
    """
    embeddings = np.asarray(raw, dtype=np.float64)
    if embeddings.ndim != 2 or embeddings.shape[1] != params.EMBEDDING_SIZE:
        raise ValueError(
            f"expected raw embeddings of shape [num_frames, {params.EMBEDDING_SIZE}], "
            f"got {embeddings.shape}"
        )
    # [128, 128] @ [128, n] (centred columns) -> [n, 128] whitened rows.
    whitened = (pca.eigen_vectors @ (embeddings.T - pca.means)).T
    clipped = np.clip(whitened, params.QUANTIZE_MIN_VAL, params.QUANTIZE_MAX_VAL)
    # [-2, 2] -> [0, 255]; astype truncates toward zero, as the reference does.
    scaled = (clipped - params.QUANTIZE_MIN_VAL) * (params.QUANTIZE_LEVELS / _QUANTIZE_RANGE)
    return scaled.astype(np.uint8)


def dequantize(quantized: np.ndarray) -> np.ndarray:
    """Map uint8 codes back to whitened values: float32 q * 4 / 255 - 2, same shape.

    Raises:
        ValueError: ``quantized`` is not a uint8 array.
    """
    codes = np.asarray(quantized)
    if codes.dtype != np.uint8:
        raise ValueError(f"expected uint8 codes, got {codes.dtype}")
    return dequantize_mean(codes)


def dequantize_mean(codes: np.ndarray) -> np.ndarray:
    """Whitened values of codes or of means of codes: float32 q * 4 / 255 - 2, same shape.

    The grid's one arithmetic: computed in float64 and rounded once, so each of the 256
    codes gives the float32 nearest the reference formula, and a mean that is a whole code
    gives exactly what :func:`dequantize` gives for that code.

    Args:
        codes: [..., d] uint8 codes, or float means of codes (in [0, 255]).
    """
    values = np.asarray(codes, dtype=np.float64) * QUANTIZE_STEP + params.QUANTIZE_MIN_VAL
    return values.astype(np.float32)
