"""YouTube through the request service: titled results, the clip cache, the hourly budget,
blocks told to the operator, and error text fit for a public channel.

The recommender is spec'd (its index a stand-in naming an embedder and a pooling rule) and
the fetch a spy, so each test counts exactly what would have reached YouTube.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import numpy as np
import pytest

from bot.errors import report_error
from bot.views import MoreLikeButton
from musicrec_core.clip import Clip, Provenance
from musicrec_core.embedders.base import EmbedderId, Tag
from musicrec_core.errors import FetchError, UnknownItemError, YouTubeBlockedError
from musicrec_core.recommender import Recommendation, RecommendationSet, youtube_url
from musicrec_core.service.request import AudioRequest
from musicrec_core.sources.blocks import read_last_block
from musicrec_core.sources.budget import (
    FetchBudgetBusyError,
    YouTubeBusyError,
    default_budget_path,
)
from musicrec_core.sources.youtube import YouTubeLink, fetch_youtube_clip, parse_youtube_link
from musicrec_core.sources.ytdlp_fetch import _serve_test_video
from musicrec_core.titles import TitleCache, VideoAnswer
from tests.bot.helpers import (
    ServiceMaker,
    assert_private,
    make_interaction,
    make_message,
    sent_text,
)
from tests.fake_discord.markdown import visible
from tests.helpers.http_server import LocalHTTPServer
from tests.helpers.lock_holder import lock_held
from tests.helpers.oembed import OEmbedStandIn, video

FINGERPRINT = "0123abcd"
LINK = parse_youtube_link("https://youtu.be/abcdefghijk")
OTHER_LINK = parse_youtube_link("https://youtu.be/bbbbbbbbbbb")


def item(number: int, rank: int) -> Recommendation:
    return Recommendation(
        rank=rank,
        group=video(number),
        title=None,
        start_s=30.0,
        end_s=40.0,
        score=(90.0 - rank) / 100,
        window_cosine=(90.0 - rank) / 100,
        labels=("Music",),
        url=youtube_url(video(number), 30.0),
        source=None,
        item_id=number,
    )


def result_for(query: Provenance | None, count: int) -> RecommendationSet:
    return RecommendationSet(
        query=query,
        query_vector=np.linspace(0.0, 1.0, 8, dtype=np.float32),
        query_tags=(Tag("rock", 0.8),),
        items=tuple(item(number, number) for number in range(1, count + 1)),
        catalog=FINGERPRINT,
    )


class SpyFetch:
    """Counts fetches; returns a clip of the link's video, or raises ``error``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float | None]] = []
        self.error: Exception | None = None

    def __call__(self, link: YouTubeLink, **kwargs: Any) -> Clip:
        self.calls.append((link.video_id, kwargs["start_s"]))
        if self.error is not None:
            raise self.error
        start_s = kwargs["start_s"] or 0.0
        provenance = Provenance(
            kind="youtube", ref=link.video_id, title="Pasted", start_s=start_s, duration_s=10
        )
        return Clip(np.zeros(16_000, dtype=np.float32), provenance)


def prepare(recommender: MagicMock) -> None:
    """A stand-in index naming an embedder and a pooling rule; results made up per query."""
    index = MagicMock()
    index.fingerprint = FINGERPRINT
    index.pooling = "mean"
    index.embedder = EmbedderId(name="vggish", version="1", dim=8)
    recommender.index = index
    recommender.recommend_many.side_effect = lambda clips, k, **_rules: [
        result_for(clip.provenance, k) for clip in clips
    ]
    recommender.recommend_vector.side_effect = lambda vector, k, **kw: result_for(kw["query"], k)
    recommender.recommend_from_item.side_effect = lambda item_id, k, **_rules: result_for(None, k)


@pytest.fixture
async def make_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[ServiceMaker, SpyFetch]]:
    """Services around a real queue and a spec'd recommender whose index is a stand-in."""
    fetch = SpyFetch()
    monkeypatch.setattr("musicrec_core.service.youtube_links.fetch_youtube_clip", fetch)
    maker = ServiceMaker(tmp_path, prepare, recommend_cooldown_s=0)
    yield maker, fetch
    await maker.close()


def embed_of(interaction: MagicMock) -> Any:
    return interaction.followup.send.await_args.kwargs["embed"]


