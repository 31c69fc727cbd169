"""Which k groups answer a query vector, in which order: nearest items, or style order.

An index holds items (10-second windows, AudioSet segments), a recommendation is a *group*
(a library track, a YouTube video): the k results are k different groups, each shown by
one of its items, as (item id, that item's cosine to the query, its metadata).

*Item by item* (:func:`nearest_groups`): the best item of each group decides the group's
rank. The index is asked for ``k * OVERFETCH_FACTOR`` items, more while de-duplication and
exclusion leave fewer than k groups.

*Style order* (:func:`style_order`, used wherever it applies): a 10-second query matched
item by item finds the recording it came from (the *anchor*: the group of the item nearest
the query), but the next nearest items belong to whatever tracks share one moment with
those 10 seconds, and a phone-like query's nearest items are mostly other tracks' phone
views, whatever their style. A listener who asks for "more like this" means the whole
piece. So every group (a library track) gets a *profile*, the unit mean of all its items'
vectors (its windows and their phone views, which averages the noise out), and::

    query vector --index.search, STYLE_POOL items--> anchor group (the nearest item's)
    every other group's style score, the mean of three cosines:
        its profile . the anchor's profile    (sounds like the recognised recording)
        its profile . the query               (sounds like the clip, as a whole track)
        its best pooled item . the query      (the item-by-item match; a group outside
                                               the pool counts the pool's lowest cosine)
    anchor first, then by style score --> k groups, each shown by its item nearest the query

The anchor stays first (when it is not excluded): identification is unchanged.

Each result carries its *score* (:attr:`Found.score`, what members are shown; docs/scores.md):
the number the list is ordered by, clamped to [0, 1] by :func:`unit_score`. Item by item it is
the best item's cosine; in style order it is the style score above (the anchor included:
for it the first cosine is 1). The anchor is first by rule, not by score: identified by its
fingerprint it is marked so (:mod:`musicrec_core.catalog.identification`); found as the
nearest item's track, it shows its own style score, usually the highest (its first cosine
is 1) but not always: a track whose profile is much nearer the query can score higher and
still follow it. The scores
are exact over all profiles (a matrix product; 1,000 tracks make 1,000 profiles).

Chosen by ``benchmarks/bench_quality.py`` (120 queries, 84 tracks, musicnn MTT) over the
item-by-item order: style precision@5 0.72 -> 0.78 for clean clips and 0.38 -> 0.50 for
phone-like ones, whose own track is among the first five more often (0.44 -> 0.56). Each
cosine alone did less (the anchor's profile alone: phone-like hit@5 down to 0.38; the
query's profile alone: clean style down to 0.67), and equal weights sit on a broad plateau.
Cheaper variants moved style by 0.03 at most: the mean or top-m of a track's matching
items, average and alpha query expansion, k-reciprocal neighbours.

Where it applies: an index of at most :data:`PROFILE_MAX_ITEMS` items in which groups hold
several items (a library index). Profiles are computed once per loaded index, on its
first query, from every stored vector. An AudioSet index holds one 10-second segment per
video (a profile would be that item: nothing to aggregate) and far more items, so it keeps
the item-by-item order, as does any index the stage does not apply to.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from musicrec_core.catalog.index import CatalogIndex, ItemMeta
from musicrec_core.catalog.index.tracks import item_groups

__all__ = [
    "OVERFETCH_FACTOR",
    "Found",
    "PROFILE_MAX_ITEMS",
    "STYLE_POOL",
    "TrackProfiles",
    "nearest_among",
    "nearest_groups",
    "profiles_of",
    "rank_groups",
    "style_order",
    "unit_score",
]


class Found(NamedTuple):
    """One result group, shown by one of its items.

    Attributes:
        item_id: the id of the item that shows the group (its item nearest the query).
        cosine: that item's cosine to the query, in [-1, 1].
        meta: that item's metadata.
        score: what the list is ordered by, in [0, 1] (see the module docstring).
        identified: the query's spectral landmarks identified this group (first, whatever
            its score; set by :func:`musicrec_core.catalog.identification.rank_identified`).
    """

    item_id: int
    cosine: float
    meta: ItemMeta
    score: float
    identified: bool = False


def unit_score(value: float) -> float:
    """An ordering value in [-1, 1] (a cosine, a mean of cosines) as a score in [0, 1]:
    ``min(1, max(0, value))``. Values at or below 0 (pointing away from the query) all read
    0; the clamp keeps the order of the values it does not flatten."""
    return min(1.0, max(0.0, float(value)))


OVERFETCH_FACTOR = 4
"""Candidates asked of the index per wanted result; grown 4x per round while de-duplication
and exclusion leave fewer than k distinct groups (until the whole index has been asked)."""

PROFILE_MAX_ITEMS = 200_000
"""Largest index whose profiles are built. Every vector is read once, on the first query:
63 ms for the quality benchmark's 3,428 items on a busy 2-core machine, so about 2 s per
100k items; the profiles take groups x dim x 4 bytes. A style-ordered query then costs
about 2 ms (item by item: 0.4 ms)."""

SEARCH_FIRST_SHARE = 0.05
"""Items ``among`` more than this share of the index (a label as broad as Music: 39 % of
AudioSet's segments) are first looked for among the index's nearest items, as many as
should hold enough of them, and ranked exactly only when too few turn up: gathering and
multiplying hundreds of thousands of stored vectors takes hundreds of ms, a search about
as long as an unsteered query."""

STYLE_POOL = 128
"""Items asked of the index for the anchor and the item-by-item cosines (64 to all 3,428
items of the benchmark's index gave the same figures)."""


@dataclass(frozen=True)
class TrackProfiles:
    """One profile per group of an index.

    Attributes:
        groups: the group of each profile row, in first-seen item order.
        vectors: float32 [groups, dim], unit rows (a group whose vectors sum to zero
            keeps a zero row, similar to nothing).
        members: for each row, the item ids of that group, int64 [items of the group].
    """

    groups: tuple[str, ...]
    vectors: np.ndarray
    members: tuple[np.ndarray, ...]

    @classmethod
    def build(cls, item_groups: Sequence[str], vectors: np.ndarray) -> TrackProfiles | None:
        """Profiles of items ``0..n-1`` (``item_groups[i]`` owns ``vectors[i]``, [n, dim]).

        Returns None when no group holds more than one item (nothing to aggregate) or
        there are no items.
        """
        rows: dict[str, list[int]] = {}
        for item_id, group in enumerate(item_groups):
            rows.setdefault(group, []).append(item_id)
        if len(rows) == len(item_groups):
            return None
        unit = unit_rows(np.asarray(vectors, dtype=np.float32))
        members = tuple(np.array(ids, dtype=np.int64) for ids in rows.values())
        profiles = unit_rows(np.stack([unit[ids].mean(axis=0) for ids in members]))
        return cls(tuple(rows), profiles, members)

    def order(
        self,
        anchor: str,
        query: np.ndarray,
        item_cosines: dict[str, float],
        k: int,
        excluded: Collection[str],
    ) -> list[tuple[str, float]]:
        """The anchor (unless excluded), then the other groups by style score, best first;
        at most ``k`` (group, its style score in [-1, 1]) pairs, none in ``excluded``.

        Args:
            anchor: the group of the item nearest the query.
            query: the query vector, float32 [dim] (any length but zero).
            item_cosines: the best item cosine to the query of the groups searched; the
                others count the lowest of these (0.0 when there are none).

        Raises:
            ValueError: ``anchor`` is not one of the profiled groups.
        """
        row = self.groups.index(anchor)
        floor = min(item_cosines.values(), default=0.0)
        items = np.array([item_cosines.get(group, floor) for group in self.groups])
        unit_query = unit_rows(np.asarray(query, dtype=np.float32)[None, :])[0]
        score = (self.vectors @ self.vectors[row] + self.vectors @ unit_query + items) / 3
        key = score.copy()
        key[row] = np.inf  # the anchor first
        ranked = [(self.groups[r], float(score[r])) for r in np.argsort(-key, kind="stable")]
        return [(group, value) for group, value in ranked if group not in excluded][:k]


def rank_groups(
    index: CatalogIndex,
    vector: np.ndarray,
    k: int,
    excluded: Collection[str],
    anchor: str | None = None,
    among: np.ndarray | None = None,
) -> list[Found]:
    """At most ``k`` groups not in ``excluded`` for ``vector`` (float32 [dim]): in style
    order where it applies to ``index`` (around ``anchor`` when given: a recording the
    query was identified as), else item by item.

    ``among``: when given, the ascending ids (int [n]) of the only items results may come
    from (a steering's qualifying items), every one ranked by the same score: in style
    order the other groups are excluded (they still anchor it and set the floor of the
    item cosines), item by item :func:`nearest_among` ranks them exactly."""
    if among is not None and profiles_of(index) is not None:
        inside = {item_groups(index)[int(i)] for i in among}
        excluded = {*excluded, *(g for g in item_groups(index) if g not in inside)}
    styled = style_order(index, vector, k, excluded, anchor)
    if styled is not None:
        return styled
    if among is None:
        return nearest_groups(index, vector, k, excluded)
    return nearest_among(index, vector, k, excluded, among)


def nearest_among(
    index: CatalogIndex, vector: np.ndarray, k: int, excluded: Collection[str], among: np.ndarray
) -> list[Found]:
    """As :func:`nearest_groups`, but from the items ``among`` (ascending ids, int [n]) only:
    the best item of each of the ``k`` groups (not in ``excluded``) whose best items among
    them are nearest ``vector``, best first.

    Exact below :data:`SEARCH_FIRST_SHARE` of the index: the cosine of ``vector`` to every
    one of their stored vectors (gathered from the mapped file and multiplied: about 2 ms
    for 15,000 128-d items on an idle core), ties by position in ``among``. Above it they
    are first looked for among the index's nearest items (:func:`_among_nearest`)."""
    if not len(among):
        return []
    if len(among) > SEARCH_FIRST_SHARE * len(index):
        found = _among_nearest(index, vector, k, excluded, among)
        if found is not None:
            return found
    stored = index.vectors(among)
    query = np.asarray(vector, dtype=np.float32)
    lengths = np.sqrt(np.einsum("ij,ij->i", stored, stored)) * float(np.linalg.norm(query))
    cosines = (stored @ query) / np.maximum(lengths, 1e-12)
    best: dict[str, Found] = {}
    done, batch = 0, k * OVERFETCH_FACTOR
    while len(best) < k and done < len(among):
        order = _best_first(cosines, done + batch)[done:]
        _add_groups(index, [(int(among[i]), float(cosines[i])) for i in order], k, excluded, best)
        done, batch = done + batch, batch * OVERFETCH_FACTOR
    return list(best.values())


def _among_nearest(
    index: CatalogIndex, vector: np.ndarray, k: int, excluded: Collection[str], among: np.ndarray
) -> list[Found] | None:
    """The ``k`` groups :func:`nearest_among` asks for, from an ANN search of the index for
    ``k * OVERFETCH_FACTOR`` / (``among``'s share) items, the ones in ``among`` kept: as
    exact as an unsteered query (a qualifying item beyond those searched is farther than
    all of them). None when fewer than ``k`` groups turn up (the label lies elsewhere)."""
    wanted = min(len(index), int(np.ceil(k * OVERFETCH_FACTOR * len(index) / len(among))))
    candidates = index.search(vector, wanted)
    ids = np.array([item_id for item_id, _ in candidates], dtype=np.int64)
    inside = among[np.minimum(np.searchsorted(among, ids), len(among) - 1)] == ids
    best: dict[str, Found] = {}
    _add_groups(
        index, [pair for pair, ok in zip(candidates, inside, strict=True) if ok], k, excluded, best
    )
    return list(best.values()) if len(best) == k else None


def _best_first(cosines: np.ndarray, count: int) -> np.ndarray:
    """The positions of the ``count`` highest ``cosines``, highest first, ties by position."""
    if count < len(cosines):
        top = np.argpartition(-cosines, count - 1)[:count]
    else:
        top = np.arange(len(cosines))
    return top[np.lexsort((top, -cosines[top]))]


def _add_groups(
    index: CatalogIndex,
    ranked: list[tuple[int, float]],
    k: int,
    excluded: Collection[str],
    best: dict[str, Found],
) -> None:
    """Add to ``best`` the first item of each group of ``ranked`` (item id, cosine; best
    first) that is neither in ``best`` nor ``excluded``, until it holds ``k`` groups."""
    metas = index.metas(item_id for item_id, _ in ranked)
    for (item_id, cosine), meta in zip(ranked, metas, strict=True):
        if len(best) == k:
            return
        if meta.group in excluded or meta.group in best:
            continue
        best[meta.group] = Found(item_id, cosine, meta, unit_score(cosine))


def nearest_groups(
    index: CatalogIndex, vector: np.ndarray, k: int, excluded: Collection[str]
) -> list[Found]:
    """The best item of each of the ``k`` groups (not in ``excluded``) whose best items are
    nearest ``vector``, best first."""
    total = len(index)
    wanted = min(total, k * OVERFETCH_FACTOR)
    while True:
        best: dict[str, Found] = {}
        _add_groups(index, index.search(vector, wanted), k, excluded, best)
        if len(best) >= k or wanted >= total:
            return list(best.values())
        wanted = min(total, wanted * OVERFETCH_FACTOR)


def style_order(
    index: CatalogIndex,
    vector: np.ndarray,
    k: int,
    excluded: Collection[str],
    anchor: str | None = None,
) -> list[Found] | None:
    """At most ``k`` groups for the query ``vector`` (float32 [dim]) in style order, each
    shown by its item nearest the query, scored by its style score.

    Returns None when the stage does not apply to ``index`` (see the module docstring):
    the caller keeps the item-by-item order then. Groups in ``excluded`` are never returned
    but may be the anchor (a library file asked about itself is ranked by its own track).
    ``anchor``: the group the query was identified as (landmarks); None, or a group without
    a profile, leaves the anchor to the nearest item.
    """
    profiles = profiles_of(index)
    if profiles is None:
        return None
    pool = index.search(vector, min(len(index), STYLE_POOL))
    item_cosines: dict[str, float] = {}
    for (_, cosine), meta in zip(pool, index.metas(item_id for item_id, _ in pool), strict=True):
        item_cosines.setdefault(meta.group, cosine)  # best first
    if not item_cosines:
        return None
    if anchor not in profiles.groups:  # none given: the nearest item's group
        anchor = next(iter(item_cosines))
    query = unit_rows(np.asarray(vector, dtype=np.float32)[None, :])[0]
    chosen = []
    for group, style in profiles.order(anchor, query, item_cosines, k, excluded):
        ids = profiles.members[profiles.groups.index(group)]
        cosines = unit_rows(index.vectors(np.asarray(ids))) @ query
        best = int(np.argmax(cosines))
        chosen.append((int(ids[best]), float(cosines[best]), unit_score(style)))
    metas = index.metas(item_id for item_id, _, _ in chosen)
    return [
        Found(item_id, cosine, meta, score)
        for (item_id, cosine, score), meta in zip(chosen, metas, strict=True)
    ]


_profiles: weakref.WeakKeyDictionary[CatalogIndex, TrackProfiles | None] = (
    weakref.WeakKeyDictionary()
)
_profiles_lock = threading.Lock()


def profiles_of(index: CatalogIndex) -> TrackProfiles | None:
    """The profiles of ``index``, built on first use and kept while the index object lives;
    None where the stage does not apply (too many items, one item per group, empty)."""
    with _profiles_lock:
        if index not in _profiles:
            _profiles[index] = _build_profiles(index)
        return _profiles[index]


def _build_profiles(index: CatalogIndex) -> TrackProfiles | None:
    total = len(index)
    if total == 0 or total > PROFILE_MAX_ITEMS:
        return None
    vectors = index.vectors(np.arange(total))
    return TrackProfiles.build(item_groups(index), vectors)


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; all-zero rows stay zero. float32 [n, d]."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32)
