"""The seeds of /mix and the ends of /path: the options given, checked, then heard.

Mental model: :func:`seed_requests` turns each given option (an attachment or a link) into
an :class:`~bot.request.AudioRequest` without reading anything, so a bad one (not a
YouTube link, over the size cap) is named with its reason at once and costs nothing.
:func:`read_seeds` then hears the good ones together inside the command's one admission
(:meth:`bot.service.RequestService.seed`: a link in the clip cache costs nothing, any
other takes one fetch of the member's YouTube share); one that fails is named with its
reason and the others go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import discord
import numpy as np

from musicrec_core.errors import MusicrecError
from musicrec_core.recommender import RecommendationSet
from musicrec_core.service.request import AudioRequest
from musicrec_core.sessions.seed_groups import heard_groups
from musicrec_core.sources.attachment import check_declared_size
from musicrec_core.sources.youtube import parse_youtube_link

SeedReader = Callable[[int, int, AudioRequest], Awaitable[RecommendationSet]]
"""Hears one request for (member, server): :meth:`bot.service.RequestService.seed`."""

MAX_NAME_CHARS = 200
"""Characters of a link as typed kept to name it (a longer one is not a link we take)."""


@dataclass(frozen=True)
class SeedRequest:
    """A checked option: what the member gave (a file name or a link, outside text) and
    the request that hears it."""

    name: str
    request: AudioRequest


@dataclass(frozen=True)
class HeardSeed:
    """A seed heard.

    Attributes:
        name: the option as given.
        vector: its pooled vector, float32 [index dim].
        own_groups: the catalog groups the seed itself is, never played: its video, its
            file's track, and the track its sound identified (an upload of a catalog song).
    """

    name: str
    vector: np.ndarray
    own_groups: frozenset[str]


def _heard(name: str, result: RecommendationSet) -> HeardSeed:
    return HeardSeed(name, result.query_vector, heard_groups(result))


@dataclass(frozen=True)
class FailedSeed:
    """An option that could not be used, and why.

    Attributes:
        name: the file name or link as given (outside text: show it through
            :mod:`bot.untrusted_text`).
        reason: the error's sentence (core text that may name a server path: show it
            through :func:`bot.errors.public_text`).
    """

    name: str
    reason: str


def seed_requests(
    files: Sequence[discord.Attachment | None],
    links: Sequence[str | None],
    *,
    max_bytes: int,
) -> tuple[list[SeedRequest], list[FailedSeed]]:
    """The given options (files first, then links, each in option order; None and blank
    ones skipped) as requests, and those refused: a file over ``max_bytes``, a link that
    is not a YouTube video link."""
    requests: list[SeedRequest] = []
    failed: list[FailedSeed] = []
    for file in files:
        if file is None:
            continue
        try:
            check_declared_size(file.size, max_bytes)
        except MusicrecError as error:
            failed.append(FailedSeed(file.filename, str(error)))
        else:
            requests.append(SeedRequest(file.filename, AudioRequest(attachment=file)))
    for link in links:
        text = (link or "").strip()
        if not text:
            continue
        try:
            request = AudioRequest(link=parse_youtube_link(text))
        except MusicrecError as error:
            failed.append(FailedSeed(text[:MAX_NAME_CHARS], str(error)))
        else:
            requests.append(SeedRequest(text[:MAX_NAME_CHARS], request))
    return requests, failed


async def read_seeds(
    seed: SeedReader, member: int, server: int, requests: Sequence[SeedRequest]
) -> tuple[list[HeardSeed], list[FailedSeed]]:
    """Hear every request at once (``seed``: the request service's
    :meth:`~bot.service.RequestService.seed`), in the requests' order; a musicrec error
    fails that seed only, anything else (a bug, the deadline) propagates."""
    results = await asyncio.gather(
        *(seed(member, server, item.request) for item in requests), return_exceptions=True
    )
    heard: list[HeardSeed] = []
    failed: list[FailedSeed] = []
    for item, result in zip(requests, results, strict=True):
        if isinstance(result, MusicrecError):
            failed.append(FailedSeed(item.name, str(result)))
        elif isinstance(result, BaseException):
            raise result
        else:
            heard.append(_heard(item.name, result))
    return heard, failed
