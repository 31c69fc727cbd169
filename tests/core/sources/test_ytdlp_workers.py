"""The yt-dlp worker pool: one Python with yt-dlp imported serves link after link, each
from a clean start, and a worker that crashes, stalls or grows costs only the fetch it held.

The "videos" are files served by the local HTTP server through the tests-only seam, so
the real path runs: worker processes, yt-dlp, its ffmpeg, the decode.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from musicrec_core.clip import Clip
from musicrec_core.errors import FetchError, InputTooLargeError, YouTubeNotReachedError
from musicrec_core.sources import _ytdlp_worker, ytdlp_workers
from musicrec_core.sources.youtube import fetch_youtube_clip, parse_youtube_link
from musicrec_core.sources.ytdlp_fetch import YouTubeSettings, YtDlpProcess, _serve_test_video
from musicrec_core.sources.ytdlp_workers import (
    YtDlpWorkers,
    default_fetch_workers,
    set_fetch_workers,
)
from tests.helpers.http_server import LocalHTTPServer
from tests.helpers.processes import alive

VIDEO = "workerVid01"
OTHER = "workerVid02"
FAST = YouTubeSettings(socket_timeout_s=2.0, metadata_timeout_s=20.0, download_timeout_s=20.0)
PATIENT = YouTubeSettings(socket_timeout_s=30.0, metadata_timeout_s=30.0)
"""For a fetch held at the server: yt-dlp itself must not give up first."""


@pytest.fixture
def pool() -> Iterator[YtDlpWorkers]:
    """A fresh default pool of long-lived workers (what fetch_youtube_clip uses)."""
    set_fetch_workers(True)
    yield default_fetch_workers()
    set_fetch_workers(True)


def fetch(video_id: str = VIDEO, start_s: float = 60.0, settings: YouTubeSettings = FAST) -> Clip:
    link = parse_youtube_link(f"https://youtu.be/{video_id}")
    return fetch_youtube_clip(link, start_s=start_s, settings=settings)


def children() -> set[int]:
    """Live child processes of this test process."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == str(os.getpid()) and fields[0] != "Z":
                found.add(int(entry))
    return found


def test_one_worker_serves_link_after_link(
    pool: YtDlpWorkers, server: LocalHTTPServer, webm_opus: bytes
) -> None:
    """Three links, one worker: after each it was sound (no growth, no open file or child
    left), so it was kept."""
    url = server.add("/song.webm", webm_opus, content_type="audio/webm")
    with _serve_test_video(VIDEO, url):
        fetch(start_s=30.0)
        (pid,) = pool.idle_pids()
        for start in (90.0, 150.0):
            clip = fetch(start_s=start)
            assert clip.provenance.start_s == start and 9.9 <= clip.duration_s <= 10.0
    assert pool.idle_pids() == [pid]


def test_cookies_of_one_fetch_never_reach_the_next(
    pool: YtDlpWorkers, server: LocalHTTPServer, webm_opus: bytes, tmp_path: Path
) -> None:
    """The first link comes with the operator's cookies and a cookie the server sets; the
    next, served by the same worker with no cookies file, sends neither."""
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(
        "# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t4102444800\tsession\tops-42\n"
    )
    set_cookie = {"Set-Cookie": "visitor=first-fetch; Path=/; Max-Age=3600"}
    first = server.add("/a.webm", webm_opus, content_type="audio/webm", headers=set_cookie)
    second = server.add("/b.webm", webm_opus, content_type="audio/webm")
    with _serve_test_video(VIDEO, first):
        fetch(settings=YouTubeSettings(cookiefile=cookies, socket_timeout_s=2.0))
    (pid,) = pool.idle_pids()
    with _serve_test_video(VIDEO, second):
        fetch()
    assert pool.idle_pids() == [pid]  # the same worker served both
    assert "session=ops-42" in [r.get("Cookie") for r in server.requests("/a.webm")]
    sent = [r.get("Cookie") for r in server.requests("/b.webm")]
    assert sent and not any(sent), sent


