"""Session seeds through the request service: one admission for the whole command, one
fetch of the member's share per YouTube seed off the clip cache, none for a cached one,
and a fetch that never reached YouTube given back."""

from __future__ import annotations

import pytest

from musicrec_core.errors import YouTubeNotReachedError
from musicrec_core.service.request import AudioRequest, Requester
from musicrec_core.sources.budget import MemberShareSpentError
from tests.bot import test_service_youtube as youtube_tests
from tests.bot.helpers import make_interaction
from tests.bot.test_service_youtube import LINK, OTHER_LINK

MEMBER = Requester(member=43, server=1)
spied = youtube_tests.make_service
"""Services around a real queue and a spec'd recommender, and the spy fetch."""


async def test_seeds_share_one_admission_and_only_uncached_links_take_a_fetch(spied) -> None:
    make, fetch = spied
    service = make(title_lookup=False)
    await service.answer(make_interaction(None), AudioRequest(link=LINK), count=3)  # cached now
    async with service.admitted(make_interaction(None, user_id=43)):
        assert service.stats().admitted == 1
        cached = await service.core.seed(MEMBER, AudioRequest(link=LINK))
        fetched = await service.core.seed(MEMBER, AudioRequest(link=OTHER_LINK))
    assert [call[0] for call in fetch.calls] == [LINK.video_id, OTHER_LINK.video_id]
    assert (await service.youtube_status())["YouTube fetches"] == "2/200 in the last hour"
    assert (cached.query.ref, fetched.query.ref) == (LINK.video_id, OTHER_LINK.video_id)
    assert fetched.query_vector.shape == (8,)


async def test_a_seed_past_the_members_share_is_refused_and_one_never_fetched_given_back(
    spied,
) -> None:
    make, fetch = spied
    service = make(title_lookup=False, youtube_fetches_per_hour=10, youtube_member_share=0.1)
    fetch.error = YouTubeNotReachedError("Could not reach YouTube; try again later.")
    async with service.admitted(make_interaction(None, user_id=43)):
        with pytest.raises(YouTubeNotReachedError):
            await service.core.seed(MEMBER, AudioRequest(link=LINK))
    assert (await service.youtube_status())["YouTube fetches"] == "0/10 in the last hour"
    fetch.error = None
    async with service.admitted(make_interaction(None, user_id=43)):
        await service.core.seed(MEMBER, AudioRequest(link=LINK))
        with pytest.raises(MemberShareSpentError):
            await service.core.seed(MEMBER, AudioRequest(link=OTHER_LINK))
