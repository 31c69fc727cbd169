"""The seeds of ``musicrec mix`` and the ends of ``musicrec path``: each file or link read
as ``musicrec recommend`` reads a query (:mod:`musicrec_core.cli.query_clips`) and heard
as the bot hears a seed: a query for one result (the index's embedder, pooled as the index
pools; the track its landmarks identify marked), so the session leaves out what the bot's
leaves out (:mod:`musicrec_core.sessions.seed_groups`). A source that fails is reported
with its reason and the others go on."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from musicrec_core.cli.query_clips import load_each
from musicrec_core.clip import Provenance
from musicrec_core.errors import MusicrecError
from musicrec_core.recommender import Recommender
from musicrec_core.sessions.seed_groups import heard_groups


@dataclass(frozen=True)
class Seed:
    """One usable source: what it is, its pooled vector (float32 [index dim]) and the
    catalog groups it is by identity (:func:`~musicrec_core.sessions.seed_groups.heard_groups`)."""

    source: str
    provenance: Provenance
    vector: np.ndarray
    own_groups: frozenset[str]


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
            heard = recommender.recommend(loaded, 1)
            own = heard_groups(heard)
            seeds.append(Seed(source, loaded.provenance, heard.query_vector, own))
        except MusicrecError as error:
            failed.append(FailedSeed(source, str(error)))
            print(f"{source}: skipped: {error}", file=sys.stderr)
    return seeds, failed
