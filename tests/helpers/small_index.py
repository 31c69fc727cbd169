"""Small indexes built straight from given or random vectors, for tests that need one on
disk, and the version folder an index folder's CURRENT names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from musicrec_core.catalog.index import CURRENT_FILE, IndexBuilder, ItemMeta
from musicrec_core.embedders.base import EmbedderId
from musicrec_core.embedders.musicnn import weights as musicnn_weights

MUSICNN_MTT = EmbedderId("musicnn", musicnn_weights.embedder_version("mtt"), 200, variant="mtt")
"""The id of musicnn's MTT embedder as the installed weights make it."""


def random_vectors(n: int, dim: int, seed: int = 7) -> np.ndarray:
    """float32 [n, dim] of N(0, 1), seeded."""
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def build_vectors_index(
    target: Path, vectors: np.ndarray, embedder: EmbedderId, **options: Any
) -> Path:
    """Publish ``vectors`` (float32 [n, embedder.dim]) as items of groups g0..g<n-1> at
    ``target`` (mean pooling); ``options`` go to IndexBuilder (backend, n_trees, ...)."""
    metas = [
        ItemMeta(group=f"g{i}", start_s=0.0, end_s=10.0, labels=()) for i in range(len(vectors))
    ]
    with IndexBuilder(target, embedder=embedder, pooling="mean", **options) as builder:
        builder.add_many(vectors, metas)
        return builder.commit()


def current_version(index_dir: Path) -> Path:
    """The version folder ``index_dir/CURRENT`` names."""
    return index_dir / (index_dir / CURRENT_FILE).read_text().strip()


def build_small_index(target: Path, embedder: EmbedderId, items: int = 6) -> Path:
    """Publish an index of ``items`` random vectors under ``embedder``'s id at ``target``."""
    vectors = np.random.default_rng(0).normal(size=(items, embedder.dim)).astype(np.float32)
    metas = [ItemMeta(group=f"vid{i}", start_s=0.0, end_s=10.0, labels=()) for i in range(items)]
    with IndexBuilder(target, embedder=embedder, pooling="mean") as builder:
        builder.add_many(vectors, metas)
        builder.commit()
    return target
