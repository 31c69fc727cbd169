"""``POST /v1/recommend`` and ``/v1/similar``: recommendations for an upload, a YouTube link
or a catalog item, through the request service.

- ``POST /v1/recommend``: a ``multipart/form-data`` upload (field ``file``; optional text
  fields ``n``, ``start``, ``more``, ``less``, the words comma-separated) or a JSON body
  ``{"link", "start", "n", "more", "less"}``.
- ``GET /v1/similar?seed=&n=&exclude=&start=&more=&less=``: the autoplay call. ``seed`` is a
  YouTube video id or link (answered from the clip cache when that window was heard
  before, otherwise fetched within the key's share of the YouTube budget; a catalog video
  asked without a start: its stored vector), or a library item's ``lib_`` id (its stored
  vector: nothing fetched). ``exclude`` lists the public ids
  a session already played (comma-separated, at most :data:`MAX_EXCLUDE_IN_QUERY`);
  ``POST /v1/similar`` takes the same as JSON with up to :data:`MAX_EXCLUDE` of them.

Every answer is an :class:`~musicrec_core.api.answers.Answer`. Bad input is a 400 (422 for
words or audio that cannot be used) before anything is admitted or fetched.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from musicrec_core.api.answers import (
    LIBRARY_PREFIX,
    Answer,
    answer_from,
    group_for_public_id,
)
from musicrec_core.api.auth import Caller, require_caller
from musicrec_core.api.http_errors import ApiError
from musicrec_core.api.served import answering, requester_for, service_of
from musicrec_core.api.upload import Upload, receive_upload
from musicrec_core.catalog.index.tracks import first_items, first_items_if_read
from musicrec_core.recommender import RecommendationSet
from musicrec_core.service.request import AudioRequest, LocalFile, parse_start
from musicrec_core.service.service import RecommendService
from musicrec_core.sources.youtube import parse_youtube_link
from musicrec_core.steering import MAX_WORD_CHARS, MAX_WORDS, LabelSteering

__all__ = [
    "MAX_EXCLUDE",
    "MAX_EXCLUDE_IN_QUERY",
    "MAX_RESULTS",
    "MAX_SEED_CHARS",
    "MAX_WORDS_TEXT",
    "NO_SUCH_ITEM",
    "catalog_item",
    "catalog_item_soon",
    "checked",
    "link_request",
    "recommend_router",
    "steering_of",
    "words_of",
]

MAX_RESULTS = 50
"""The most items one answer may hold (``n``)."""
DEFAULT_RESULTS = 5
MAX_EXCLUDE_IN_QUERY = 100
"""Ids ``GET /v1/similar``'s ``exclude`` may list (a URL stays within the header cap)."""
MAX_EXCLUDE = 5000
"""Ids ``POST /v1/similar``'s ``exclude`` may list."""
MAX_SEED_CHARS = 512
"""Longest ``seed`` or ``link`` (a YouTube link is far shorter)."""
MAX_WORDS_TEXT = MAX_WORDS * (MAX_WORD_CHARS + 2)
YOUTUBE_ID_CHARS = 11
Body = TypeVar("Body", bound=BaseModel)
WATCH = "https://www.youtube.com/watch?v="


class LinkBody(BaseModel):
    """``POST /v1/recommend`` with a YouTube link."""

    model_config = ConfigDict(extra="forbid")
    link: str = Field(max_length=MAX_SEED_CHARS, description="A YouTube video link or id.")
    start: float | str | None = Field(
        default=None, description="Seconds, or 1:30 / 1m30s; default: the link's t= or 30 s."
    )
    n: int = Field(default=DEFAULT_RESULTS, ge=1, le=MAX_RESULTS)
    more: list[str] = Field(default=[], max_length=MAX_WORDS)
    less: list[str] = Field(default=[], max_length=MAX_WORDS)


class SimilarBody(BaseModel):
    """``POST /v1/similar``: the autoplay call with a long ``exclude`` list."""

    model_config = ConfigDict(extra="forbid")
    seed: str = Field(max_length=MAX_SEED_CHARS, description="YouTube id or link, or lib_ id.")
    n: int = Field(default=DEFAULT_RESULTS, ge=1, le=MAX_RESULTS)
    start: float | str | None = None
    exclude: list[str] = Field(default=[], max_length=MAX_EXCLUDE)
    more: list[str] = Field(default=[], max_length=MAX_WORDS)
    less: list[str] = Field(default=[], max_length=MAX_WORDS)


