"""A path: tracks that move from A's sound to B's.

Each step's point lies on the great circle from the track before it (A, for the first) to
B (spherical interpolation of the unit vectors: the index compares directions, so points on
the straight chord would shrink towards the origin and bend nothing), at the share of the
way left that spaces the steps still to play evenly: with r steps left, 1 / (r + 1) of the
way. Neither end is played. At the point the nearest playable item is played when it is a
*good neighbour*: nearer B than the step before it, so the path never turns back. A point
whose nearest items are all played, ruled out (variety, steering) or no good neighbours
searches four times wider, up to :data:`PATH_MAX_WIDTH` items; a point with no good
neighbour among them is merged (dropped, and the session says how many were): the next
point, planned from the same track, lies a longer step ahead. The variety rules are those
of a mix (:mod:`musicrec_core.sessions.variety`).

Why re-plan from each played track rather than fix all points on the A-B circle at the
start: an item seldom lies on its point, and one that lands well ahead (much nearer B) left
the fixed points after it behind it, with no good neighbour near them; 4 to 9 of 10 steps
were kept on random pairs of a synthetic catalog (docs/sessions.md has the figures of both
rules).
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from musicrec_core.errors import SessionError
from musicrec_core.sessions.candidates import CandidateSearch, unit_end
from musicrec_core.sessions.items import PathItem, Session
from musicrec_core.sessions.mix import MAX_SESSION
from musicrec_core.sessions.source import IndexSource, held
from musicrec_core.sessions.variety import ChannelOf, Owner, Variety, catalog_owner
from musicrec_core.steering.filter import Steering

PATH_MAX_WIDTH = 4096
"""Most items searched around one point (a point near B can have no item nearer B than the
step before it anywhere: searching a million items for it would cost seconds)."""

SAME_TRACK_COSINE = 0.9999
"""A and B this close (or this close to opposite) are refused: no direction lies between."""


def path(
    source: IndexSource,
    a_vector: np.ndarray,
    b_vector: np.ndarray,
    steps: int,
    *,
    steering: Steering | None = None,
    variety: bool = True,
    exclude_groups: Collection[str] = (),
    owner: Owner | None = None,
    channels: ChannelOf | None = None,
) -> Session[PathItem]:
    """At most ``steps`` items from A to B (pooled vectors float32 [dim]); arguments as
    :func:`musicrec_core.sessions.mix.mix` (``exclude_groups``: A's and B's own groups).

    Raises:
        SessionError: ``steps`` outside 1..MAX_SESSION, A and B the same sound (or
            opposite ones), a zero vector.
        IndexMismatchError: A or B does not have the index's width.
    """
    if not 1 <= steps <= MAX_SESSION:
        raise SessionError(f"A path takes 1 to {MAX_SESSION} steps, not {steps}.")
    with held(source) as index:
        a, b = (
            unit_end(vector, index.dim, name) for vector, name in ((a_vector, "A"), (b_vector, "B"))
        )
        if abs(float(a @ b)) >= SAME_TRACK_COSINE:
            raise SessionError(
                "A and B are the same track (or sound exactly alike): a path needs two "
                "different ends."
                if a @ b > 0
                else "A and B point in opposite directions: no path lies between them."
            )
        search = CandidateSearch(index, steering)
        owner = catalog_owner(index, channels) if owner is None else owner
        rules = Variety(steps, rules=variety, owner=owner, excluded=exclude_groups)
        items: list[PathItem] = []
        current, to_b = a, float(a @ b)
        for left in range(steps, 0, -1):
            if to_b >= SAME_TRACK_COSINE:  # at B already: no point lies between
                break
            point = sphere_points(current, b, left)[0]
            found = nearest_ahead(search, rules, point, a, b, to_b)
            if found is not None:
                chosen, current = found
                rules.take(chosen.meta)
                items.append(chosen)
                to_b = chosen.to_b
    shortfall = None
    if len(items) < steps:
        shortfall = (
            f"{steps - len(items)} of the {steps} steps were merged into their neighbours: "
            "no playable item near their points lies nearer B than the step before."
        )
    return Session(tuple(items), steps, shortfall)


def sphere_points(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` unit points evenly spaced on the great circle from unit ``a`` to unit
    ``b`` (not parallel), ends excluded: float32 [steps, dim]."""
    angle = float(np.arccos(np.clip(a @ b, -1.0, 1.0)))
    fractions = np.arange(1, steps + 1) / (steps + 1)
    weights_a = np.sin((1 - fractions) * angle) / np.sin(angle)
    weights_b = np.sin(fractions * angle) / np.sin(angle)
    return (weights_a[:, None] * a + weights_b[:, None] * b).astype(np.float32)


def nearest_ahead(
    search: CandidateSearch,
    rules: Variety,
    point: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    floor: float,
) -> tuple[PathItem, np.ndarray] | None:
    """The nearest playable item to ``point`` whose cosine to ``b`` is above ``floor``,
    with its unit stored vector (float32 [dim]); None when none lies among the
    PATH_MAX_WIDTH nearest."""
    for width in search.widening(PATH_MAX_WIDTH):
        found = search.near([point], width)
        to_b = found.unit @ b
        for row in np.argsort(-(found.unit @ point), kind="stable"):
            if to_b[row] > floor and rules.allows(found.metas[row]):
                item = PathItem(
                    int(found.ids[row]),
                    found.metas[row],
                    float(found.unit[row] @ a),
                    float(to_b[row]),
                )
                return item, found.unit[row]
    return None