async def test_results_show_titles_and_channels_and_a_gone_video_is_replaced(
    make_service: tuple[ServiceMaker, SpyFetch], http_server: LocalHTTPServer
) -> None:
    make, _fetch = make_service
    stand_in = OEmbedStandIn(http_server)
    for number in range(1, 10):
        stand_in.found(video(number), f"Song {number}", channel=f"Channel *{number}*")
    with (
        TitleCache() as cache
    ):  # known gone (a 404 alone is trusted once the endpoint proved itself)
        cache.put(VideoAnswer(video(2), "gone"))
    service = make(oembed_url=stand_in.endpoint, title_budget_s=5.0)
    interaction = make_interaction(None)
    await service.answer_more_like(interaction, FINGERPRINT, 7, 3)
    embed = embed_of(interaction)
    assert [field.name for field in embed.fields] == ["#1 Song 1", "#2 Song 3", "#3 Song 4"]
    assert embed.fields[0].value.startswith("by Channel \\*1\\*\n")  # escaped
    assert embed.thumbnail.url == f"https://i.ytimg.com/vi/{video(1)}/hqdefault.jpg"
    assert stand_in.requests(video(2)) == 0  # the cache answered

    await service.answer(make_interaction(None), AudioRequest(link=LINK), count=2)
    assert stand_in.requests(video(1)) == 1  # cached after the first reply


async def test_a_link_asked_again_is_answered_without_a_fetch(
    make_service: tuple[ServiceMaker, SpyFetch],
) -> None:
    make, fetch = make_service
    service = make(title_lookup=False)
    first = make_interaction(None)
    await service.answer(first, AudioRequest(link=LINK, start_s=90.0), count=3)
    again = make_interaction(None, user_id=43)
    await service.answer(again, AudioRequest(link=LINK, start_s=90.0), count=3)
    assert fetch.calls == [("abcdefghijk", 90.0)]
    assert (await service.youtube_status())["YouTube fetches"] == "1/200 in the last hour"
    assert (await service.youtube_status())["Clip cache"].startswith("1 links")
    vector = service.recommender.recommend_vector.call_args.args[0]
    np.testing.assert_array_equal(vector, np.linspace(0.0, 1.0, 8, dtype=np.float32))
    assert embed_of(again).to_dict() == embed_of(first).to_dict()  # the same reply

    message = make_message("https://youtu.be/abcdefghijk")  # another window: the default
    await service.answer_in_chat(message, AudioRequest(link=LINK))
    assert fetch.calls == [("abcdefghijk", 90.0), ("abcdefghijk", None)]


async def test_a_spent_budget_is_refused_privately_and_told_once_per_channel(
    make_service: tuple[ServiceMaker, SpyFetch],
) -> None:
    make, fetch = make_service
    service = make(youtube_fetches_per_hour=1, title_lookup=False)
    await service.answer(make_interaction(None), AudioRequest(link=LINK), count=3)
    interaction = make_interaction(None, user_id=43)
    with pytest.raises(YouTubeBusyError, match="YouTube is busy for musicrec: try again in 60"):
        await service.answer(interaction, AudioRequest(link=OTHER_LINK), count=3)
    interaction.response.defer.assert_not_awaited()  # refused before acknowledging

    # the cached link is still answered: it costs no fetch
    await service.answer(make_interaction(None, user_id=44), AudioRequest(link=LINK), count=3)
    assert len(fetch.calls) == 1

    first = make_message("https://youtu.be/bbbbbbbbbbb", channel_id=10)
    await service.answer_in_chat(first, AudioRequest(link=OTHER_LINK))
    assert "YouTube is busy for musicrec" in sent_text(first.reply)
    second = make_message("https://youtu.be/bbbbbbbbbbb", channel_id=10)
    second.author.id = 78
    await service.answer_in_chat(second, AudioRequest(link=OTHER_LINK))
    second.reply.assert_not_awaited()  # told once an hour per channel
    elsewhere = make_message("https://youtu.be/bbbbbbbbbbb", channel_id=11)
    elsewhere.author.id = 79
    await service.answer_in_chat(elsewhere, AudioRequest(link=OTHER_LINK))
    elsewhere.reply.assert_awaited_once()
    assert len(fetch.calls) == 1


