"""A bot with only a token: the first start builds the default catalog from the two hosts
(local stand-ins), then serves; the second reuses it; offline, a wrong md5 or a cut archive
stops it with one line and nothing half-built, and the next start builds again.

The stand-in VGGish files are the synthetic ones, whose md5s differ from the official
ones: the launcher's ``--expect-weights-md5`` seam makes the bot expect theirs, and the md5
check still runs. The stand-in archive is small: ``--expect-release-segments`` makes the
bot expect its segment count. The label files are AudioSet's real ones (they are pinned).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from musicrec_core.catalog.audioset import FEATURES_URL
from musicrec_core.catalog.default import CATALOG_NAME
from musicrec_core.embedders.vggish.weights import CHECKPOINT, PCA
from musicrec_core.mirrors import OFFICIAL_BASES
from tests.bot.conftest import FAKE_TOKEN
from tests.fake_discord.bot_process import BotProcess, bot_environment
from tests.fake_discord.markdown import visible
from tests.fake_discord.server import FakeDiscord
from tests.helpers.catalog_hosts import (
    FEATURES_PATH,
    SEGMENTS,
    CatalogHosts,
    needs_audioset_metadata,
    write_catalog_archive,
)
from tests.helpers.media import generate_media

pytestmark = [pytest.mark.slow, needs_audioset_metadata]

DIRECT_SETTINGS = ("MUSICREC_INDEX_DIR", "MUSICREC_VGGISH_CHECKPOINT", "MUSICREC_VGGISH_PCA")


@pytest.fixture(scope="module")
def hosts(
    synthetic_vggish: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CatalogHosts]:
    archive = write_catalog_archive(tmp_path_factory.mktemp("default-catalog"))
    served = CatalogHosts(
        synthetic_vggish[0].read_bytes(), synthetic_vggish[1].read_bytes(), archive.read_bytes()
    )
    yield served
    served.close()


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    server = FakeDiscord(token=FAKE_TOKEN).start()
    yield server
    server.stop()


def token_only_bot(
    fake: FakeDiscord, cache_dir: Path, hosts_env: dict[str, str], *, md5s: tuple[str, str] | None
) -> BotProcess:
    """The bot with a token and no index or weights settings (plus the test's URLs)."""
    env = bot_environment(
        fake,
        index_dir=Path("unused"),
        checkpoint=Path("unused"),
        pca=Path("unused"),
        cache_dir=cache_dir,
        extra=hosts_env,
    )
    for name in DIRECT_SETTINGS:
        del env[name]
    seam = ["--expect-weights-md5", ",".join(md5s)] if md5s else []
    seam += ["--expect-release-segments", str(SEGMENTS)]
    return BotProcess(env, launcher_args=seam)


def disk_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def test_first_start_builds_and_serves_the_second_reuses(
    hosts: CatalogHosts, fake: FakeDiscord, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    started = time.monotonic()
    bot = token_only_bot(fake, cache, hosts.env(), md5s=hosts.weight_md5s)
    try:
        bot.wait_ready(timeout=600)
        first_s = time.monotonic() - started
        statement = bot.wait_for_line("Building the default catalog in")
        assert "GB to download from 127.0.0.1" in statement and "GB of disk needed" in statement
        song = generate_media(tmp_path / "song.mp3", seconds=12, tone_hz=440).read_bytes()
        attachment = fake.add_attachment(song, "song.mp3", "audio/mpeg")
        command = fake.slash_command(
            "recommend",
            [
                {"name": "file", "type": 11, "value": attachment["id"]},
                {"name": "count", "type": 4, "value": 3},
            ],
            attachments=[attachment],
        )
        (embed,) = fake.wait_reply(command)["payload"]["embeds"]
        assert embed["description"] == "Heard: **song\\.mp3**, 0:00–0:10"
        assert visible(embed["description"]) == "Heard: song.mp3, 0:00–0:10"
        assert len(embed["fields"]) == 3
    finally:
        assert bot.stop() == 0
    fetched, requests = hosts.bytes_served(), hosts.requests()
    assert requests == 5
    assert (cache / "catalogs" / CATALOG_NAME / "CURRENT").is_file()

    started = time.monotonic()
    again = token_only_bot(fake, cache, hosts.env(), md5s=hosts.weight_md5s)
    try:
        again.wait_ready(timeout=300)
        second_s = time.monotonic() - started
    finally:
        again.stop()
    assert hosts.requests() == requests  # nothing was fetched again
    assert "Building the default catalog" not in again.output
    print(
        f"\ndefault catalog: first start {first_s:.1f} s to ready, {fetched / 1e6:.1f} MB "
        f"fetched, {disk_bytes(cache) / 1e6:.1f} MB on disk; second start {second_s:.1f} s"
    )


def test_offline_is_one_line_naming_what_to_fetch(fake: FakeDiscord, tmp_path: Path) -> None:
    closed = {name: f"http://127.0.0.1:9/{n}" for n, name in enumerate(OFFICIAL_BASES)}
    bot = token_only_bot(fake, tmp_path / "cache", closed, md5s=None)
    assert bot.wait_exit(timeout=120) == 1
    last = bot.lines[-1]
    assert last.startswith("musicrec-bot: Could not build the default catalog: Could not reach")
    for url in (CHECKPOINT.url, PCA.url, FEATURES_URL):
        assert url in last
    assert str(tmp_path / "cache" / "models" / "vggish") in last
    assert not (tmp_path / "cache" / "catalogs" / CATALOG_NAME).exists()
    assert not fake.records  # Discord was never contacted


def test_a_wrong_md5_is_refused(hosts: CatalogHosts, fake: FakeDiscord, tmp_path: Path) -> None:
    bot = token_only_bot(fake, tmp_path / "cache", hosts.env(), md5s=None)  # official md5s
    assert bot.wait_exit(timeout=120) == 1
    last = bot.lines[-1]
    assert "vggish_model.ckpt is not the expected one" in last
    assert f"expected {CHECKPOINT.md5}" in last
    weights_dir = tmp_path / "cache" / "models" / "vggish"
    assert not [p for p in weights_dir.rglob("*") if p.is_file()]
    assert not fake.records


def test_a_cut_archive_publishes_nothing_and_the_next_start_builds_again(
    hosts: CatalogHosts, fake: FakeDiscord, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    whole = hosts.archive
    hosts.google.add(FEATURES_PATH, whole, content_length=-1, cut_after=len(whole) * 7 // 10)
    try:
        bot = token_only_bot(fake, cache, hosts.env(), md5s=hosts.weight_md5s)
        assert bot.wait_exit(timeout=300) == 1
    finally:
        hosts.google.add(FEATURES_PATH, whole)
    last = bot.lines[-1]
    assert last.startswith("musicrec-bot: Could not build the default catalog: ")
    assert "not whole" in last
    assert not (cache / "catalogs" / CATALOG_NAME / "CURRENT").exists()
    assert not fake.records

    again = token_only_bot(fake, cache, hosts.env(), md5s=hosts.weight_md5s)
    try:
        again.wait_ready(timeout=600)
        assert "Building the default catalog" in again.output
    finally:
        assert again.stop() == 0
    assert (cache / "catalogs" / CATALOG_NAME / "CURRENT").is_file()
