"""Listening sessions served: seeds heard inside one admission, then a mix or a path walked
on the served catalog, gone videos replaced. The bot's /mix and /path and the API's
``/v1/mix`` and ``/v1/path`` both run them.

Mental model: a front end checks its options into :class:`SeedRequest` s without reading
anything (a bad one is a :class:`FailedSeed`, named with its reason, costing nothing), and
admits the whole command once (:meth:`~.service.RecommendService.admitted`). Inside,
:func:`hear_seeds` hears every seed at once (:meth:`~.service.RecommendService.seed`: a
link in the clip cache costs nothing, any other takes one fetch of the requester's YouTube
share); one that fails is named and the others go on. :func:`walk_mix` and
:func:`walk_path` then walk in a thread on the served index, held as a query holds it,
never playing a seed or what sounds exactly like one
(:func:`musicrec_core.sessions.seed_groups.never_played`); gone videos are left out and
the walk goes on in their place (:func:`musicrec_core.sessions.playable.looked_up_session`
with the service's title lookup), so a mix of 15 gives 15 that play.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.errors import MusicrecError, SessionError, UnknownItemError
from musicrec_core.recommendation import source_name
from musicrec_core.recommender import Recommender
from musicrec_core.service.request import AudioRequest, Requester
from musicrec_core.service.service import RecommendService
from musicrec_core.sessions import Session, mix, path
from musicrec_core.sessions.playable import looked_up_session
from musicrec_core.sessions.seed_groups import heard_groups, never_played
from musicrec_core.sessions.variety import ChannelOf
from musicrec_core.steering import LabelSteering
from musicrec_core.titles import VideoAnswer

Walk = Callable[[CatalogIndex, frozenset[str], ChannelOf], Session]
"""One walk on a held index, leaving out the given groups, told the channels learned."""


@dataclass(frozen=True)
class SeedRequest:
    """A checked seed: what the requester gave (a file name or a link, outside text) and
    the request that hears it."""

    name: str
    request: AudioRequest


@dataclass(frozen=True)
class HeardSeed:
    """A seed heard.

    Attributes:
        name: the seed as given (outside text).
        vector: its pooled vector, float32 [index dim].
        own_groups: the catalog groups the seed itself is, never played: its video, its
            file's track, and the track its sound identified (an upload of a catalog song).
    """

    name: str
    vector: np.ndarray
    own_groups: frozenset[str]


@dataclass(frozen=True)
class FailedSeed:
    """A seed that could not be used, and why.

    Attributes:
        name: the file name or link as given (outside text).
        reason: the error's sentence (core text that may name a server path: a front end
            shows it through its own display rules).
    """

    name: str
    reason: str


@dataclass(frozen=True)
class WalkedSession:
    """A session walked on the served catalog.

    Attributes:
        session: the items in play order, with their flow figures.
        answers: the title lookups' answers of its YouTube items, by video id.
        catalog: the fingerprint of the catalog it was walked on.
    """

    session: Session
    answers: dict[str, VideoAnswer]
    catalog: str


async def hear_seeds(
    service: RecommendService,
    requester: Requester,
    requests: Sequence[SeedRequest],
    refused: Sequence[FailedSeed] = (),
) -> tuple[list[HeardSeed], list[FailedSeed]]:
    """Hear every request at once, in the requests' order, inside the command's admission;
    a musicrec error fails that seed only, anything else (a bug, the deadline) propagates.
    Returns the seeds heard, and the ``refused`` ones (by the front end's checks) followed
    by those that failed here.

    Raises:
        SessionError: no seed could be heard (naming each failed one).
    """
    results = await asyncio.gather(
        *(service.seed(requester, item.request) for item in requests), return_exceptions=True
    )
    heard: list[HeardSeed] = []
    failed = list(refused)
    for item, result in zip(requests, results, strict=True):
        if isinstance(result, MusicrecError):
            failed.append(FailedSeed(item.name, str(result)))
        elif isinstance(result, BaseException):
            raise result
        else:
            heard.append(HeardSeed(item.name, result.query_vector, heard_groups(result)))
    if not heard:
        raise SessionError(nothing_left(failed, "No seed could be heard."))
    return heard, failed


def nothing_left(failed: Sequence[FailedSeed], first: str) -> str:
    """A refusal's raw text: ``first``, then each failed seed with its reason."""
    return " ".join([first, *(f"Skipped {seed.name}: {seed.reason}" for seed in failed)])


def catalog_seed(recommender: Recommender, item_id: int) -> HeardSeed:
    """Catalog item ``item_id`` of the served index as a seed (blocking: it reads the index),
    named by its title, else its source file's name, else its group.

    Raises:
        UnknownItemError: the index holds no item ``item_id``.
    """
    with recommender.held_index() as index:
        if not 0 <= item_id < len(index):
            raise UnknownItemError(
                "That result is not in the catalog musicrec serves: run /recommend again."
            )
        meta = index.meta(item_id)
        name = meta.title or (source_name(meta.source) if meta.source else meta.group)
        return HeardSeed(name, index.vector(item_id), frozenset({meta.group}))


async def walk_mix(
    service: RecommendService,
    heard: Sequence[HeardSeed],
    count: int,
    steering: LabelSteering | None = None,
) -> WalkedSession:
    """A mix of ``count`` tracks from the ``heard`` seeds (1-5), steered by ``steering``."""

    def walk(index: CatalogIndex, excluded: frozenset[str], channels: ChannelOf) -> Session:
        own = never_played(index, heard) | excluded
        vectors = [seed.vector for seed in heard]
        return mix(index, vectors, count, steering=steering, exclude_groups=own, channels=channels)

    return await _walked(service, walk)


async def walk_path(
    service: RecommendService,
    a: HeardSeed,
    b: HeardSeed,
    steps: int,
    steering: LabelSteering | None = None,
) -> WalkedSession:
    """A path of ``steps`` tracks from ``a`` to ``b``, steered by ``steering``."""
    ends = (a, b)

    def walk(index: CatalogIndex, excluded: frozenset[str], channels: ChannelOf) -> Session:
        own = never_played(index, ends) | excluded
        return path(
            index,
            a.vector,
            b.vector,
            steps,
            steering=steering,
            exclude_groups=own,
            channels=channels,
        )

    return await _walked(service, walk)


async def _walked(service: RecommendService, walk: Walk) -> WalkedSession:
    """``walk`` in a thread on the served index, gone videos replaced."""
    recommender, titles = service.recommender, service.titles

    def walk_held() -> WalkedSession:
        with recommender.held_index() as index:
            session, answers = looked_up_session(
                lambda excluded, channels: walk(index, excluded, channels), titles
            )
            return WalkedSession(session, answers, index.fingerprint)

    return await asyncio.to_thread(walk_held)