async def test_the_processes_of_one_machine_share_the_budget(
    make_service: tuple[ServiceMaker, SpyFetch],
) -> None:
    make, fetch = make_service
    one = make(youtube_fetches_per_hour=1, title_lookup=False)  # shard 0's process
    other = make(youtube_fetches_per_hour=1, title_lookup=False)  # shard 1's, same cache
    await one.answer(make_interaction(None), AudioRequest(link=LINK), count=3)
    with pytest.raises(YouTubeBusyError, match="YouTube is busy for musicrec"):
        interaction = make_interaction(None, user_id=43)
        await other.answer(interaction, AudioRequest(link=OTHER_LINK), count=3)
    assert len(fetch.calls) == 1
    assert (await other.youtube_status())["YouTube fetches"] == "1/1 in the last hour"


async def test_a_block_tells_the_member_briefly_and_the_operator_once(
    make_service: tuple[ServiceMaker, SpyFetch], caplog: pytest.LogCaptureFixture
) -> None:
    make, fetch = make_service
    service = make(title_lookup=False)
    fetch.error = YouTubeBlockedError("YouTube asked musicrec to prove it is not a bot.")
    with caplog.at_level(logging.WARNING):
        for member in (1, 2):
            message = make_message("https://youtu.be/abcdefghijk")
            message.author.id = member
            await service.answer_in_chat(message, AudioRequest(link=LINK))
            assert sent_text(message.reply) == "YouTube asked musicrec to prove it is not a bot."
    warnings = [r.getMessage() for r in caplog.records if "blocking musicrec" in r.getMessage()]
    assert len(warnings) == 1 and "MUSICREC_YTDLP_COOKIES" in warnings[0]
    block = read_last_block()
    assert block is not None and "not a bot" in block.reason
    assert (await service.youtube_status())["YouTube blocks"].startswith(
        "last 0 min ago: YouTube asked"
    )


async def test_a_failed_link_in_chat_shows_no_path_and_no_markdown(
    make_service: tuple[ServiceMaker, SpyFetch],
) -> None:
    make, fetch = make_service
    service = make(title_lookup=False)
    fetch.error = FetchError(
        "Cannot read /srv/musicrec/secret/cookies.txt: Permission denied **x**"
    )
    message = make_message("https://youtu.be/abcdefghijk")
    await service.answer_in_chat(message, AudioRequest(link=LINK))
    text = sent_text(message.reply)
    assert_private(text, "/srv/musicrec", "Permission denied")
    assert "cookies.txt **x**" in text  # shown as typed, not bold (sent_text checks)


async def test_a_forged_more_like_item_gets_a_friendly_private_error(
    make_service: tuple[ServiceMaker, SpyFetch],
) -> None:
    make, _fetch = make_service
    service = make(title_lookup=False)
    service.recommender.recommend_from_item.side_effect = UnknownItemError(
        "That result is not in the catalog musicrec serves (it holds no item 999999); "
        "run /recommend again."
    )
    client = MagicMock()
    client.service = service
    interaction = make_interaction(client)
    interaction.response.is_done.return_value = False
    button = MoreLikeButton(catalog=FINGERPRINT, item_id=999_999, count=3)
    await button.callback(interaction)
    call = interaction.response.send_message.await_args
    assert call is not None and call.kwargs["ephemeral"] is True
    assert "run /recommend again" in sent_text(interaction.response.send_message)


async def test_a_cached_link_keeps_the_peaks_that_identify_it(
    make_service: tuple[ServiceMaker, SpyFetch],
) -> None:
    """A catalog with landmarks: the clip's peaks go into the clip cache and come back to
    the recommender, so the same link gets the same identified track cached or not."""
    make, fetch = make_service
    service = make(title_lookup=False)
    peaks = np.array([[1, 20], [4, 150]], dtype=np.int64)
    service.recommender.recommend_many.side_effect = lambda clips, k, **_rules: [
        dataclasses.replace(result_for(clip.provenance, k), query_peaks=peaks) for clip in clips
    ]
    await service.answer(make_interaction(None), AudioRequest(link=LINK, start_s=90.0), count=3)
    await service.answer(
        make_interaction(None, user_id=43), AudioRequest(link=LINK, start_s=90.0), count=3
    )
    assert len(fetch.calls) == 1
    replayed = service.recommender.recommend_vector.call_args.kwargs["query_peaks"]
    np.testing.assert_array_equal(replayed, peaks)


