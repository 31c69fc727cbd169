"""A session of playable items only, within the channel rules: videos that are gone
(deleted, private) are left out and the walk goes on in their place, so a mix of 15 shows
15 that play, and videos found to share a YouTube channel are spread out and capped.

Whether a video is gone, and whose channel it is, is known only after the walk chose it (a
title lookup per video, :meth:`musicrec_core.titles.TitleLookup.answers`), so
:func:`playable_session` walks, asks about the videos it chose, and walks again with the
gone ones excluded, as if the catalog never held them, and every channel learned so far
(:class:`KnownChannels`: the answers, then the title cache) passed to the walk as owners.
Walks are deterministic, so the second walk is the first one continued past the gone
videos and the channel clashes: its items before the first of those are the same. At most
:data:`MAX_WALKS` walks; items still known gone after the last are dropped, and so are the
items the channel rules then refuse, and the session says how many. :func:`looked_up_session`
runs it with a :class:`~musicrec_core.titles.TitleLookup` (or none: nothing is asked,
nothing is gone, no channel known) and keeps every answer, so the caller can show the
titles and channels found.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence

from musicrec_core.sessions.items import Item, Session
from musicrec_core.sessions.variety import ChannelOf, channel_owner, rule_breakers
from musicrec_core.sources.video_id import VIDEO_ID_RE
from musicrec_core.titles.lookup import TitleLookup
from musicrec_core.titles.oembed import VideoAnswer

MAX_WALKS = 3
"""Most walks of one session (each after a title lookup of the videos the last one chose)."""

Walk = Callable[[frozenset[str], ChannelOf], Session[Item]]
"""A session walked with the given groups excluded (besides the seeds) and the YouTube
channels known (a group's channel name or None) as owners."""
Answers = Callable[[Sequence[str]], Mapping[str, VideoAnswer]]
"""The clear answers about the given groups (in play order), by video id."""


class KnownChannels:
    """The channels of the videos answered so far, else of the title cache's answers
    (``cached``: the valid cached answers among some video ids; read once per video)."""

    def __init__(self, cached: Answers | None = None) -> None:
        self._cached = cached
        self._channels: dict[str, str | None] = {}

    def learn(self, answers: Iterable[VideoAnswer]) -> None:
        """Take the channels named in ``answers`` (a gone video's is None)."""
        for answer in answers:
            self._channels[answer.video_id] = answer.channel

    def __call__(self, group: str) -> str | None:
        """``group``'s channel name, or None: not a video, or no answer names one."""
        if group not in self._channels:
            if self._cached is None or not VIDEO_ID_RE.fullmatch(group):
                return None
            answer = self._cached([group]).get(group)
            self._channels[group] = None if answer is None else answer.channel
        return self._channels[group]


def playable_session(
    walk: Walk[Item],
    ask: Answers,
    *,
    cached: Answers | None = None,
    variety: bool = True,
    walks: int = MAX_WALKS,
) -> Session[Item]:
    """``walk`` again with every group ``ask`` calls gone excluded and every channel learned
    (from ``ask`` and ``cached``) passed to it, until none of its items is gone and (with
    ``variety``) none breaks a channel rule, or ``walks`` walks were made: then the gone
    ones and those the channel rules refuse are dropped, and counted in the session's
    ``shortfall``."""
    channels = KnownChannels(cached)
    excluded: frozenset[str] = frozenset()
    for _ in range(walks):
        session = walk(excluded, channels)
        found = ask([item.meta.group for item in session.items])
        channels.learn(found.values())
        dead = {group for group, answer in found.items() if answer.state == "gone"}
        live = tuple(item for item in session.items if item.meta.group not in dead)
        clashes = _clashes(live, session.asked, channels) if variety else []
        if not dead and not clashes:
            return session
        excluded |= dead
    refused = set(clashes)
    kept = tuple(item for position, item in enumerate(live) if position not in refused)
    notes = [session.shortfall] if session.shortfall else []
    gone = len(session.items) - len(live)
    if gone:
        notes.append(
            f"{gone} chosen video{' is' if gone == 1 else 's are'} no longer on YouTube "
            f"and no playable one was found in {'its' if gone == 1 else 'their'} place "
            f"after {walks} tries."
        )
    if clashes:
        notes.append(
            f"{len(clashes)} chosen video{'' if len(clashes) == 1 else 's'} left out: "
            f"{'its' if len(clashes) == 1 else 'their'} YouTube channel, found after "
            f"{walks} tries, would have played twice in a row or in more than a third of "
            "the session."
        )
    return dataclasses.replace(session, items=kept, shortfall=" ".join(notes))


def _clashes(items: Sequence[Item], asked: int, channels: ChannelOf) -> list[int]:
    """Positions in ``items`` the channel rules refuse (an unknown channel: its own)."""
    return rule_breakers([item.meta for item in items], asked, channel_owner(channels))


def looked_up_session(
    walk: Walk[Item], titles: TitleLookup | None, *, variety: bool = True
) -> tuple[Session[Item], dict[str, VideoAnswer]]:
    """:func:`playable_session` with the videos asked through ``titles``
    (:meth:`TitleLookup.answers`: the cache, then the endpoint within its budget; blocking;
    channels known before a walk: also its cache's), and every clear answer it gave, by
    video id (titles and channels to show). ``variety`` False: the channel rules are off
    (as the walk's owner rules). ``titles`` None: one walk, no answers."""
    answers: dict[str, VideoAnswer] = {}
    if titles is None:
        return playable_session(walk, lambda groups: {}), answers

    def ask(groups: Sequence[str]) -> dict[str, VideoAnswer]:
        found = titles.answers(groups)
        answers.update(found)
        return found

    session = playable_session(walk, ask, cached=titles.cache.get_many, variety=variety)
    return session, answers
