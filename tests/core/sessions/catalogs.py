"""Small indexes for the session tests, built from given vectors (no model)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from musicrec_core.catalog.index import IndexBuilder, ItemMeta
from musicrec_core.catalog.library.owners import OWNERS_FILE, TrackOwner, write_owners
from tests.helpers.band_embedder import BandEnergyEmbedder

DIM = BandEnergyEmbedder().id.dim


def build_catalog(
    target: Path,
    vectors: np.ndarray,
    groups: Sequence[str],
    owners: Mapping[str, TrackOwner] | None = None,
) -> Path:
    """``vectors`` (float32 [n, DIM]) as items of ``groups``, each group's items 10 s apart;
    Annoy inspects every node, so searches are exact. ``owners``: the groups' album and
    artist tags, stored as a library build stores them."""
    starts: dict[str, float] = {}
    metas = []
    for group in groups:
        start = starts[group] = starts.get(group, -10.0) + 10.0
        metas.append(ItemMeta(group=group, start_s=start, end_s=start + 10, labels=()))
    with IndexBuilder(
        target, embedder=BandEnergyEmbedder().id, pooling="mean", search_k=len(groups) * 1000
    ) as builder:
        builder.add_many(np.asarray(vectors, dtype=np.float32), metas)
        if owners is not None:
            write_owners(builder.extra_file(OWNERS_FILE), owners)
        return builder.commit()


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def random_unit(n: int, seed: int) -> np.ndarray:
    """float32 [n, DIM] random unit rows, seeded."""
    rows = np.random.default_rng(seed).normal(size=(n, DIM))
    return unit_rows(rows).astype(np.float32)