def test_a_stalled_download_kills_its_worker_and_the_next_link_gets_a_new_one(
    pool: YtDlpWorkers, server: LocalHTTPServer, webm_opus: bytes
) -> None:
    stalled = server.add(
        "/stalls.webm", webm_opus, content_type="audio/webm", stall_s=60.0, stall_after=2000
    )
    fine = server.add("/fine.webm", webm_opus, content_type="audio/webm")
    pool.prestart()
    (victim,) = pool.idle_pids()
    settings = YouTubeSettings(socket_timeout_s=30.0, download_timeout_s=2.0)
    with _serve_test_video(VIDEO, stalled), pytest.raises(FetchError, match="too long"):
        fetch(settings=settings)
    assert not alive(victim) and pool.idle_pids() == []
    with _serve_test_video(VIDEO, fine):
        fetch()
    assert len(pool.idle_pids()) == 1 and pool.idle_pids() != [victim]


def test_a_worker_that_dies_mid_fetch_fails_only_that_link(
    pool: YtDlpWorkers, server: LocalHTTPServer, webm_opus: bytes
) -> None:
    """The worker of a fetch held at the server is killed: that link is a clear error; a
    link fetched beside it meanwhile, and the next one, succeed. While it worked, the
    worker's working directory was that fetch's private directory."""
    release = threading.Event()
    held = server.add("/held.webm", webm_opus, content_type="audio/webm", release=release)
    fine = server.add("/fine.webm", webm_opus, content_type="audio/webm")
    pool.prestart()
    (victim,) = pool.idle_pids()
    outcome: list[BaseException] = []

    def held_fetch() -> None:
        try:
            fetch(settings=PATIENT)
        except BaseException as exc:  # reported below
            outcome.append(exc)

    with _serve_test_video(VIDEO, held), _serve_test_video(OTHER, fine):
        thread = threading.Thread(target=held_fetch)
        thread.start()
        while not server.requests("/held.webm"):  # the worker waits inside yt-dlp
            thread.join(0.01)
        workdir = Path(os.readlink(f"/proc/{victim}/cwd"))
        beside = fetch(OTHER)
        os.kill(victim, signal.SIGKILL)
        thread.join(30)
        release.set()
        after = fetch(OTHER, start_s=120.0)
    assert workdir.name.startswith("musicrec-yt-") and not workdir.exists()
    assert len(outcome) == 1 and isinstance(outcome[0], FetchError), outcome
    assert "stopped unexpectedly" in str(outcome[0])
    assert beside.duration_s == pytest.approx(10.0, abs=0.1)
    assert after.provenance.start_s == 120.0
    assert not alive(victim) and victim not in pool.idle_pids()
    assert all(os.readlink(f"/proc/{pid}/cwd") == "/" for pid in pool.idle_pids())


def test_a_fetch_past_the_memory_limit_is_refused_and_its_worker_replaced(
    server: LocalHTTPServer, webm_opus: bytes, tmp_path: Path
) -> None:
    """A 40 MB page read whole by yt-dlp, in workers limited to 96 MiB of data memory:
    the friendly memory error, the worker gone, and the next link served."""
    workers = YtDlpWorkers(memory_limit_bytes=96 * 2**20)
    page = b"<!doctype html><html><head><title>big</title></head><body>"
    page += b"<p>x</p>" * (5 * 2**20) + b"</body></html>"
    big = server.add("/big", page, content_type="text/html")
    fine = server.add("/fine.webm", webm_opus, content_type="audio/webm")
    try:
        with _serve_test_video(VIDEO, big), YtDlpProcess(VIDEO, tmp_path, FAST, workers) as p:
            pid = p.pid
            with pytest.raises(InputTooLargeError, match="needs more memory"):
                p.metadata()
        assert not alive(pid) and workers.idle_pids() == []
        with _serve_test_video(VIDEO, fine), YtDlpProcess(VIDEO, tmp_path, FAST, workers) as p:
            p.metadata()
            assert p.download_section(30.0, 40.0).is_file()
        assert len(workers.idle_pids()) == 1
    finally:
        workers.close()


