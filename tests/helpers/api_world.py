"""One real ``musicrec serve`` world for the API tests, built once per test session.

:func:`api_world` (a pytest plugin fixture, listed in tests/conftest.py) serves
``serving_app`` under uvicorn on 127.0.0.1: the end-to-end catalog of
tests/fake_discord/world.py (seven "YouTube" videos) embedded with the synthetic VGGish, a
real key file, real ffmpeg and yt-dlp fetching two "YouTube" videos that are not in the
catalog (:data:`SEED`, :data:`OTHER`) from a local HTTP server, and the real AudioSet label
files for the words. Its folder also holds what a ``musicrec serve`` process needs to serve
the same catalog beside it (:meth:`ApiWorld.process_env`).

Tests that call it also use :func:`api_world_cache` (the suite gives every test a cache of
its own; the server reads the label files and the clip cache from its own), e.g.
``pytestmark = pytest.mark.usefixtures("api_world_cache")``.

Keys (:attr:`ApiWorld.keys`): ``jukebox`` (100/s, half the YouTube budget), ``autoplay``
(100/s) and ``paced`` (one request, then one every 2 s: a client meets 429 at once).
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from musicrec_core.api.key_limits import KeyLimits
from tests.fake_discord.world import CATALOG_VIDEOS, build_catalog
from tests.helpers.http_server import LocalHTTPServer
from tests.helpers.media import generate_media
from tests.helpers.shared_data import AUDIOSET_METADATA

if TYPE_CHECKING:
    from tests.helpers.api_server import RunningApi

__all__ = ["BY_ID", "OTHER", "SEED", "ApiWorld", "api_world", "api_world_cache"]

SEED = "seedsong440"
"""A "YouTube" video not in the catalog, sounding like Concert A (served locally)."""
OTHER = "seedsong880"
"""Another, sounding like High A; tests/core/api/test_endpoints.py hears it first."""
BY_ID = {video.video_id: video for video in CATALOG_VIDEOS}

_KEYS = {
    "jukebox": KeyLimits(rate=100, burst=100, youtube_share=0.5),
    "autoplay": KeyLimits(rate=100, burst=100, youtube_share=0.25),
    "paced": KeyLimits(rate=0.5, burst=1),  # at most 2 s to wait
}


@dataclass
class ApiWorld:
    """The running server and what it was built from."""

    api: RunningApi
    keys: dict[str, str]
    """Key name -> the key itself."""
    videos: dict[str, str]
    """"YouTube" video id -> the local URL it is fetched from, while a test runs."""
    work: Path
    weights: tuple[Path, Path]
    """The synthetic VGGish checkpoint and PCA file."""

    @property
    def key(self) -> str:
        return self.keys["jukebox"]

    @property
    def seed_song(self) -> bytes:
        """:data:`SEED`'s MP3 file."""
        return (self.work / f"{SEED}.mp3").read_bytes()

    @property
    def cache(self) -> Path:
        return self.work / "cache"

    @property
    def upload_dir(self) -> Path:
        return self.work / "uploads"

    @property
    def index_dir(self) -> Path:
        return self.work / "index"

    @property
    def keys_path(self) -> Path:
        return self.work / "keys.sqlite3"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api.port}"

    def process_env(self) -> dict[str, str]:
        """The ``MUSICREC_`` settings a ``musicrec serve`` process needs to serve this
        world's catalog beside the running server (same cache, keys and weights)."""
        return {
            "MUSICREC_CACHE_DIR": str(self.cache),
            "MUSICREC_INDEX_DIR": str(self.index_dir),
            "MUSICREC_VGGISH_CHECKPOINT": str(self.weights[0]),
            "MUSICREC_VGGISH_PCA": str(self.weights[1]),
            "MUSICREC_TITLE_LOOKUP": "false",
            "MUSICREC_API_KEYS_PATH": str(self.keys_path),
        }

    def metrics(self, *samples: str) -> tuple[float, ...]:
        """The values of ``samples`` (a metric name with its labels, as exposed) now; 0
        for one not exposed yet. The server's metrics count every test's requests, so
        compare a test's own before and after."""
        _, _, text = self.api.request("GET", "/metrics")
        values = dict(line.rsplit(" ", 1) for line in text.splitlines() if line[:1] != "#")
        return tuple(float(values.get(sample, 0.0)) for sample in samples)

    def call(
        self, method: str, path: str, body: Any = None, *, key: str | None = "", **headers: str
    ) -> tuple[int, dict[str, str], Any]:
        """One request with ``key`` (default: jukebox's; None: no key), ``body`` sent as
        JSON unless it is bytes."""
        sent = dict(headers)
        if key is not None:
            sent["Authorization"] = f"Bearer {key or self.key}"
        data = None
        if body is not None and not isinstance(body, bytes):
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        elif body is not None:
            data = body
        return self.api.request(method, path, body=data, headers=sent)


