"""The identified recording first: landmark identification joined to the ranked results.

Mental model: a library index built with landmarks (:mod:`musicrec_core.fingerprint`) can
say which recording a clip came from, even when noise moved the clip's embedding far from
that recording. When it does so confidently, that track comes first (the *anchor* of the
style order, so the other results sound like it), and the rest are ranked by the embedding
as without landmarks (:func:`~musicrec_core.catalog.ranking.rank_groups`)::

    clip samples --spectral_peaks--> peaks [p, 2] (kept with the answer: a cached query
      replays them) --landmarks_of_peaks, store.vote, confidence rule--> track or None
    rank_groups(vector, anchor = that track) --> the track first, the rest by embedding

Where the style order does not apply (an index too large for profiles), the identified
track is shown by its item nearest the query, put in front of the item-by-item results.
Either way the identified track is marked (:attr:`Found.identified`): it is first because it
was recognised, not because of its score, and a reply says "identified" instead.
An identified track the caller excludes (the query's own file) is not returned; it still
anchors the style order, as the nearest item's track would. Indexes without a landmark
store (AudioSet catalogs, library indexes built before) rank exactly as before.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.catalog.ranking import Found, rank_groups, unit_score
from musicrec_core.fingerprint.identify import identify
from musicrec_core.fingerprint.landmarks import landmarks_of_peaks, spectral_peaks
from musicrec_core.fingerprint.store import StoredTrack

__all__ = ["identified_group", "query_peaks", "rank_identified"]


def query_peaks(index: CatalogIndex, samples: np.ndarray) -> np.ndarray | None:
    """The spectral peaks of a query clip (float32 [n] at 16 kHz) as int64 [p, 2] (frame,
    bin), when ``index`` holds a landmark store; None otherwise (nothing to compare with)."""
    return spectral_peaks(samples) if index.landmarks is not None else None


def identified_group(index: CatalogIndex, peaks: np.ndarray | None) -> StoredTrack | None:
    """The track of ``index`` a query with these ``peaks`` was confidently identified as."""
    if index.landmarks is None or peaks is None:
        return None
    found = identify(index.landmarks, landmarks_of_peaks(peaks))
    return None if found is None else found.track


def rank_identified(
    index: CatalogIndex,
    vector: np.ndarray,
    k: int,
    excluded: Collection[str],
    peaks: np.ndarray | None,
    among: np.ndarray | None = None,
) -> list[Found]:
    """At most ``k`` groups not in ``excluded`` for the query ``vector`` (float32 [dim]):
    the track its ``peaks`` identify first (see the module docstring), then by embedding.
    ``among``: the ascending ids of the only items results may come from (a steering's
    qualifying items; :func:`rank_groups`); an identified track with none of them still
    anchors the style order but is not returned."""
    track = identified_group(index, peaks)
    anchor = None if track is None else track.group
    if track is not None and among is not None and not _holds_any(track, among):
        excluded = {*excluded, track.group}
    found = rank_groups(index, vector, k, excluded, anchor, among)
    if track is None or anchor in excluded:
        return found
    if found and found[0].meta.group == anchor:
        return [found[0]._replace(identified=True), *found[1:]]
    rest = [entry for entry in found if entry.meta.group != anchor]
    return [_nearest_item(index, vector, track), *rest][:k]


def _holds_any(track: StoredTrack, among: np.ndarray) -> bool:
    """Whether one of ``track``'s items is in ``among`` (ascending ids)."""
    at = int(np.searchsorted(among, track.first_item))
    return at < len(among) and among[at] < track.first_item + track.items


def _nearest_item(index: CatalogIndex, vector: np.ndarray, track: StoredTrack) -> Found:
    """The item of ``track`` nearest ``vector``, marked identified (its score is that item's
    cosine, as item by item; a reply shows "identified" instead)."""
    ids = range(track.first_item, track.first_item + track.items)
    stored = np.stack([index.vector(item_id) for item_id in ids])
    cosines = (
        stored @ vector / np.maximum(np.linalg.norm(stored, axis=1) * np.linalg.norm(vector), 1e-12)
    )
    best = int(np.argmax(cosines))
    cosine = float(cosines[best])
    return Found(ids[best], cosine, index.meta(ids[best]), unit_score(cosine), identified=True)