# Fair shares of YouTube, fetches given back, t= starts on a grid ------------------------


async def test_a_member_over_their_share_is_told_privately_when_it_refills(
    make_service: tuple[ServiceMaker, SpyFetch], caplog: pytest.LogCaptureFixture
) -> None:
    """Finding 2: 10 % of 20 fetches an hour is 2 per member, on every entry point; a
    member of another server is still served, and a pasted link over the share is only
    logged."""
    make, fetch = make_service
    service = make(youtube_fetches_per_hour=20, title_lookup=False)
    for video_id in ("aaaaaaaaaa1", "aaaaaaaaaa2"):
        link = parse_youtube_link(f"https://youtu.be/{video_id}")
        await service.answer(make_interaction(None), AudioRequest(link=link), count=3)
    refused = make_interaction(None)
    with pytest.raises(YouTubeBusyError) as caught:
        await service.answer(refused, AudioRequest(link=OTHER_LINK), count=3)
    refused.response.defer.assert_not_awaited()  # refused before acknowledging
    await report_error(refused, caught.value)  # what the command tree does with it
    call = refused.response.send_message.await_args
    assert call is not None and call.kwargs["ephemeral"] is True
    assert visible(call.args[0]) == (
        "You have used your share of YouTube links for this hour (2): it refills in 60 min. "
        "An audio file works right away."
    )

    elsewhere = make_interaction(None, user_id=43, guild_id=2)
    await service.answer(elsewhere, AudioRequest(link=OTHER_LINK), count=3)
    assert embed_of(elsewhere).title == "Sounds like this"

    message = make_message("https://youtu.be/ccccccccccc")
    message.author.id = 42  # the same member pastes a link: nothing is said in the channel
    with caplog.at_level(logging.INFO, logger="bot.service"):
        await service.answer_in_chat(message, AudioRequest(link=message_link(message)))
    message.reply.assert_not_awaited()
    assert "your share of YouTube links" in caplog.text
    assert len(fetch.calls) == 3


def message_link(message: MagicMock) -> YouTubeLink:
    return parse_youtube_link(message.content)


async def test_a_server_over_its_share_leaves_the_other_servers_served(
    make_service: tuple[ServiceMaker, SpyFetch],
) -> None:
    make, fetch = make_service
    service = make(youtube_fetches_per_hour=4, youtube_server_share="50%", title_lookup=False)
    for member, video_id in ((1, "aaaaaaaaaa1"), (2, "aaaaaaaaaa2")):
        interaction = make_interaction(None, user_id=member, guild_id=100)
        link = parse_youtube_link(f"https://youtu.be/{video_id}")
        await service.answer(interaction, AudioRequest(link=link), count=3)
    with pytest.raises(YouTubeBusyError, match="This server has used its share"):
        interaction = make_interaction(None, user_id=3, guild_id=100)
        await service.answer(interaction, AudioRequest(link=OTHER_LINK), count=3)
    await service.answer(
        make_interaction(None, user_id=4, guild_id=200), AudioRequest(link=OTHER_LINK), count=3
    )
    assert len(fetch.calls) == 3


async def test_starts_snap_to_a_five_second_grid(
    make_service: tuple[ServiceMaker, SpyFetch],
) -> None:
    """t=1 .. t=4 are one window: one fetch for the four, and each reply shows the window
    heard (0:00-0:10), not the one asked for."""
    make, fetch = make_service
    service = make(title_lookup=False)
    for start in range(1, 5):
        link = parse_youtube_link(f"https://youtu.be/abcdefghijk?t={start}")
        interaction = make_interaction(None, user_id=40 + start)
        await service.answer(interaction, AudioRequest(link=link), count=3)
        assert "0:00–0:10" in embed_of(interaction).description
    assert fetch.calls == [("abcdefghijk", 0.0)]
    asked = make_interaction(None, user_id=50)  # the start option snaps too: 0:07 -> 0:05
    await service.answer(asked, AudioRequest(link=LINK, start_s=7.0), count=3)
    assert fetch.calls[1:] == [("abcdefghijk", 5.0)]
    assert "0:05–0:15" in embed_of(asked).description


