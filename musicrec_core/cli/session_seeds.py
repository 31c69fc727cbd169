"""The seeds of ``musicrec mix`` and the ends of ``musicrec path``: each file or link read
as ``musicrec recommend`` reads a query (:mod:`musicrec_core.cli.query_clips`), embedded
with the index's embedder and pooled as the index pools; a source that fails is reported
with its reason and the others go on."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from musicrec_core.catalog.pooling import pool
from musicrec_core.cli.query_clips import load_each
from musicrec_core.clip import Clip, Provenance
from musicrec_core.errors import MusicrecError
from musicrec_core.recommender import Recommender


@dataclass(frozen=True)
class Seed:
    """One usable source: what it is and its pooled vector (float32 [index dim])."""

    source: str
    provenance: Provenance
    vector: np.ndarray


@dataclass(frozen=True)
class FailedSeed:
    """A source that could not be used, and why."""

    source: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "reason": self.reason}


def embed_seeds(
    recommender: Recommender, sources: Sequence[str], start_s: float | None
) -> tuple[list[Seed], list[FailedSeed]]:
    """The usable seeds in order, and the failed ones (each also said on stderr)."""
    seeds, failed = [], []
    for source, loaded in zip(sources, load_each(sources, start_s), strict=True):
        try:
            if isinstance(loaded, MusicrecError):
                raise loaded
            seeds.append(Seed(source, loaded.provenance, _pooled(recommender, loaded)))
        except MusicrecError as error:
            failed.append(FailedSeed(source, str(error)))
            print(f"{source}: skipped: {error}", file=sys.stderr)
    return seeds, failed


def seed_groups(seeds: Sequence[Seed]) -> set[str]:
    """The catalog groups the seeds themselves are (never played)."""
    return {group for seed in seeds for group in seed.provenance.own_groups}


def _pooled(recommender: Recommender, clip: Clip) -> np.ndarray:
    (embedding,) = recommender.embedder.embed_many([clip])
    return pool(embedding.vectors, recommender.index.pooling)
