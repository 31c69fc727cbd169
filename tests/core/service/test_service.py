"""The core request service as a front end other than the bot uses it: a requester paced by
its own limits (an API key), its own YouTube share, and an upload it already holds in a
file. Real queue, real budget file, real decode pool and ffmpeg; a spec'd recommender."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from unittest.mock import create_autospec

import numpy as np
import pytest

from musicrec_core.clip import Clip
from musicrec_core.errors import YouTubeNotReachedError
from musicrec_core.recommender import RecommendationSet, Recommender
from musicrec_core.service import service as service_module
from musicrec_core.service.batching import BusyError, RecommendQueue
from musicrec_core.service.members_first import MembersFirst, members_at_work_path
from musicrec_core.service.request import (
    API_ID_BASE,
    AudioRequest,
    LocalFile,
    Requester,
    RequestError,
)
from musicrec_core.service.service import RecommendService
from musicrec_core.service.settings import ServiceSettings
from musicrec_core.sources.attachment import clip_from_file
from musicrec_core.sources.budget import MemberShareSpentError
from musicrec_core.sources.youtube import parse_youtube_link
from tests.helpers.media import MakeMedia

FINGERPRINT = "0123abcd"
LINK = parse_youtube_link("https://youtu.be/abcdefghijk")
KEY = Requester(member=API_ID_BASE + 1, server=API_ID_BASE + 1, youtube_share=0.25)
"""An API key's requester: no ``sent_at`` (no member cooldown), a quarter of the budget."""
EMPTY = RecommendationSet(
    query=None,
    query_vector=np.zeros(4, dtype=np.float32),
    query_tags=(),
    items=(),
    catalog=FINGERPRINT,
)

ServiceFactory = Callable[..., RecommendService]


@pytest.fixture
async def make_service(tmp_path: Path) -> AsyncIterator[ServiceFactory]:
    """Services around a real, started queue and a spec'd recommender; settings from the
    keywords (titles off, no clip cache)."""
    services: list[RecommendService] = []

    def make(queue_size: int = 4, **settings: Any) -> RecommendService:
        recommender = create_autospec(Recommender, instance=True)
        recommender.index.fingerprint = FINGERPRINT
        recommender.recommend_many.side_effect = lambda clips, k, **kw: [EMPTY] * len(clips)
        queue = RecommendQueue(recommender, queue_size=queue_size, batch_window_s=0.0, max_batch=4)
        queue.start()
        values = {"title_lookup": False, "clip_cache_mb": 0, "index_dir": tmp_path} | settings
        service = RecommendService(queue, ServiceSettings(_env_file=None, **values))
        services.append(service)
        return service

    yield make
    for service in services:
        await service.close()


def requests(service: RecommendService, entry: str, outcome: str) -> float | None:
    labels = {"entry_point": entry, "outcome": outcome}
    return service.metrics.registry.get_sample_value("musicrec_requests_total", labels)


async def test_a_key_skips_the_member_cooldown_but_not_the_queue(
    make_service: ServiceFactory,
) -> None:
    service = make_service(queue_size=1, recommend_cooldown_s=60)
    for _ in range(3):  # a Discord member would be refused the second time
        async with service.admitted(KEY, "recommend"):
            pass
    async with service.admitted(KEY, "recommend"):
        with pytest.raises(BusyError):  # the one ticket is held
            async with service.admitted(KEY, "recommend"):
                pass
    assert requests(service, "recommend", "ok") == 4
    assert requests(service, "recommend", "refused") == 1


async def test_a_requesters_own_youtube_share_is_kept_beside_the_members_share(
    make_service: ServiceFactory,
) -> None:
    service = make_service(youtube_fetches_per_hour=8, youtube_member_share=0.5)
    request = AudioRequest(link=LINK)
    for _ in range(2):  # a quarter of 8
        async with service.admitted(KEY, "recommend", request=request) as plan:
            assert plan is not None and plan.charge is not None
    with pytest.raises(MemberShareSpentError, match="2"):
        async with service.admitted(KEY, "recommend", request=request):
            pass
    member = Requester(member=42, server=7, sent_at=1.0)  # the operator's half: 4
    async with service.admitted(member, "recommend", request=request) as plan:
        assert plan is not None and plan.charge is not None


