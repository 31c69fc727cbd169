"""``POST /v1/mix``, ``GET /v1/path`` and ``GET /v1/discover``: listening sessions and
discovery by words, through the request service's sessions
(:mod:`musicrec_core.service.sessions`), the walks /mix and /path run in Discord.

- ``POST /v1/mix`` ``{"seeds": [...], "n", "more", "less"}``: 1-5 seeds, each a YouTube
  video id or link (heard from the clip cache, or fetched within the key's YouTube share)
  or a library ``lib_`` id (its stored vector). A seed that cannot be heard is named in
  ``skipped_seeds`` and the others go on; none heard is a 422.
- ``GET /v1/path?from=&to=&steps=&more=&less=``: the two ends, as seeds are given.
- ``GET /v1/discover?words=&n=&page=``: a seeded page of catalog items carrying every word.

A whole request is one admission for the key, like one Discord command.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from musicrec_core.api.answers import LIBRARY_PREFIX, group_for_public_id
from musicrec_core.api.auth import Caller, require_caller
from musicrec_core.api.catalog_answers import (
    DiscoverAnswer,
    SessionAnswer,
    discover_answer,
    session_answer,
)
from musicrec_core.api.http_errors import ApiError
from musicrec_core.api.recommend_routes import (
    MAX_SEED_CHARS,
    MAX_WORDS_TEXT,
    NO_SUCH_ITEM,
    catalog_item,
    checked,
    link_request,
    steering_of,
    words_of,
)
from musicrec_core.api.served import answering, requester_for, service_of
from musicrec_core.errors import MusicrecError, UnknownItemError
from musicrec_core.server_details import without_server_details
from musicrec_core.service.service import RecommendService
from musicrec_core.service.sessions import (
    FailedSeed,
    HeardSeed,
    SeedRequest,
    catalog_seed,
    hear_seeds,
    nothing_left,
    walk_mix,
    walk_path,
)
from musicrec_core.sessions import MAX_SESSION
from musicrec_core.steering import MAX_WORDS, LabelSteering
from musicrec_core.steering.discovery import MAX_PAGE, Discovery, discover

__all__ = ["session_router"]

MAX_SEEDS = 5
DEFAULT_MIX_LENGTH = 15
DEFAULT_PATH_STEPS = 10
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_NUMBER = 1_000_000


class MixBody(BaseModel):
    """``POST /v1/mix``."""

    model_config = ConfigDict(extra="forbid")
    seeds: list[str] = Field(min_length=1, max_length=MAX_SEEDS)
    n: int = Field(default=DEFAULT_MIX_LENGTH, ge=1, le=MAX_SESSION)
    more: list[str] = Field(default=[], max_length=MAX_WORDS)
    less: list[str] = Field(default=[], max_length=MAX_WORDS)


async def _heard(
    service: RecommendService, caller: Caller, seeds: Sequence[str]
) -> tuple[list[HeardSeed], list[FailedSeed]]:
    """Every seed heard inside the request's admission: library ids from the catalog (an
    unknown one is skipped), YouTube seeds through the service (one fetch each when not
    in the clip cache)."""
    from_catalog: list[HeardSeed] = []
    refused: list[FailedSeed] = []
    links: list[SeedRequest] = []
    for text in seeds:
        try:
            if text.startswith(LIBRARY_PREFIX):
                from_catalog.append(await asyncio.to_thread(_library_seed, service, text))
            else:
                links.append(SeedRequest(text, link_request(text, None)))
        except (ValueError, MusicrecError, ApiError) as exc:
            reason = exc.message if isinstance(exc, ApiError) else str(exc)
            refused.append(FailedSeed(text[:MAX_SEED_CHARS], without_server_details(reason)))
    if not links:
        if not from_catalog:
            raise ApiError(422, "session_refused", nothing_left(refused, "No seed was found."))
        return from_catalog, refused
    heard, failed = await hear_seeds(service, requester_for(caller), links, refused)
    failed = [FailedSeed(seed.name, without_server_details(seed.reason)) for seed in failed]
    return from_catalog + heard, failed


def _library_seed(service: RecommendService, text: str) -> HeardSeed:
    """Library item ``text`` (a ``lib_`` id) of the served catalog as a seed (blocking).

    Raises:
        ValueError: not a well-formed id. UnknownItemError: no such item.
    """
    item = catalog_item(service, group_for_public_id(text))
    if item is None:
        raise UnknownItemError(NO_SUCH_ITEM)
    seed = catalog_seed(service.recommender, item)
    return HeardSeed(text, seed.vector, seed.own_groups)


def session_router() -> APIRouter:
    """The router of ``/v1/mix``, ``/v1/path`` and ``/v1/discover``."""
    router = APIRouter(prefix="/v1", tags=["sessions"])

    @router.post("/mix", response_model=SessionAnswer)
    async def mix(request: Request, caller: Caller = Depends(require_caller)) -> SessionAnswer:  # noqa: B008
        """A mix of ``n`` tracks that flow from 1-5 seeds, none of them a seed."""
        body = checked(MixBody, await request.body())
        service = service_of(request)
        steering = await steering_of(service, "api_mix", body.more, body.less)
        with answering():
            async with service.admitted(requester_for(caller), "api_mix"):
                heard, skipped = await _heard(service, caller, body.seeds)
                walked = await walk_mix(service, heard, body.n, steering)
        return session_answer("mix", walked, skipped, steering)

    @router.get("/path", response_model=SessionAnswer)
    async def path(
        request: Request,
        start: str = Query(alias="from", max_length=MAX_SEED_CHARS),
        end: str = Query(alias="to", max_length=MAX_SEED_CHARS),
        steps: int = Query(DEFAULT_PATH_STEPS, ge=1, le=MAX_SESSION),
        more: str = Query("", max_length=MAX_WORDS_TEXT),
        less: str = Query("", max_length=MAX_WORDS_TEXT),
        caller: Caller = Depends(require_caller),  # noqa: B008
    ) -> SessionAnswer:
        """``steps`` tracks moving from the sound of ``from`` to the sound of ``to``."""
        service = service_of(request)
        steering = await _words_steering(service, "api_path", more, less)
        with answering():
            async with service.admitted(requester_for(caller), "api_path"):
                heard, failed = await _heard(service, caller, [start, end])
                if failed:
                    raise ApiError(
                        422,
                        "session_refused",
                        " ".join(f"Skipped {f.name}: {f.reason}" for f in failed)
                        + " A path needs both of its ends.",
                    )
                walked = await walk_path(service, heard[0], heard[1], steps, steering)
        return session_answer("path", walked, [], steering)

    @router.get("/discover", response_model=DiscoverAnswer)
    async def discover_page(
        request: Request,
        words: str = Query(min_length=1, max_length=MAX_WORDS_TEXT),
        n: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE),
        page: int = Query(1, ge=1, le=MAX_PAGE_NUMBER),
        caller: Caller = Depends(require_caller),  # noqa: B008
    ) -> DiscoverAnswer:
        """A page of ``n`` catalog items carrying every word (the same page, the same
        items)."""
        asked = words_of(words)
        if not asked:
            raise ApiError(400, "bad_request", "Give at least one word, e.g. calm, piano.")
        service = service_of(request)
        steering = await _words_steering(service, "api_discover", words, "")
        assert steering is not None

        def discover_held() -> tuple[Discovery, str]:
            with service.recommender.held_index() as index:
                found = discover(index, steering.vocabulary, asked, n, page)
                return found, index.fingerprint

        with answering():
            async with service.admitted(requester_for(caller), "api_discover"):
                found, catalog = await asyncio.to_thread(discover_held)
        return discover_answer(found, catalog)

    return router


async def _words_steering(
    service: RecommendService, entry: str, more: str, less: str
) -> LabelSteering | None:
    """The steering comma-separated ``more`` and ``less`` make (a 400 over the count)."""
    more_words, less_words = words_of(more), words_of(less)
    if len(more_words) > MAX_WORDS or len(less_words) > MAX_WORDS:
        raise ApiError(400, "bad_request", f"Give at most {MAX_WORDS} words each.")
    return await steering_of(service, entry, more_words, less_words)