async def test_a_fetch_that_never_reached_youtube_is_given_back(
    make_service: tuple[ServiceMaker, SpyFetch], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real yt-dlp against a closed port on 127.0.0.1: connection refused, nothing
    reached the "video", so the fetch goes back; a 404 did reach it and is kept."""
    make, _spy = make_service
    monkeypatch.setattr(
        "musicrec_core.service.youtube_links.fetch_youtube_clip", fetch_youtube_clip
    )
    service = make(youtube_fetches_per_hour=1, title_lookup=False, ytdlp_timeout_s=20)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/media"
    for member in (42, 43):  # with a budget of one, the second is served only if given back
        message = make_message("https://youtu.be/abcdefghijk")
        message.author.id = member
        with _serve_test_video(LINK.video_id, closed):
            await service.answer_in_chat(message, AudioRequest(link=LINK))
        assert sent_text(message.reply) == "Could not reach YouTube; try again later."
        assert (await service.youtube_status())["YouTube fetches"] == "0/1 in the last hour"


async def test_a_fetch_that_reached_youtube_is_kept(
    make_service: tuple[ServiceMaker, SpyFetch],
    monkeypatch: pytest.MonkeyPatch,
    http_server: LocalHTTPServer,
) -> None:
    make, _spy = make_service
    monkeypatch.setattr(
        "musicrec_core.service.youtube_links.fetch_youtube_clip", fetch_youtube_clip
    )
    service = make(youtube_fetches_per_hour=1, title_lookup=False, ytdlp_timeout_s=20)
    message = make_message("https://youtu.be/abcdefghijk")
    with _serve_test_video(LINK.video_id, http_server.add("/gone", b"", status=404)):
        await service.answer_in_chat(message, AudioRequest(link=LINK))
    assert "unavailable" in sent_text(message.reply)
    assert (await service.youtube_status())["YouTube fetches"] == "1/1 in the last hour"


async def test_a_request_that_ends_before_its_fetch_starts_gives_it_back(
    make_service: tuple[ServiceMaker, SpyFetch],
) -> None:
    """Its acknowledgement failed: the fetch never started."""
    make, fetch = make_service
    service = make(youtube_fetches_per_hour=1, title_lookup=False)
    interaction = make_interaction(None)
    interaction.response.defer.side_effect = RuntimeError("Discord said no")
    with pytest.raises(RuntimeError):
        await service.answer(interaction, AudioRequest(link=LINK), count=3)
    assert fetch.calls == []
    assert (await service.youtube_status())["YouTube fetches"] == "0/1 in the last hour"


async def test_a_budget_lock_held_elsewhere_costs_only_that_request(
    make_service: tuple[ServiceMaker, SpyFetch], tmp_path: Path
) -> None:
    """Finding 5: another process holds the budget file's lock. Other members' interactions
    are acknowledged and answered while it holds it (the loop never waits on the lock), and
    the link that needs the budget gets a clear "try again" after its timeout."""
    make, fetch = make_service
    service = make(title_lookup=False)
    with lock_held(default_budget_path(), tmp_path) as holder:
        waiting = make_interaction(None, user_id=42)
        link_request = asyncio.create_task(
            service.answer(waiting, AudioRequest(link=LINK), count=3)
        )
        await asyncio.sleep(0)  # the link request starts and waits for the budget
        others = [make_interaction(None, user_id=member) for member in (43, 44)]
        for other in others:  # a "More like" click each: no YouTube, no budget
            await service.answer_more_like(other, FINGERPRINT, 7, 3)
            other.response.defer.assert_awaited_once()
            other.followup.send.assert_awaited_once()
        assert not link_request.done()  # the others went first, while it waited
        with pytest.raises(FetchBudgetBusyError, match="try again in a few seconds"):
            await link_request
        assert holder.poll() is None  # and all of it while the lock was still held
    waiting.response.defer.assert_not_awaited()  # refused before acknowledging: ephemeral
    assert fetch.calls == []
    await service.answer(make_interaction(None, user_id=45), AudioRequest(link=LINK), count=3)
    assert len(fetch.calls) == 1  # released: links are fetched again
