"""The seeds of /mix and the ends of /path: the Discord options given, checked.

Mental model: :func:`seed_requests` turns each given option (an attachment or a link) into
a :class:`~musicrec_core.service.sessions.SeedRequest` without reading anything, so a bad
one (not a YouTube link, over the size cap) is named with its reason at once and costs
nothing. The core then hears the good ones together inside the command's one admission
(:func:`musicrec_core.service.sessions.hear_seeds`).
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from musicrec_core.errors import MusicrecError
from musicrec_core.service.request import AudioRequest
from musicrec_core.service.sessions import FailedSeed, SeedRequest
from musicrec_core.sources.attachment import check_declared_size
from musicrec_core.sources.youtube import parse_youtube_link

MAX_NAME_CHARS = 200
"""Characters of a link as typed kept to name it (a longer one is not a link we take)."""


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
