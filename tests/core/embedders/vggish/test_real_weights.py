"""Smoke values of the official VGGish weights: a 3-s 1 kHz sine gives 3 embeddings whose
raw values have mean ~0.00066 and std ~0.34, and whose quantized bytes have mean ~126 and
std ~89 (within 10%).

Runs only where the official files are installed (``musicrec models download vggish``, or
``MUSICREC_VGGISH_CHECKPOINT`` / ``MUSICREC_VGGISH_PCA``); skipped with the reason otherwise.
The files are located when this module is imported, before the per-test cache override.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicrec_core.clip import Clip
from musicrec_core.embedders.vggish import VGGishEmbedder, params
from musicrec_core.embedders.vggish.weights import locate, resolve_paths
from musicrec_core.errors import WeightsMissingError

OFFICIAL_CHECKPOINT, OFFICIAL_PCA = locate()


@pytest.fixture(scope="module")
def official_paths() -> tuple[Path, Path]:
    try:
        return resolve_paths(checkpoint=OFFICIAL_CHECKPOINT, pca=OFFICIAL_PCA)
    except WeightsMissingError as exc:
        pytest.skip(f"official VGGish weights not installed: {exc}")


def test_smoke_values(official_paths: tuple[Path, Path], tmp_path: Path) -> None:
    checkpoint, pca = official_paths
    embedder = VGGishEmbedder.from_files(checkpoint=checkpoint, pca=pca)
    assert embedder.version == params.AUDIOSET_VERSION, "these files are not the official ones"
    t = np.arange(0, 3, 1 / 16000)
    clip = Clip(np.sin(2 * np.pi * 1000 * t).astype(np.float32))
    embedding = embedder.embed(clip)
    assert embedding.raw.shape == (3, 128)
    np.testing.assert_allclose(
        [embedding.raw.mean(), embedding.raw.std()], [0.000657, 0.343], rtol=0.1
    )
    assert embedding.quantized is not None
    np.testing.assert_allclose(
        [embedding.quantized.mean(), embedding.quantized.std()], [126.0, 89.3], rtol=0.1
    )
