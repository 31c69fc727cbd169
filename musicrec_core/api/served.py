"""What every ``/v1`` endpoint shares: the request service it calls, who is asking in the
service's terms, and the service's refusals and failures as HTTP answers.

Mental model: ``musicrec serve`` puts one
:class:`~musicrec_core.service.service.RecommendService` on ``app.state`` (the same class
the bot calls), and each endpoint does its work through it, so an API key is one more
requester to be fair to: it takes queue tickets and turns of the fair pools like a Discord
member, and its YouTube fetches count in the machine's hourly budget within the key's own
share (:func:`requester_for`). A key is paced by its own token bucket and in-flight limit
(:mod:`~musicrec_core.api.auth`), not by the members' cooldown.

:func:`answering` turns a :class:`~musicrec_core.errors.MusicrecError` raised inside it into
an :class:`~musicrec_core.api.http_errors.ApiError` with the status that says whose fault
it is (:func:`api_error`), its message stripped of server paths and OS error text.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
from collections.abc import Iterator

from fastapi import Request

from musicrec_core.api.auth import Caller
from musicrec_core.api.http_errors import ApiError
from musicrec_core.errors import (
    AudioError,
    CatalogError,
    FetchError,
    InputTooLargeError,
    LinkRejectedError,
    MusicrecError,
    SessionError,
    SourceError,
    SteeringError,
    UnknownItemError,
    VideoUnavailableError,
)
from musicrec_core.server_details import without_server_details
from musicrec_core.service.admission import MemberRefusedError
from musicrec_core.service.batching import BusyError
from musicrec_core.service.off_loop import SharedStateBusyError
from musicrec_core.service.request import API_ID_BASE, Requester, RequestError
from musicrec_core.service.service import DeadlineError, RecommendService
from musicrec_core.sources.budget import FetchBudgetBusyError, YouTubeBusyError

__all__ = ["answering", "api_error", "requester_for", "service_of"]

log = logging.getLogger(__name__)

_KEY_ID_BYTES = 7
"""Bytes of a key name's sha256 that make its requester id (56 bits under API_ID_BASE)."""


def service_of(request: Request) -> RecommendService:
    """The request service ``musicrec serve`` put on the app (``app.state.service``)."""
    service: RecommendService = request.app.state.service
    return service


def requester_for(caller: Caller) -> Requester:
    """The service's requester for ``caller``: an id of its own above every Discord id
    (from the key's name, so it is the same in every process and after a restart; 0 above
    the base for anonymous loopback requests), its own server, no member cooldown, and the
    key's share of the YouTube budget."""
    number = 0
    if caller.name is not None:
        digest = hashlib.sha256(caller.name.encode("utf-8")).digest()
        number = 1 + int.from_bytes(digest[:_KEY_ID_BYTES], "big")
    member = API_ID_BASE + number
    return Requester(member=member, server=member, youtube_share=caller.limits.youtube_share)


def _retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def api_error(error: MusicrecError) -> ApiError:
    """The HTTP answer for a service refusal or failure: 4xx for what the client asked
    (its input, its limits, a video that cannot be had), 5xx when the server is busy,
    slow, or cannot reach YouTube."""
    message = without_server_details(str(error))
    if isinstance(error, BusyError):
        return ApiError(503, "busy", message, headers=_retry_after(error.retry_after_s))
    if isinstance(error, YouTubeBusyError):
        headers = _retry_after(error.retry_after_s)
        return ApiError(429, "youtube_budget_spent", message, headers=headers)
    if isinstance(error, FetchBudgetBusyError | SharedStateBusyError):
        return ApiError(503, "shared_state_busy", message, headers=_retry_after(5))
    if isinstance(error, MemberRefusedError):
        return ApiError(429, "member_limit", message, headers=_retry_after(5))
    if isinstance(error, DeadlineError):
        return ApiError(504, "deadline", message)
    if isinstance(error, InputTooLargeError):
        return ApiError(413, "too_large", message)
    if isinstance(error, RequestError | LinkRejectedError):
        return ApiError(400, "bad_request", message)
    if isinstance(error, SteeringError):
        return ApiError(422, "bad_words", message)
    if isinstance(error, UnknownItemError):
        return ApiError(404, "unknown_item", message)
    if isinstance(error, AudioError):
        return ApiError(422, "unreadable_audio", message)
    if isinstance(error, VideoUnavailableError):
        return ApiError(422, "video_unavailable", message)
    if isinstance(error, SessionError):
        return ApiError(422, "session_refused", message)
    if isinstance(error, FetchError | SourceError):
        return ApiError(502, "source_unavailable", message, headers=_retry_after(60))
    if isinstance(error, CatalogError):
        return ApiError(503, "catalog_unavailable", message, headers=_retry_after(30))
    log.error("an API request failed in a way no answer names: %r", error)
    return ApiError(500, "internal", "Something went wrong on our side; it has been logged.")


@contextlib.contextmanager
def answering() -> Iterator[None]:
    """Raise any :class:`MusicrecError` of the block as its :func:`api_error`."""
    try:
        yield
    except MusicrecError as error:
        raise api_error(error) from error
