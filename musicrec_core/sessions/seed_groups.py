"""The catalog groups a session never plays because they are a seed itself.

Mental model: a seed is heard as a recommendation query with k = 1
(:meth:`musicrec_core.recommender.Recommender.recommend`; the request service's
:meth:`~musicrec_core.service.service.RecommendService.seed` and ``musicrec mix``/``path``
alike). Its own groups by identity (:func:`heard_groups`) are its video or file track (the
video id, the file's sha256, :attr:`musicrec_core.clip.Provenance.own_groups`) and the
library track its spectral landmarks identified (an upload of a catalog song). An upload cut
or encoded differently may have neither, yet must not be played back: an item whose stored
vector points where the seed's does (cosine at least :data:`SAME_SOUND_COSINE`, the bar a
path uses to call A and B the same track) is the seed heard again
(:func:`same_sound_groups`). :func:`never_played` is the union of both, the
``exclude_groups`` of every session walk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.recommendation import RecommendationSet
from musicrec_core.sessions.candidates import unit_end
from musicrec_core.sessions.path import SAME_TRACK_COSINE

SAME_SOUND_COSINE = SAME_TRACK_COSINE
NEAREST_ASKED = 8
"""Items looked at per seed (the same track's windows and near-copies come first)."""


def heard_groups(heard: RecommendationSet) -> frozenset[str]:
    """The groups a seed is by identity, from its query's answer: the query's own (its
    video, its file's track) and the track its landmarks identified, if any."""
    own = set(heard.query.own_groups) if heard.query is not None else set()
    own |= {item.group for item in heard.items if item.identified}
    return frozenset(own)


def same_sound_groups(index: CatalogIndex, seed_vectors: Sequence[np.ndarray]) -> set[str]:
    """The groups of the items among each seed's nearest that sound exactly like it
    (pooled vectors float32 [dim] each, as the index stores them)."""
    groups: set[str] = set()
    for vector in seed_vectors:
        seed = unit_end(vector, index.dim, "A seed")
        for item_id, cosine in index.search(seed, min(NEAREST_ASKED, len(index))):
            if cosine >= SAME_SOUND_COSINE:
                groups.add(index.meta(item_id).group)
    return groups


class HeardSeed(Protocol):
    """A seed as the callers keep it (the bot's and the CLI's seed records)."""

    @property
    def vector(self) -> np.ndarray:
        """Its pooled vector, float32 [dim], as the index stores them."""

    @property
    def own_groups(self) -> frozenset[str]:
        """The groups it is by identity (:func:`heard_groups`)."""


def never_played(index: CatalogIndex, seeds: Sequence[HeardSeed]) -> frozenset[str]:
    """The groups a session from ``seeds`` never plays: each seed's own by identity and
    those of the items that sound exactly like one."""
    own = frozenset(group for seed in seeds for group in seed.own_groups)
    return own | same_sound_groups(index, [seed.vector for seed in seeds])