def test_a_worker_grown_past_its_resident_cap_is_replaced(
    server: LocalHTTPServer, webm_opus: bytes, tmp_path: Path
) -> None:
    """Metadata only, then the fetch is ended: that worker would be kept, were it not over
    its resident cap (1 byte here). Closing the fetch again leaves a kept worker alone."""
    url = server.add("/song.webm", webm_opus, content_type="audio/webm")
    for cap, kept in ((2**30, 1), (1, 0)):
        workers = YtDlpWorkers(recycle_rss_bytes=cap)
        try:
            with _serve_test_video(VIDEO, url), YtDlpProcess(VIDEO, tmp_path, FAST, workers) as p:
                assert p.metadata().title is not None
                pid = p.pid
            p.close()
            assert len(workers.idle_pids()) == kept and alive(pid) == bool(kept)
        finally:
            workers.close()


def test_the_fallback_starts_a_process_for_each_link_and_stops_it(
    server: LocalHTTPServer, webm_opus: bytes
) -> None:
    url = server.add("/song.webm", webm_opus, content_type="audio/webm")
    set_fetch_workers(False)
    try:
        fallback = default_fetch_workers()
        fallback.prestart()
        before = children()
        with _serve_test_video(VIDEO, url):
            assert fetch().duration_s == pytest.approx(10.0, abs=0.1)
        assert fallback.idle_pids() == [] and children() <= before
    finally:
        set_fetch_workers(True)


def test_a_worker_that_cannot_start_is_a_fetch_that_never_reached_youtube(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "broken_worker.py"
    broken.write_text("raise SystemExit(3)\n", encoding="utf-8")
    monkeypatch.setattr(ytdlp_workers, "_SCRIPT", broken)
    workers = YtDlpWorkers()
    try:
        with caplog.at_level(logging.WARNING):
            workers.prestart()
        assert workers.idle_pids() == [] and "not started ahead" in caplog.text
        with pytest.raises(YouTubeNotReachedError, match="Could not start the YouTube"):
            YtDlpProcess(VIDEO, tmp_path, FAST, workers)
    finally:
        workers.close()


def test_the_po_token_memory_cache_is_emptied_between_fetches() -> None:
    """yt-dlp keeps PO tokens for the whole process, not per YoutubeDL."""
    from yt_dlp.extractor.youtube.pot._registry import _pot_memory_cache

    _pot_memory_cache.value["cache"] = {"web:visitor": "token of the last fetch's session"}
    _ytdlp_worker.forget_session_state()
    assert _pot_memory_cache.value == {}


def test_a_worker_left_waiting_is_retired_and_the_next_link_starts_another(
    server: LocalHTTPServer, webm_opus: bytes, tmp_path: Path
) -> None:
    """Retired after 0.2 s of waiting: the worker is stopped and reaped (no process left),
    and the next link is served by a new one as if nothing happened."""
    url = server.add("/song.webm", webm_opus, content_type="audio/webm")
    workers = YtDlpWorkers(retire_idle_after_s=0.2)
    before = children()
    try:
        with _serve_test_video(VIDEO, url), YtDlpProcess(VIDEO, tmp_path, FAST, workers) as p:
            first = p.pid
            assert p.metadata().title is not None
        deadline = time.monotonic() + 30
        while Path(f"/proc/{first}").exists():  # until it is stopped and reaped
            assert time.monotonic() < deadline, "the waiting worker was not retired"
            time.sleep(0.02)
        assert workers.idle_pids() == []
        with _serve_test_video(VIDEO, url), YtDlpProcess(VIDEO, tmp_path, FAST, workers) as p:
            assert p.pid != first and p.metadata().title is not None
            assert p.download_section(30.0, 40.0).is_file()
    finally:
        workers.close()
    deadline = time.monotonic() + 30
    while children() - before:  # the second one too, once it has waited
        assert time.monotonic() < deadline, "a worker was left behind"
        time.sleep(0.02)
