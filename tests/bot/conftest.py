"""Fixtures for the bot's end-to-end tests: one catalog per session, real bot processes.

``e2e_catalog`` embeds generated media with the synthetic VGGish once per session;
``start_live_bot`` starts a FakeDiscord, a local media server and the real bot process
pointed at them (each test module that needs one builds it in a module-scoped fixture).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from musicrec_core.embedders.base import Embedder
from tests.fake_discord.bot_process import BotProcess, bot_environment
from tests.fake_discord.server import FakeDiscord
from tests.fake_discord.world import build_catalog
from tests.helpers.http_server import LocalHTTPServer
from tests.helpers.media import generate_media

FAKE_TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAw.fake.token-for-tests"


@dataclass
class LiveBot:
    """A running bot process and everything it talks to."""

    fake: FakeDiscord
    process: BotProcess
    media: LocalHTTPServer
    index_dir: Path
    work_dir: Path


@pytest.fixture(scope="session")
def e2e_catalog(
    synthetic_vggish: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """An index of the world's videos embedded with the synthetic VGGish (read-only copy)."""
    from musicrec_core.embedders.vggish import VGGishEmbedder

    root = tmp_path_factory.mktemp("e2e-catalog")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MUSICREC_CACHE_DIR", str(root / "cache"))
        embedder = VGGishEmbedder.from_files(*synthetic_vggish)
        build_catalog(root / "index", root / "media", embedder)
    return root / "index"


LiveBotFactory = Callable[..., LiveBot]


@pytest.fixture(scope="session")
def vggish(
    synthetic_vggish: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Embedder:
    """The same synthetic VGGish the live bots run, for building and publishing catalogs."""
    from musicrec_core.embedders.vggish import VGGishEmbedder

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MUSICREC_CACHE_DIR", str(tmp_path_factory.mktemp("vggish-cache")))
        return VGGishEmbedder.from_files(*synthetic_vggish)


@pytest.fixture(scope="session")
def song(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """12 s of a 440 Hz tone as MP3: sounds exactly like the catalog's "Concert A"."""
    path = tmp_path_factory.mktemp("song") / "concert-a.mp3"
    return generate_media(path, seconds=12, tone_hz=440).read_bytes()


@pytest.fixture
def no_broken_rules(live: LiveBot) -> Iterator[None]:
    """Fails the test if the fake Discord saw a broken rule while it ran (modules with a
    ``live`` bot use it through ``pytest.mark.usefixtures``)."""
    before = len(live.fake.violations)
    yield
    assert live.fake.violations[before:] == []


@pytest.fixture(scope="module")
def start_live_bot(
    e2e_catalog: Path,
    synthetic_vggish: tuple[Path, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveBotFactory]:
    """Factory starting a live bot (with its own copy of the catalog); all stopped at the end.

    ``serve_videos`` maps a video id to the audio its link fetches; ``served_names`` may give
    the file name it is served under (yt-dlp's generic extractor makes it the title)."""
    started: list[LiveBot] = []

    def start(
        *,
        extra_env: Mapping[str, str] | None = None,
        serve_videos: Mapping[str, bytes] | None = None,
        served_names: Mapping[str, str] | None = None,
    ) -> LiveBot:
        work = tmp_path_factory.mktemp("live-bot")
        index_dir = work / "index"
        shutil.copytree(e2e_catalog, index_dir)
        media = LocalHTTPServer()
        names = served_names or {}
        urls = {
            video_id: media.add(
                f"/{quote(names.get(video_id, video_id), safe='')}.mp3",
                data,
                content_type="audio/mpeg",
            )
            for video_id, data in (serve_videos or {}).items()
        }
        fake = FakeDiscord(token=FAKE_TOKEN).start()
        env = bot_environment(
            fake,
            index_dir=index_dir,
            checkpoint=synthetic_vggish[0],
            pca=synthetic_vggish[1],
            cache_dir=work / "cache",
            extra=extra_env,
        )
        process = BotProcess(env, serve_videos=urls)
        live = LiveBot(fake, process, media, index_dir, work)
        started.append(live)
        process.wait_ready()
        return live

    yield start
    for live in started:
        live.process.stop()
        live.fake.stop()
        live.media.close()
