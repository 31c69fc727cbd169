"""The bot serves any index with the embedder its manifest names, variant included.

An index built with musicnn's MSD weights must serve from the bot with default settings:
no MUSICREC_MUSICNN_MODEL (or any other setting) has to be changed by hand to match it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.cli import main as musicrec
from musicrec_core.embedders.musicnn import VARIANTS
from tests.bot.conftest import FAKE_TOKEN
from tests.fake_discord.bot_process import BotProcess, bot_environment
from tests.fake_discord.markdown import visible
from tests.fake_discord.server import FakeDiscord
from tests.helpers.media import generate_media
from tests.helpers.musicnn import weights_cache

pytestmark = pytest.mark.slow

TONES_HZ = (220, 330, 440)


@pytest.fixture(scope="module")
def msd_library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(music folder, index built with musicnn MSD, cache holding the musicnn weights)."""
    work = tmp_path_factory.mktemp("msd-library")
    music = work / "music"
    music.mkdir()
    for tone_hz in TONES_HZ:
        generate_media(music / f"tone-{tone_hz}.mp3", seconds=12, tone_hz=tone_hz)
    with weights_cache(work / "cache") as cache:
        status = musicrec(
            ["index", "build-library", str(music), "--embedder", "musicnn", "--model", "msd",
             "-o", str(work / "index")]
        )  # fmt: skip
    assert status == 0
    return music, work / "index", cache


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    server = FakeDiscord(token=FAKE_TOKEN).start()
    yield server
    server.stop()


def test_an_msd_index_serves_with_default_settings(
    msd_library: tuple[Path, Path, Path],
    synthetic_vggish: tuple[Path, Path],
    fake: FakeDiscord,
) -> None:
    music, index_dir, cache = msd_library
    with CatalogIndex.load(index_dir) as index:
        assert "msd" in str(index.manifest["embedder"]["version"])
    env = bot_environment(
        fake,
        index_dir=index_dir,
        checkpoint=synthetic_vggish[0],
        pca=synthetic_vggish[1],
        cache_dir=cache,
    )
    assert not any(key.startswith("MUSICREC_MUSICNN") for key in env)
    process = BotProcess(env)
    try:
        process.wait_ready()
        data = (music / "tone-440.mp3").read_bytes()
        attachment = fake.add_attachment(data, "tone-440.mp3", "audio/mpeg")
        interaction = fake.slash_command(
            "recommend",
            [{"name": "file", "type": 11, "value": attachment["id"]}],
            attachments=[attachment],
        )
        reply = fake.wait_reply(interaction)
        (embed,) = reply["payload"]["embeds"]
        assert embed["title"] == "Sounds like this"
        heard, tags_line = visible(embed["description"]).split("\n")
        assert heard.startswith("Heard: tone-440.mp3")
        # The query was tagged by the MSD model the index names ("jazz" is an MSD tag that
        # MTT does not have, so every shown tag is checked against MSD's own vocabulary).
        shown = [tag.rsplit(" ", 1)[0] for tag in tags_line.removeprefix("Tags: ").split(", ")]
        assert shown and set(shown) <= set(VARIANTS["msd"].tags)
        assert not set(shown) <= set(VARIANTS["mtt"].tags)
        # The query's own track is excluded; the two other tracks are the answer.
        names = sorted(visible(field["name"]) for field in embed["fields"])
        assert names == ["#1 tone-220", "#2 tone-330"] or names == ["#1 tone-330", "#2 tone-220"]
        assert fake.violations == []
        # TensorFlow loaded without its C++ banner (absl / oneDNN notices) in the bot's log.
        assert "absl::InitializeLog" not in process.output
        assert "oneDNN custom operations" not in process.output
    finally:
        process.stop()
