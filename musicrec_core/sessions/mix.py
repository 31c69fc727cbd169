"""A mix: a walk through the catalog from a few seeds, each track flowing into the next.

At each step the walk plays the unused item with the highest

    PREVIOUS_WEIGHT x cosine(item, previous track) + (1 - PREVIOUS_WEIGHT) x cosine(item, seeds)

where "seeds" is the unit mean of the unit seed vectors and the first step's previous
track is the last seed. Why both terms: the previous-track term alone is a
nearest-neighbour chain that drifts away from the seeds (each step may turn a little
further); the seeds term alone is the plain top-N, whose consecutive tracks need not sound
alike. Why a quarter for the previous track (docs/sessions.md has the sweep): on real music
(bench_sessions_real.py) half of each gave the smoothest steps (1.22 x the plain top-N's
mean step cosine) but drew 5 % fewer tracks from the seed's own soundtrack than the plain
top-N and, with the album rule on, fewer than the rule allows; a quarter keeps 1.15 x the
flow (1.12 x on the synthetic catalog) at 0.98 x the style precision, and meets the album
rule's bound.

Candidates come from the index's own search around the previous track and the seeds
(:mod:`musicrec_core.sessions.candidates`); the variety rules
(:mod:`musicrec_core.sessions.variety`) decide which may be played.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from musicrec_core.errors import SessionError
from musicrec_core.sessions.candidates import CandidateSearch, unit, unit_end
from musicrec_core.sessions.items import MixItem, Session
from musicrec_core.sessions.source import IndexSource, held
from musicrec_core.sessions.variety import ChannelOf, Owner, Variety, catalog_owner
from musicrec_core.steering.filter import Steering

PREVIOUS_WEIGHT = 0.25
"""Weight of the cosine to the previous track; the seeds' mean gets the rest (see above)."""

MAX_SESSION = 50
"""Most tracks one mix (or steps one path) may ask for."""


def mix(
    source: IndexSource,
    seed_vectors: Sequence[np.ndarray],
    n: int,
    *,
    steering: Steering | None = None,
    variety: bool = True,
    exclude_groups: Collection[str] = (),
    owner: Owner | None = None,
    channels: ChannelOf | None = None,
    previous_weight: float = PREVIOUS_WEIGHT,
) -> Session[MixItem]:
    """At most ``n`` tracks walking from ``seed_vectors`` (pooled vectors, float32 [dim]
    each, as the index stores them).

    Args:
        source: a Recommender (its current index, held for the call) or a CatalogIndex.
        steering: only items it qualifies (or admits) are played.
        variety: the owner rules on (no item, video or track twice holds always).
        exclude_groups: groups never played: the seeds' own videos or tracks.
        owner: what counts as one source for the variety rules (None: the index's own,
            :func:`~musicrec_core.sessions.variety.catalog_owner`: a library's album and
            artist tags, else each group).
        channels: the YouTube channels known (a group's channel name or None); with
            ``owner`` None, a video of a known channel is that channel's
            (:func:`~musicrec_core.sessions.variety.channel_owner`).
        previous_weight: the weight of the cosine to the previous track, in [0, 1] (0: the
            plain top-N by the seeds; the benchmarks sweep it).

    Returns a session that says why when the catalog held fewer usable items than ``n``.

    Raises:
        SessionError: ``n`` outside 1..MAX_SESSION, no seeds, or a zero seed vector.
        ValueError: ``previous_weight`` outside [0, 1].
        IndexMismatchError: a seed does not have the index's width.
    """
    if not 1 <= n <= MAX_SESSION:
        raise SessionError(f"A mix holds 1 to {MAX_SESSION} tracks, not {n}.")
    if not seed_vectors:
        raise SessionError("A mix needs at least one seed.")
    if not 0.0 <= previous_weight <= 1.0:
        raise ValueError(f"previous_weight must be in [0, 1], not {previous_weight}")
    with held(source) as index:
        seeds = np.stack([unit_end(vector, index.dim, "A seed") for vector in seed_vectors])
        centre = unit(seeds.mean(axis=0)) if len(seeds) > 1 else seeds[0]
        previous = seeds[-1]
        search = CandidateSearch(index, steering)
        owner = catalog_owner(index, channels) if owner is None else owner
        rules = Variety(n, rules=variety, owner=owner, excluded=exclude_groups)
        items: list[MixItem] = []
        while len(items) < n:
            found = _next(search, rules, previous, centre, previous_weight)
            if found is None:
                break
            chosen, previous = found
            rules.take(chosen.meta)
            items.append(chosen)
    shortfall = None
    if len(items) < n:
        shortfall = (
            f"Only {len(items)} of the {n} tracks asked fit: the catalog holds no more items "
            "that are not seeds, not played already"
            + (" and within the variety rules." if variety else ".")
        )
    return Session(tuple(items), n, shortfall)


def _next(
    search: CandidateSearch,
    rules: Variety,
    previous: np.ndarray,
    centre: np.ndarray,
    previous_weight: float,
) -> tuple[MixItem, np.ndarray] | None:
    """The best playable item near ``previous`` and ``centre`` with its unit stored vector
    (float32 [dim]: the next step's ``previous``); None when the whole index holds none.

    An item neither search returned is no nearer ``previous`` than the farthest returned
    around it, nor nearer ``centre``: its value is at most the weighted sum of the two
    searches' reaches. A playable candidate worth less than that may be beaten by an item
    not searched, so the search widens (in a library, whose tracks are many items each,
    the nearest 64 items can be a few tracks, all played)."""
    for width in search.widening():
        found = search.near([previous, centre], width)
        to_previous = found.unit @ previous
        to_seeds = found.unit @ centre
        value = previous_weight * to_previous + (1 - previous_weight) * to_seeds
        unsearched = previous_weight * found.reach[0] + (1 - previous_weight) * found.reach[1]
        for row in np.argsort(-value, kind="stable"):
            if value[row] < unsearched:
                break
            if rules.allows(found.metas[row]):
                item = MixItem(
                    int(found.ids[row]),
                    found.metas[row],
                    float(to_previous[row]),
                    float(to_seeds[row]),
                )
                return item, found.unit[row]
    return None
