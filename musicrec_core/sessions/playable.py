"""A session of playable items only: videos that are gone (deleted, private) are left out
and the walk goes on in their place, so a mix of 15 shows 15 that play.

Whether a video is gone is known only after the walk chose it (a title lookup per video,
:meth:`musicrec_core.titles.TitleLookup.answers`), so :func:`playable_session` walks, asks
about the videos it chose, and walks again with the gone ones excluded, as if the catalog
never held them. Walks are deterministic, so the second walk is the first one continued
past the gone videos: its items before the first gone one are the same. At most
:data:`MAX_WALKS` walks; items still known gone after the last are dropped and the session
says how many. :func:`looked_up_session` runs it with a
:class:`~musicrec_core.titles.TitleLookup` (or none: nothing is asked, nothing is gone)
and keeps every answer, so the caller can show the titles and channels found.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence

from musicrec_core.sessions.items import Item, Session
from musicrec_core.titles.lookup import TitleLookup
from musicrec_core.titles.oembed import VideoAnswer

MAX_WALKS = 3
"""Most walks of one session (each after a title lookup of the videos the last one chose)."""

Walk = Callable[[frozenset[str]], Session[Item]]
"""A session walked with the given groups excluded (besides the seeds)."""
Gone = Callable[[Sequence[str]], Collection[str]]
"""Of the given groups (in play order), those known to be gone."""


def playable_session(walk: Walk[Item], gone: Gone, *, walks: int = MAX_WALKS) -> Session[Item]:
    """``walk`` again with every group ``gone`` names excluded, until none of its items is
    gone or ``walks`` walks were made (then the gone ones are dropped, and counted in the
    session's ``shortfall``)."""
    excluded: frozenset[str] = frozenset()
    for _ in range(walks):
        session = walk(excluded)
        dead = set(gone([item.meta.group for item in session.items]))
        if not dead:
            return session
        excluded |= dead
    kept = tuple(item for item in session.items if item.meta.group not in dead)
    dropped = len(session.items) - len(kept)
    note = (
        f"{dropped} chosen video{' is' if dropped == 1 else 's are'} no longer on YouTube "
        f"and no playable one was found in {'its' if dropped == 1 else 'their'} place "
        f"after {walks} tries."
    )
    shortfall = f"{session.shortfall} {note}" if session.shortfall else note
    return dataclasses.replace(session, items=kept, shortfall=shortfall)


def looked_up_session(
    walk: Walk[Item], titles: TitleLookup | None
) -> tuple[Session[Item], dict[str, VideoAnswer]]:
    """:func:`playable_session` with the videos asked through ``titles``
    (:meth:`TitleLookup.answers`: the cache, then the endpoint within its budget; blocking),
    and every clear answer it gave, by video id (titles and channels to show). ``titles``
    None: one walk, no answers."""
    answers: dict[str, VideoAnswer] = {}

    def gone(groups: Sequence[str]) -> set[str]:
        if titles is None:
            return set()
        found = titles.answers(groups)
        answers.update(found)
        return {group for group, answer in found.items() if answer.state == "gone"}

    return playable_session(walk, gone), answers