def words_of(text: str | None) -> list[str]:
    """Comma-separated words: ``" jazz, ,piano "`` -> ``["jazz", "piano"]``."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _start(value: float | str | None) -> float | None:
    """A start in seconds from a number or a time text (400 when neither)."""
    if isinstance(value, str):
        with answering():
            return parse_start(value)
    if value is not None and not 0 <= value < 86_400:
        raise ApiError(400, "bad_request", "start is a time in seconds from 0.")
    return value


def link_request(text: str, start_s: float | None) -> AudioRequest:
    """A request for YouTube video ``text`` (an 11-character id or a link)."""
    text = text.strip()
    link = WATCH + text if len(text) == YOUTUBE_ID_CHARS and "/" not in text else text
    with answering():
        return AudioRequest(link=parse_youtube_link(link), start_s=start_s)


def _excluded(ids: Sequence[str]) -> frozenset[str]:
    """The catalog groups of public ``ids`` (400 naming the first bad one's place)."""
    groups: set[str] = set()
    for place, text in enumerate(ids, 1):
        try:
            groups.add(group_for_public_id(text.strip()))
        except ValueError as exc:
            raise ApiError(400, "bad_request", f"exclude, id {place}: {exc}.") from None
    return frozenset(groups)


async def steering_of(
    service: RecommendService, entry: str, more: list[str], less: list[str]
) -> LabelSteering | None:
    if not more and not less:
        return None
    with answering():
        return await service.steering(entry, more, less)


async def recommend_audio(
    service: RecommendService,
    caller: Caller,
    entry: str,
    audio: AudioRequest,
    n: int,
    steering: LabelSteering | None,
    exclude: frozenset[str] = frozenset(),
) -> RecommendationSet:
    """``n`` recommendations for ``audio``: one admission for ``caller``, then the work."""
    requester = requester_for(caller)
    with answering():
        async with service.admitted(requester, entry, request=audio) as plan:
            return await service.recommend(requester, audio, n, plan, steering, exclude=exclude)


NO_SUCH_ITEM = "The catalog holds no item with that id."


def catalog_item(service: RecommendService, group: str) -> int | None:
    """The served catalog's first item of ``group`` (a video id or a file's sha256), or
    None when the catalog does not hold it (blocking: the first call per index reads
    every item's group)."""
    return first_items(service.recommender.index).get(group)


async def catalog_item_soon(service: RecommendService, group: str) -> int | None:
    """:func:`catalog_item` for the event loop: a dict look-up in place once the catalog's
    groups were read (every call after the first per index), else read in a thread. The
    hop to a thread costs more than the look-up (measured: the largest share of the API's
    own time on a ``/v1/similar`` seed; benchmarks/bench_api_similar.py)."""
    found = first_items_if_read(service.recommender.index)
    if found is not None:
        return found.get(group)
    return await asyncio.to_thread(catalog_item, service, group)


async def _like_item(
    service: RecommendService,
    caller: Caller,
    item: int,
    n: int,
    steering: LabelSteering | None,
    exclude: frozenset[str],
) -> RecommendationSet:
    """``n`` items like catalog item ``item``, from its stored vector (nothing fetched)."""
    with answering():
        async with service.admitted(requester_for(caller), "api_similar"):
            return await service.more_like(item, n, steering, exclude)


async def similar_answer(
    service: RecommendService,
    caller: Caller,
    body: SimilarBody,
) -> Answer:
    """The answer of ``/v1/similar`` (either form) for its checked fields.

    A library seed is the catalog's own item. A YouTube seed the catalog holds, asked
    without a start, is answered from the item's stored window too (the window an answer
    pointed the client at: so an autoplay client that seeds with what it played spends no
    YouTube fetch); any other YouTube seed is heard from the clip cache or fetched."""
    exclude = _excluded(body.exclude)
    steering = await steering_of(service, "api_similar", body.more, body.less)
    if body.seed.startswith(LIBRARY_PREFIX):
        try:
            group = group_for_public_id(body.seed)
        except ValueError as exc:
            raise ApiError(400, "bad_request", f"seed: {exc}.") from None
        item = await catalog_item_soon(service, group)
        if item is None:
            raise ApiError(404, "unknown_item", NO_SUCH_ITEM)
        return answer_from(await _like_item(service, caller, item, body.n, steering, exclude))
    audio = link_request(body.seed, _start(body.start))
    assert audio.link is not None
    if audio.start_s is None and audio.link.start_s is None:
        item = await catalog_item_soon(service, audio.link.video_id)
        if item is not None:
            return answer_from(await _like_item(service, caller, item, body.n, steering, exclude))
    result = await recommend_audio(service, caller, "api_similar", audio, body.n, steering, exclude)
    return answer_from(result)


def checked(model: type[Body], data: bytes | dict[str, object]) -> Body:
    """``data`` (raw JSON, or query fields) read into ``model``; a 400 in the API's words
    when it does not fit."""
    try:
        if isinstance(data, bytes):
            return model.model_validate_json(data)
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from None


async def _upload_answer(service: RecommendService, caller: Caller, request: Request) -> Answer:
    """``POST /v1/recommend`` with a multipart upload (the file removed after the answer)."""
    upload: Upload
    async with contextlib.asynccontextmanager(receive_upload)(request) as upload:
        fields = upload.fields
        try:
            n = int(fields.get("n", DEFAULT_RESULTS))
        except ValueError:
            raise ApiError(400, "bad_request", "n is a whole number.") from None
        if not 1 <= n <= MAX_RESULTS:
            raise ApiError(400, "bad_request", f"n is from 1 to {MAX_RESULTS}.")
        more, less = words_of(fields.get("more")), words_of(fields.get("less"))
        steering = await steering_of(service, "api_recommend", more, less)
        audio = AudioRequest(
            upload=LocalFile(path=upload.path, filename=upload.filename),
            start_s=_start(fields.get("start")),
        )
        result = await recommend_audio(service, caller, "api_recommend", audio, n, steering)
        return answer_from(result)


_BODIES = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "n": {"type": "integer", "minimum": 1, "maximum": MAX_RESULTS},
                        "start": {"type": "string"},
                        "more": {"type": "string", "description": "Words, comma-separated."},
                        "less": {"type": "string", "description": "Words, comma-separated."},
                    },
                }
            },
            "application/json": {"schema": LinkBody.model_json_schema()},
        },
    }
}