async def test_an_upload_held_in_a_file_is_decoded_and_embedded(
    make_service: ServiceFactory, make_media: MakeMedia
) -> None:
    service = make_service()
    path = make_media("tune.ogg", seconds=4, tone_hz=330)
    request = AudioRequest(upload=LocalFile(path=path, filename="tune.ogg"))
    async with service.admitted(KEY, "recommend", request=request) as plan:
        result = await service.recommend(KEY, request, 5, plan, exclude=frozenset({"played"}))
    assert result.catalog == FINGERPRINT and result.items == ()
    (clips, k), options = service.recommender.recommend_many.call_args
    assert options["exclude_groups"] == {"played"}
    clip: Clip = clips[0]
    assert k == 5 and clip.provenance.ref == "tune.ogg"
    assert clip.samples.shape == (4 * 16_000,)
    assert path.exists()  # the front end owns the file and removes it
    stage = {"stage": "decode"}
    assert service.metrics.registry.get_sample_value("musicrec_stage_seconds_count", stage) == 1


def test_a_request_names_exactly_one_input() -> None:
    upload = LocalFile(path=Path("x.ogg"), filename="x.ogg")
    with pytest.raises(RequestError, match="exactly one"):
        AudioRequest()
    with pytest.raises(RequestError, match="exactly one"):
        AudioRequest(upload=upload, link=LINK)


async def test_a_members_request_marks_the_machine_busy_and_a_keys_decode_waits_for_it(
    make_service: ServiceFactory, make_media: MakeMedia, bot: MembersFirst
) -> None:
    service = make_service(key_yield_s=30)
    member = Requester(member=42, server=7, sent_at=1.0)
    async with service.admitted(member, "recommend"):
        assert bot.members_at_work()
    assert not bot.members_at_work()
    request = upload_request(make_media)
    async with service.admitted(KEY, "api_recommend", request=request) as plan:
        with bot.member_at_work():
            work = asyncio.create_task(service.recommend(KEY, request, 5, plan))
            await held_back(service, work)
            assert stage_count(service, "decode") == 0
        await asyncio.wait_for(work, timeout=30)  # the member's request ended
    service.recommender.recommend_many.assert_called_once()
    assert waiting_steps(service) == 0


async def test_a_keys_embedding_waits_for_a_member_who_came_during_its_decode(
    make_service: ServiceFactory,
    make_media: MakeMedia,
    bot: MembersFirst,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = make_service(key_yield_s=30)
    member_arrives = bot.member_at_work()

    def decode_then_a_member_arrives(*args: Any, **kwargs: Any) -> Clip:
        clip = clip_from_file(*args, **kwargs)
        member_arrives.__enter__()
        return clip

    monkeypatch.setattr(service_module, "clip_from_file", decode_then_a_member_arrives)
    request = upload_request(make_media)
    async with service.admitted(KEY, "api_recommend", request=request) as plan:
        work = asyncio.create_task(service.recommend(KEY, request, 5, plan))
        await held_back(service, work)
        assert stage_count(service, "decode") == 1
        service.recommender.recommend_many.assert_not_called()
        member_arrives.__exit__(None, None, None)
        await asyncio.wait_for(work, timeout=30)
    service.recommender.recommend_many.assert_called_once()


async def test_a_keys_fetch_waits_for_the_members(
    make_service: ServiceFactory, bot: MembersFirst
) -> None:
    service = make_service(key_yield_s=30)
    request = AudioRequest(link=LINK)
    async with service.admitted(KEY, "api_similar", request=request) as plan:
        assert plan is not None and plan.charge is not None
        assert plan.charge.settle_unspent()  # given back: the fetch will not reach YouTube
        with bot.member_at_work():
            work = asyncio.create_task(service.recommend(KEY, request, 5, plan))
            await held_back(service, work)
        with pytest.raises(YouTubeNotReachedError):
            await asyncio.wait_for(work, timeout=30)


@pytest.fixture
def bot() -> Iterator[MembersFirst]:
    """The machine's lock as the bot's process beside the service sees it."""
    first = MembersFirst(members_at_work_path(), key_wait_s=0)
    yield first
    first.close()


def upload_request(make_media: MakeMedia) -> AudioRequest:
    path = make_media("tune.ogg", seconds=2, tone_hz=330)
    return AudioRequest(upload=LocalFile(path=path, filename="tune.ogg"))


async def held_back(service: RecommendService, work: asyncio.Task[Any]) -> None:
    """Return once one of the service's key steps waits for members; it is still waiting
    (and ``work`` not done) a moment later."""
    while waiting_steps(service) != 1 and not work.done():
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.05)
    assert not work.done() and waiting_steps(service) == 1


def waiting_steps(service: RecommendService) -> float | None:
    return service.metrics.registry.get_sample_value("musicrec_key_steps_waiting")


def stage_count(service: RecommendService, stage: str) -> float | None:
    labels = {"stage": stage}
    return service.metrics.registry.get_sample_value("musicrec_stage_seconds_count", labels)
