"""A small index built straight from random vectors, for tests that need one on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musicrec_core.catalog.index import IndexBuilder, ItemMeta
from musicrec_core.embedders.base import EmbedderId
from musicrec_core.embedders.musicnn import weights as musicnn_weights

MUSICNN_MTT = EmbedderId("musicnn", musicnn_weights.embedder_version("mtt"), 200, variant="mtt")
"""The id of musicnn's MTT embedder as the installed weights make it."""


def build_small_index(target: Path, embedder: EmbedderId, items: int = 6) -> Path:
    """Publish an index of ``items`` random vectors under ``embedder``'s id at ``target``."""
    vectors = np.random.default_rng(0).normal(size=(items, embedder.dim)).astype(np.float32)
    metas = [ItemMeta(group=f"vid{i}", start_s=0.0, end_s=10.0, labels=()) for i in range(items)]
    with IndexBuilder(target, embedder=embedder, pooling="mean") as builder:
        builder.add_many(vectors, metas)
        builder.commit()
    return target
