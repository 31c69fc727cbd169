"""Pre-filling the title cache for a catalog: every video once, resumable, rate-limited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.catalog.index import CatalogIndex, IndexBuilder, ItemMeta
from musicrec_core.cli import main
from musicrec_core.embedders.base import EmbedderId
from musicrec_core.errors import MusicrecError
from musicrec_core.titles.cache import TitleCache
from musicrec_core.titles.enrich import RateLimiter, enrich_catalog
from musicrec_core.titles.lookup import TitleLookup
from musicrec_core.titles.oembed import OEmbedClient, VideoAnswer
from tests.helpers.http_server import LocalHTTPServer
from tests.helpers.oembed import OEmbedStandIn, video

N_VIDEOS = 10
SEGMENTS = 2
GONE, FAILING = video(3), video(7)
WARM_UP = video(99)


def build_catalog(directory: Path) -> Path:
    """N_VIDEOS videos of SEGMENTS segments each (interleaved) plus one library track."""
    metas = [
        ItemMeta(group=video(n), start_s=10.0 * s, end_s=10.0 * s + 10, labels=())
        for s in range(SEGMENTS)
        for n in range(N_VIDEOS)
    ]
    metas.append(ItemMeta(group="f" * 64, start_s=0, end_s=10, labels=(), kind="file"))
    vectors = np.random.default_rng(0).standard_normal((len(metas), 4)).astype(np.float32)
    embedder = EmbedderId(name="vggish", version="test-1", dim=4)
    with IndexBuilder(directory, embedder=embedder, pooling="mean") as builder:
        builder.add_many(vectors, metas)
        builder.commit()
    return directory


class CountingLimiter(RateLimiter):
    """A limiter that never sleeps and counts what it was asked."""

    def __init__(self) -> None:
        super().__init__(1.0, sleep=lambda seconds: None)
        self.acquired = 0
        self.paused: list[float] = []

    def acquire(self) -> None:
        self.acquired += 1

    def pause(self, seconds: float) -> None:
        self.paused.append(seconds)


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[CatalogIndex]:
    with CatalogIndex.load(build_catalog(tmp_path / "index")) as index:
        yield index


@pytest.fixture
def stand_in(http_server: LocalHTTPServer) -> OEmbedStandIn:
    stand_in = OEmbedStandIn(http_server)
    stand_in.found(WARM_UP, "warm-up")
    for n in range(N_VIDEOS):
        stand_in.found(video(n), f"title {n}")
    stand_in.gone(GONE)
    stand_in.answer(FAILING, b"oops", status=500)
    return stand_in


def proven_lookup(stand_in: OEmbedStandIn, cache_path: Path) -> TitleLookup:
    client = OEmbedClient(stand_in.endpoint, timeout_s=10)
    client.ask(WARM_UP)
    return TitleLookup(client, TitleCache(cache_path))


def test_every_video_is_asked_once_and_a_second_run_resumes(catalog, stand_in, tmp_path) -> None:
    cache_path = tmp_path / "titles.sqlite3"
    limiter = CountingLimiter()
    with proven_lookup(stand_in, cache_path) as lookup:
        first = enrich_catalog(catalog, lookup, limiter=limiter, progress=False)
    assert (first.items, first.cached) == (N_VIDEOS * SEGMENTS + 1, 0)
    assert (first.found, first.gone, first.restricted, first.failed) == (N_VIDEOS - 2, 1, 0, 1)
    assert "500" in (first.last_error or "")
    assert limiter.acquired == N_VIDEOS  # one rate-limited request per distinct video
    assert [stand_in.requests(video(n)) for n in range(N_VIDEOS)] == [1] * N_VIDEOS
    with proven_lookup(stand_in, cache_path) as lookup:
        assert lookup.cache.get(GONE) == VideoAnswer(GONE, "gone")
        answer = lookup.cache.get(video(0))
        assert answer is not None and (answer.state, answer.title) == ("found", "title 0")
        second = enrich_catalog(catalog, lookup, limiter=CountingLimiter(), progress=False)
    assert (second.cached, second.asked, second.failed) == (N_VIDEOS - 1, 1, 1)
    assert stand_in.requests(FAILING) == 2 and stand_in.requests(video(0)) == 1
    assert "run again" in second.summary()


def test_too_many_requests_pauses_new_requests(catalog, stand_in, tmp_path) -> None:
    stand_in.answer(FAILING, b"slow down", status=429)
    limiter = CountingLimiter()
    with proven_lookup(stand_in, tmp_path / "t.sqlite3") as lookup:
        enrich_catalog(catalog, lookup, limiter=limiter, progress=False, backoff_s=42.0)
    assert limiter.paused == [42.0]


def test_an_endpoint_that_keeps_failing_stops_the_run(catalog, stand_in, tmp_path) -> None:
    for n in range(N_VIDEOS):
        stand_in.answer(video(n), b"down", status=503)
    with (
        proven_lookup(stand_in, tmp_path / "t.sqlite3") as lookup,
        pytest.raises(MusicrecError, match="3 times in a row.*again later"),
    ):
        enrich_catalog(catalog, lookup, limiter=CountingLimiter(), progress=False, max_failures=3)


def test_the_rate_limiter_spaces_calls() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    limiter = RateLimiter(5.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        limiter.acquire()
    assert slept == [0.2, 0.2, 0.2]
    now[0] += 10.0  # idle time is not saved up as a burst
    limiter.acquire()
    limiter.acquire()
    assert slept == [0.2, 0.2, 0.2, 0.2]
    limiter.pause(30.0)
    limiter.acquire()
    assert slept[-1] == 30.0


def test_the_command_fills_the_cache_and_resumes(
    stand_in, tmp_path, capsys, monkeypatch, isolated_cache
) -> None:
    stand_in.found(GONE, "not gone after all")
    stand_in.found(FAILING, "fine now")
    monkeypatch.setenv("MUSICREC_OEMBED_URL", stand_in.endpoint)
    index_dir = build_catalog(tmp_path / "index")
    assert main(["index", "enrich", str(index_dir), "--no-progress", "--rate", "1000"]) == 0
    assert "0 videos already cached, 10 asked: 10 found" in capsys.readouterr().out
    with TitleCache(isolated_cache / "titles.sqlite3") as cache:
        assert len(cache.get_many(video(n) for n in range(N_VIDEOS))) == N_VIDEOS
    assert main(["index", "enrich", str(index_dir), "--no-progress"]) == 0
    assert "10 videos already cached, 0 asked" in capsys.readouterr().out


def test_the_command_refuses_a_plain_http_endpoint(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("MUSICREC_OEMBED_URL", "http://www.youtube.com/oembed")
    assert main(["index", "enrich", str(build_catalog(tmp_path / "index"))]) == 1
    assert "MUSICREC_OEMBED_URL" in capsys.readouterr().err
