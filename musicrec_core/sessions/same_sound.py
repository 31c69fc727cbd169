"""The catalog items that are a seed itself, found by sound.

A seed's own video or file track is known by identity (its video id, its file's sha256,
:attr:`musicrec_core.clip.Provenance.own_groups`). An upload of a catalog song cut or
encoded differently has neither, yet a session must not play it back: an item whose
stored vector points where the seed's does (cosine at least :data:`SAME_SOUND_COSINE`, the
bar a path uses to call A and B the same track) is the seed heard again.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.sessions.candidates import unit_end
from musicrec_core.sessions.path import SAME_TRACK_COSINE

SAME_SOUND_COSINE = SAME_TRACK_COSINE
NEAREST_ASKED = 8
"""Items looked at per seed (the same track's windows and near-copies come first)."""


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
