"""The core request service as a front end other than the bot uses it: a requester paced by
its own limits (an API key), its own YouTube share, and an upload it already holds in a
file. Real queue, real budget file, real decode pool and ffmpeg; a spec'd recommender."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from unittest.mock import create_autospec

import numpy as np
import pytest

from musicrec_core.clip import Clip
from musicrec_core.recommender import RecommendationSet, Recommender
from musicrec_core.service.batching import BusyError, RecommendQueue
from musicrec_core.service.request import (
    API_ID_BASE,
    AudioRequest,
    LocalFile,
    Requester,
    RequestError,
)
from musicrec_core.service.service import RecommendService
from musicrec_core.service.settings import ServiceSettings
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
