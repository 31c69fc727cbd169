"""Fixtures of the YouTube fetch tests: media served as "videos" from 127.0.0.1, and the
choice of the process yt-dlp runs in (a long-lived worker, or one per fetch)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from musicrec_core.sources.ytdlp_workers import set_fetch_workers
from tests.helpers.http_server import LocalHTTPServer
from tests.helpers.media import generate_media


@pytest.fixture(scope="session")
def webm_opus(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Four minutes of Opus in WebM, YouTube's usual audio format."""
    path = tmp_path_factory.mktemp("media") / "song.webm"
    generate_media(
        path,
        seconds=240.0,
        tone_hz=330.0,
        sample_rate=48_000,
        channels=1,
        codec_args=("-c:a", "libopus", "-b:a", "24k"),
    )
    return path.read_bytes()


@pytest.fixture
def server(http_server: LocalHTTPServer) -> LocalHTTPServer:
    """The local server with a 32 KiB send buffer per connection.

    Without it, loopback TCP autotuning lets each response run megabytes ahead of the
    client into kernel buffers, and ``bytes_served`` would count data the client never read.
    """
    http_server.send_buffer_bytes = 32 * 1024
    return http_server


@pytest.fixture(params=["workers", "child"])
def fetch_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with long-lived yt-dlp workers, then with a process per fetch (the
    fallback); a fresh default pool either way."""
    set_fetch_workers(request.param == "workers")
    try:
        yield request.param
    finally:
        set_fetch_workers(True)
