"""Small indexes for the session tests, built from given vectors (no model)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from musicrec_core.catalog.index import IndexBuilder, ItemMeta
from musicrec_core.catalog.library.owners import OWNERS_FILE, TrackOwner, write_owners
from musicrec_core.embedders.base import Tag
from tests.helpers.band_embedder import BandEnergyEmbedder
from tests.helpers.small_index import MUSICNN_MTT, random_vectors

ARC_TRACKS = 24

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


def build_arc_catalog(target: Path) -> dict[str, str]:
    """A musicnn MTT library of ARC_TRACKS tracks spread along the arc from
    :func:`arc_ends`' A (axis 0) to B (axis 1), tagged "piano" and "techno" in turn (its
    words steer it); returns each track's tag."""
    dim = MUSICNN_MTT.dim
    angles = np.linspace(0.05, np.pi / 2 - 0.05, ARC_TRACKS)
    vectors = np.zeros((ARC_TRACKS, dim), np.float32)
    vectors[:, 0], vectors[:, 1] = np.cos(angles), np.sin(angles)
    vectors += 0.01 * random_vectors(ARC_TRACKS, dim, seed=4)
    tags = {f"track{i:02d}": "piano" if i % 2 else "techno" for i in range(ARC_TRACKS)}
    metas = [ItemMeta(group=g, start_s=0.0, end_s=10.0, labels=(t,)) for g, t in tags.items()]
    with IndexBuilder(target, embedder=MUSICNN_MTT, pooling="mean") as builder:
        builder.add_many(vectors, metas)
        for group, tag in tags.items():
            builder.set_track_tags(group, (Tag(tag, 0.75),))
        builder.commit({"library": {"tracks": ARC_TRACKS}})
    return tags


def arc_ends() -> tuple[np.ndarray, np.ndarray]:
    """A and B of :func:`build_arc_catalog`, float32 [dim] each."""
    a, b = np.eye(MUSICNN_MTT.dim, dtype=np.float32)[:2]
    return a, b
