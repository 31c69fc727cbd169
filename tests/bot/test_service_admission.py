"""The service's admission policy: one member's cooldown and in-flight limit across every
entry point, refusals before acknowledging, and a deadline that frees the member's slot."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from unittest.mock import MagicMock

import numpy as np
import pytest

from musicrec_core.clip import Clip
from musicrec_core.errors import FetchError
from musicrec_core.recommender import RecommendationSet
from musicrec_core.service.admission import CooldownError, InFlightError
from musicrec_core.service.request import AudioRequest
from musicrec_core.service.service import DeadlineError
from musicrec_core.sources.youtube import parse_youtube_link
from tests.bot.helpers import ServiceMaker, make_interaction, make_message

FINGERPRINT = "0123abcd"
LINK = parse_youtube_link("https://youtu.be/abcdefghijk")
FLOODER, POLITE = 66, 42
EMPTY = RecommendationSet(
    query=None,
    query_vector=np.zeros(4, dtype=np.float32),
    query_tags=(),
    items=(),
    catalog=FINGERPRINT,
)


class SlowFetch:
    """Stands in for the YouTube fetch: blocks until the test releases it, then fails."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def __call__(self, link: object, **kwargs: object) -> Clip:
        self.calls += 1
        self.release.wait(30)
        raise FetchError("released by the test")


def prepare(recommender: MagicMock) -> None:
    recommender.recommend_from_item.return_value = EMPTY
    recommender.index.fingerprint = FINGERPRINT


@pytest.fixture
async def make_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[ServiceMaker, SlowFetch]]:
    """Services (real queue, spec'd recommender, settings from keywords) and their fetch."""
    fetch = SlowFetch()
    monkeypatch.setattr("musicrec_core.service.youtube_links.fetch_youtube_clip", fetch)
    maker = ServiceMaker(tmp_path, prepare, batch_window_s=0.01)
    yield maker, fetch
    fetch.release.set()
    await maker.close()


def member_message(member: int) -> MagicMock:
    message = make_message("https://youtu.be/abcdefghijk")
    message.author.id = member
    return message


async def started(fetch: SlowFetch, calls: int) -> None:
    while fetch.calls < calls:
        await asyncio.sleep(0.005)


async def test_one_cooldown_for_every_entry_point(
    make_service: tuple[ServiceMaker, SlowFetch],
) -> None:
    make, _ = make_service
    service = make(recommend_cooldown_s=60)
    button = make_interaction(None, user_id=FLOODER)
    await service.answer_more_like(button, FINGERPRINT, 7, 3)
    slash = make_interaction(None, user_id=FLOODER)
    with pytest.raises(CooldownError, match=r"^Slow down: try again in (59|60) s\.$"):
        await service.answer(slash, AudioRequest(link=LINK), count=5)
    with pytest.raises(CooldownError):
        await service.answer_more_like(slash, FINGERPRINT, 7, 3)
    slash.response.defer.assert_not_awaited()  # refused before acknowledging: ephemeral
    pasted = member_message(FLOODER)
    await service.answer_in_chat(pasted, AudioRequest(link=LINK))
    pasted.reply.assert_not_awaited()  # a flood of links never becomes a flood of replies
    pasted.channel.typing.return_value.__aenter__.assert_not_awaited()
    other = make_interaction(None, user_id=POLITE)
    await service.answer_more_like(other, FINGERPRINT, 7, 3)
    other.followup.send.assert_awaited_once()


async def test_a_member_with_a_request_in_flight_is_refused_at_once_others_are_not(
    make_service: tuple[ServiceMaker, SlowFetch],
) -> None:
    make, fetch = make_service
    service = make(recommend_cooldown_s=0)
    first = make_interaction(None, user_id=FLOODER)
    slow = asyncio.create_task(service.answer(first, AudioRequest(link=LINK), count=5))
    await started(fetch, 1)
    again = make_interaction(None, user_id=FLOODER)
    with pytest.raises(InFlightError, match="already have a request in progress"):
        await service.answer(again, AudioRequest(link=LINK), count=5)
    with pytest.raises(InFlightError):
        await service.answer_more_like(again, FINGERPRINT, 7, 3)
    again.response.defer.assert_not_awaited()
    await service.answer_in_chat(member_message(FLOODER), AudioRequest(link=LINK))
    polite = make_interaction(None, user_id=POLITE)
    await service.answer_more_like(polite, FINGERPRINT, 7, 3)
    polite.followup.send.assert_awaited_once()
    assert fetch.calls == 1
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow


async def test_the_deadline_tells_the_member_and_frees_the_slot(
    make_service: tuple[ServiceMaker, SlowFetch],
) -> None:
    make, fetch = make_service
    service = make(recommend_cooldown_s=0, request_deadline_s=0.05)
    interaction = make_interaction(None, user_id=FLOODER)
    with pytest.raises(DeadlineError) as late:
        await service.answer(interaction, AudioRequest(link=LINK), count=5)
    assert str(late.value) == (
        "That took longer than 0.05 s, so musicrec stopped working on it. Please try again later."
    )
    interaction.response.defer.assert_awaited_once()  # acknowledged before the work
    # The fetch thread still runs (it has its own limits) but the member may ask again.
    button = make_interaction(None, user_id=FLOODER)
    await service.answer_more_like(button, FINGERPRINT, 7, 3)
    button.followup.send.assert_awaited_once()
    assert service.stats().admitted == 0


async def test_a_link_past_the_deadline_is_answered_in_the_channel(
    make_service: tuple[ServiceMaker, SlowFetch],
) -> None:
    make, _ = make_service
    service = make(recommend_cooldown_s=0, request_deadline_s=0.05)
    message = member_message(POLITE)
    await service.answer_in_chat(message, AudioRequest(link=LINK))
    reply = message.reply.await_args
    assert reply is not None and "took longer than" in reply.args[0]