@pytest.fixture(scope="session")
def api_world(
    synthetic_vggish: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiWorld]:
    # imported here: this plugin loads with the whole suite, the server only where used
    from musicrec_core.api.keys import ApiKeyStore
    from musicrec_core.api.serve import serving_app
    from musicrec_core.api.settings import ApiSettings
    from musicrec_core.catalog.labels import LABELS_FILE
    from musicrec_core.embedders.vggish import VGGishEmbedder
    from musicrec_core.service.settings import ServiceSettings
    from tests.helpers.api_server import RunningApi

    work = tmp_path_factory.mktemp("api-world")
    media = LocalHTTPServer()
    songs = {}
    for video_id, tone in ((SEED, 440.0), (OTHER, 880.0)):
        path = generate_media(work / f"{video_id}.mp3", seconds=14, tone_hz=tone)
        songs[video_id] = path.read_bytes()
    with contextlib.ExitStack() as stack:
        stack.enter_context(media)
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        patch.setenv("MUSICREC_CACHE_DIR", str(work / "cache"))
        labels = work / "cache" / "data" / "audioset"
        labels.mkdir(parents=True)
        for name in (LABELS_FILE, "ontology.json"):
            shutil.copyfile(AUDIOSET_METADATA / name, labels / name)
        build_catalog(work / "index", work / "media", VGGishEmbedder.from_files(*synthetic_vggish))
        videos = {
            video_id: media.add(f"/{video_id}.mp3", data, content_type="audio/mpeg")
            for video_id, data in songs.items()
        }
        settings = ServiceSettings(
            _env_file=None,
            index_dir=work / "index",
            vggish_checkpoint=synthetic_vggish[0],
            vggish_pca=synthetic_vggish[1],
            title_lookup=False,
            youtube_fetches_per_hour=20,
            youtube_member_share=1.0,
            youtube_server_share=1.0,
        )
        (work / "uploads").mkdir()
        api_settings = ApiSettings(
            _env_file=None, port=0, keys_path=work / "keys.sqlite3", upload_dir=work / "uploads"
        )
        store = ApiKeyStore(api_settings.keys_path)
        keys = {name: store.add(name, limits) for name, limits in _KEYS.items()}
        store.close()
        with RunningApi(serving_app(settings, api_settings), api_settings) as api:
            patch.undo()  # the cache was read at start-up; each test points at it again
            yield ApiWorld(api, keys, videos, work, synthetic_vggish)


@pytest.fixture
def api_world_cache(api_world: ApiWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The server's cache for this test (the label files the words are read from when a
    request needs them, and the clip cache), and its "YouTube" videos served for this
    test only (the sources seam is process-wide: other tests must not see it)."""
    from musicrec_core.sources.ytdlp_fetch import _serve_test_video

    monkeypatch.setenv("MUSICREC_CACHE_DIR", str(api_world.cache))
    with contextlib.ExitStack() as seams:
        for video_id, url in api_world.videos.items():
            seams.enter_context(_serve_test_video(video_id, url))
        yield