def recommend_router() -> APIRouter:
    """The router of ``/v1/recommend`` and ``/v1/similar``."""
    router = APIRouter(prefix="/v1", tags=["recommendations"])

    @router.post("/recommend", response_model=Answer, openapi_extra=_BODIES)
    async def recommend(request: Request, caller: Caller = Depends(require_caller)) -> Answer:  # noqa: B008
        """Recommendations for an uploaded file (multipart) or a YouTube link (JSON)."""
        service = service_of(request)
        if request.headers.get("content-type", "").startswith("multipart/"):
            return await _upload_answer(service, caller, request)
        body = checked(LinkBody, await request.body())
        steering = await steering_of(service, "api_recommend", body.more, body.less)
        audio = link_request(body.link, _start(body.start))
        result = await recommend_audio(service, caller, "api_recommend", audio, body.n, steering)
        return answer_from(result)

    @router.get("/similar", response_model=Answer)
    async def similar(
        request: Request,
        seed: str = Query(max_length=MAX_SEED_CHARS, description="YouTube id or link, or lib_ id."),
        n: int = Query(DEFAULT_RESULTS, ge=1, le=MAX_RESULTS),
        exclude: str = Query("", max_length=MAX_EXCLUDE_IN_QUERY * 70),
        start: str | None = Query(None, max_length=16),
        more: str = Query("", max_length=MAX_WORDS_TEXT),
        less: str = Query("", max_length=MAX_WORDS_TEXT),
        caller: Caller = Depends(require_caller),  # noqa: B008
    ) -> Answer:
        """The next tracks after ``seed``, none of ``exclude`` (the autoplay call)."""
        ids = words_of(exclude)
        if len(ids) > MAX_EXCLUDE_IN_QUERY:
            raise ApiError(
                400,
                "bad_request",
                f"exclude lists at most {MAX_EXCLUDE_IN_QUERY} ids here; "
                f"POST /v1/similar takes up to {MAX_EXCLUDE}.",
            )
        fields = {"seed": seed, "n": n, "start": start, "exclude": ids}
        body = checked(SimilarBody, fields | {"more": words_of(more), "less": words_of(less)})
        return await similar_answer(service_of(request), caller, body)

    @router.post("/similar", response_model=Answer)
    async def similar_posted(
        request: Request,
        caller: Caller = Depends(require_caller),  # noqa: B008
    ) -> Answer:
        """``/v1/similar`` with its fields as JSON (``exclude`` up to 5,000 ids)."""
        body = checked(SimilarBody, await request.body())
        return await similar_answer(service_of(request), caller, body)

    return router
