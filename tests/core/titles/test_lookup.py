"""Titled results: titles filled in, gone videos replaced, the budget kept, the cache used.

The endpoint is the oEmbed stand-in on 127.0.0.1 (tests/helpers/oembed.py). A slow
endpoint is a stand-in that holds its answer until the test sets an event, so no assertion
depends on how fast this machine is.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.recommender import Recommendation, RecommendationSet, youtube_url
from musicrec_core.titles.cache import TitleCache
from musicrec_core.titles.lookup import TitleLookup, candidate_count
from musicrec_core.titles.oembed import OEmbedClient, VideoAnswer
from tests.helpers.http_server import LocalHTTPServer
from tests.helpers.oembed import OEmbedStandIn, thumbnail, video

A, B, C, D, E = (video(n) for n in range(1, 6))
WARM_UP = video(99)


def candidates(*groups: str, library: tuple[str, ...] = ()) -> RecommendationSet:
    """Results for ``groups`` (YouTube videos) then ``library`` (file tracks), best first."""
    items = [
        Recommendation(
            rank=rank,
            group=group,
            title=None if group not in library else f"{group}.flac",
            start_s=30.0,
            end_s=40.0,
            score=(90.0 - rank) / 100,
            window_cosine=(90.0 - rank) / 100,
            labels=("Music",),
            url=None if group in library else youtube_url(group, 30.0),
            source=f"/music/{group}.flac" if group in library else None,
            item_id=rank,
        )
        for rank, group in enumerate((*groups, *library), start=1)
    ]
    return RecommendationSet(
        query=None,
        query_vector=np.zeros(4, np.float32),
        query_tags=(),
        items=tuple(items),
        catalog="0123abcd",
    )


@pytest.fixture
def stand_in(http_server: LocalHTTPServer) -> OEmbedStandIn:
    stand_in = OEmbedStandIn(http_server)
    stand_in.found(WARM_UP, "warm-up")
    return stand_in


@pytest.fixture
def lookup(stand_in: OEmbedStandIn, tmp_path: Path) -> Iterator[TitleLookup]:
    """A lookup whose client has seen the endpoint answer once (so a 404 means gone)."""
    client = OEmbedClient(stand_in.endpoint, timeout_s=10)
    client.ask(WARM_UP)
    with TitleLookup(client, TitleCache(tmp_path / "titles.sqlite3"), budget_s=30) as lookup:
        yield lookup


def groups(result: RecommendationSet) -> list[str]:
    return [item.group for item in result.items]


def test_titles_channels_and_thumbnails_are_filled_in(lookup, stand_in) -> None:
    for n, vid in enumerate((A, B, C)):
        stand_in.found(vid, f"Song {n}", channel=f"Band {n}")
    result = lookup.titled(candidates(A, B, C, D), 3)
    assert groups(result) == [A, B, C]
    assert [(i.rank, i.title, i.channel) for i in result.items] == [
        (1, "Song 0", "Band 0"),
        (2, "Song 1", "Band 1"),
        (3, "Song 2", "Band 2"),
    ]
    assert result.items[0].thumbnail_url == thumbnail(A)
    assert result.items[0].to_json()["channel"] == "Band 0"
    assert stand_in.requests(D) == 0  # not needed: never asked


def test_a_gone_video_is_replaced_by_the_next_distinct_result(lookup, stand_in) -> None:
    stand_in.gone(A)
    stand_in.gone(C)
    for vid in (B, D, E):
        stand_in.found(vid, f"title {vid}")
    result = lookup.titled(candidates(A, B, C, D, E), 3)
    assert groups(result) == [B, D, E]
    assert [item.rank for item in result.items] == [1, 2, 3]
    assert all(item.title == f"title {item.group}" for item in result.items)
    assert lookup.cache.get(A) == VideoAnswer(A, "gone")


def test_with_too_few_live_candidates_fewer_results_come_back(lookup, stand_in) -> None:
    stand_in.gone(A)
    stand_in.found(B, "b")
    assert groups(lookup.titled(candidates(A, B), 2)) == [B]


def test_answers_that_do_not_clearly_mean_gone_never_drop_a_result(lookup, stand_in) -> None:
    stand_in.answer(A, b"busy", status=503)
    stand_in.answer(B, b"{broken json")
    stand_in.answer(C, b"Unauthorized", status=401)  # embedding disabled: the video exists
    stand_in.answer(D, b"slow down", status=429)
    result = lookup.titled(candidates(A, B, C, D, E), 4)
    assert groups(result) == [A, B, C, D]
    assert all(item.title is None for item in result.items)
    assert lookup.cache.get_many([A, B, D]) == {}
    assert lookup.cache.get(C) == VideoAnswer(C, "restricted")


def test_a_404_before_the_endpoint_ever_answered_drops_nothing(stand_in, tmp_path) -> None:
    stand_in.gone(A)  # e.g. a mistyped MUSICREC_OEMBED_URL answers 404 for everything
    client = OEmbedClient(stand_in.endpoint, timeout_s=10)
    with TitleLookup(client, TitleCache(tmp_path / "t.sqlite3"), budget_s=30) as lookup:
        assert groups(lookup.titled(candidates(A), 1)) == [A]
        assert lookup.cache.get(A) is None


def test_a_slow_endpoint_does_not_hold_the_reply_past_its_budget(lookup, stand_in) -> None:
    stand_in.found(A, "cached before")
    lookup.titled(candidates(A), 1)
    release = threading.Event()
    stand_in.found(B, "late title", release=release)
    try:
        result = lookup.titled(candidates(A, B), 2, budget_s=0.2)
        assert [(i.group, i.title) for i in result.items] == [(A, "cached before"), (B, None)]
        assert stand_in.requests(B) == 1  # asked, and still held by the stand-in
    finally:
        release.set()
    # The lookup goes on in the background and fills the cache for the next reply.
    future = lookup.lookup(B)
    assert future is not None and future.result(timeout=30).title == "late title"
    assert lookup.titled(candidates(A, B), 2, budget_s=0).items[1].title == "late title"


def test_budget_zero_answers_from_the_cache_and_asks_the_rest_in_the_background(
    lookup, stand_in
) -> None:
    stand_in.found(A, "a")
    result = lookup.titled(candidates(A), 1, budget_s=0)
    assert result.items[0].title is None
    future = lookup.lookup(A)
    assert future is not None
    future.result(timeout=30)
    assert lookup.titled(candidates(A), 1, budget_s=0).items[0].title == "a"


def test_replies_share_a_lookup_in_flight(lookup, stand_in) -> None:
    release = threading.Event()
    stand_in.found(A, "a", release=release)
    results: list[RecommendationSet] = []
    threads = [
        threading.Thread(target=lambda: results.append(lookup.titled(candidates(A), 1)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert [r.items[0].title for r in results] == ["a"] * 4
    assert stand_in.requests(A) <= 2  # one in flight at a time (a late thread may ask again)


def test_the_cache_is_used_by_a_new_lookup_with_no_request(lookup, stand_in, tmp_path) -> None:
    stand_in.found(A, "a")
    stand_in.gone(B)
    stand_in.found(C, "c")
    assert groups(lookup.titled(candidates(A, B, C), 2)) == [A, C]
    asked = [stand_in.requests(v) for v in (A, B, C)]
    restarted = TitleLookup(
        OEmbedClient(stand_in.endpoint), TitleCache(tmp_path / "titles.sqlite3"), budget_s=30
    )
    with restarted:
        result = restarted.titled(candidates(A, B, C), 2, budget_s=0)
    assert [(i.group, i.title) for i in result.items] == [(A, "a"), (C, "c")]
    assert [stand_in.requests(v) for v in (A, B, C)] == asked


def test_each_cache_read_reports_its_hits_and_misses(lookup, stand_in) -> None:
    reads: list[tuple[int, int]] = []
    lookup.on_cache_read = lambda hits, misses: reads.append((hits, misses))
    for vid in (A, B, C):
        stand_in.found(vid, f"title {vid}")
    lookup.titled(candidates(A, B), 2)  # nothing cached yet
    lookup.titled(candidates(A, B, C), 3, budget_s=0)  # A and B now are
    lookup.answers([A, "library-track"])  # only videos are asked of the cache
    assert reads == [(0, 2), (2, 1), (1, 0)]


def test_library_tracks_are_kept_as_they_are_and_never_asked(lookup, stand_in) -> None:
    stand_in.gone(A)
    result = lookup.titled(candidates(A, library=("track1",)), 2)
    assert groups(result) == ["track1"] and result.items[0].title == "track1.flac"
    assert len(stand_in.server.requests("/oembed")) == 2  # the warm-up and A, never the track


def test_past_max_pending_results_are_shown_untitled(stand_in, tmp_path) -> None:
    client = OEmbedClient(stand_in.endpoint)
    stand_in.found(A, "a")
    with TitleLookup(client, TitleCache(tmp_path / "t.sqlite3"), max_pending=0) as lookup:
        assert lookup.titled(candidates(A), 1).items[0].title is None
    assert stand_in.requests(A) == 0


@pytest.mark.parametrize(("k", "asked"), [(1, 6), (5, 10), (10, 20)])
def test_candidate_count(k: int, asked: int) -> None:
    assert candidate_count(k) == asked


def test_answers_tell_found_and_gone_videos_and_skip_what_is_not_a_video(lookup, stand_in) -> None:
    stand_in.found(A, "a", channel="Band")
    stand_in.gone(B)
    answers = lookup.answers([A, B, A, "track-key-of-a-file"])
    assert answers == {
        A: VideoAnswer(A, "found", "a", "Band", thumbnail(A)),
        B: VideoAnswer(B, "gone"),
    }
    assert stand_in.requests(A) == 1
    assert lookup.answers([A, B], budget_s=0) == answers  # now from the cache alone


def test_answers_leave_out_what_did_not_answer_within_the_budget(lookup, stand_in) -> None:
    release = threading.Event()
    stand_in.found(A, "late", release=release)
    try:
        assert lookup.answers([A], budget_s=0.2) == {}
    finally:
        release.set()
