"""End to end: a bit-rotten index never reaches a query of the real bot process.

Before issue 10 a same-size vector file with a few bytes flipped was accepted by
/musicrec reload, and the next request killed the process (Annoy followed wild offsets).
Now a reload proves the new index first (sha256 of every file, a probe query) and a refused
one leaves the old index serving; and the bot refuses to serve a bare version folder, which
nothing protects from being rewritten in place while it is mapped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from musicrec_core.catalog.index import VECTORS_FILE, CatalogIndex
from musicrec_core.embedders.base import Embedder
from tests.bot.conftest import FAKE_TOKEN, LiveBot, LiveBotFactory
from tests.fake_discord.bot_process import BotProcess, bot_environment
from tests.fake_discord.markdown import field_rows, visible
from tests.fake_discord.server import FakeDiscord
from tests.fake_discord.world import build_catalog
from tests.helpers.index_damage import flip_middle_bytes, rewrite_stored_vector

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_broken_rules")]


@pytest.fixture(scope="module")
def live(start_live_bot: LiveBotFactory) -> LiveBot:
    return start_live_bot()


def status_rows(live: LiveBot) -> dict[str, str]:
    reply = live.fake.wait_reply(live.fake.slash_command("musicrec status", who="owner"))
    return field_rows(reply["payload"]["embeds"][0])


def serving_version(live: LiveBot) -> str:
    return status_rows(live)["Index version"]


def recommend(live: LiveBot, song: bytes) -> dict[str, Any]:
    attachment = live.fake.add_attachment(song, "concert-a.mp3", "audio/mpeg")
    values = [
        {"name": "file", "type": 11, "value": attachment["id"]},
        {"name": "count", "type": 4, "value": 2},
    ]
    interaction = live.fake.slash_command("recommend", values, attachments=[attachment])
    return live.fake.wait_reply(interaction)


def reload_refused(live: LiveBot) -> str:
    """Ask for a reload as the owner; returns the (ephemeral) refusal's text."""
    reply = live.fake.wait_reply(live.fake.slash_command("musicrec reload", who="owner"))
    assert reply["ephemeral"] is True
    assert not reply["payload"].get("embeds"), reply["payload"]
    return visible(reply["payload"]["content"])


def publish_version(live: LiveBot, vggish: Embedder, name: str) -> Path:
    """Publish a new two-video catalog version into the bot's index folder; returns it."""
    build_catalog(live.index_dir, live.work_dir / name, vggish, videos=2)
    with CatalogIndex.load(live.index_dir) as index:
        return index.directory


def assert_old_index_answers(live: LiveBot, song: bytes, version: str) -> None:
    reply = recommend(live, song)
    assert reply["payload"].get("embeds"), live.process.output[-3000:]
    fields = reply["payload"]["embeds"][0]["fields"]
    assert len(fields) == 2 and "**100%**" in fields[0]["value"], fields
    assert live.process.process.poll() is None, live.process.output
    assert serving_version(live) == version


def test_a_same_size_corrupt_vector_file_is_refused_and_the_old_index_answers(
    live: LiveBot, song: bytes, vggish: Embedder
) -> None:
    serving = serving_version(live)
    version = publish_version(live, vggish, "flipped-media")
    vectors = version / VECTORS_FILE
    size = vectors.stat().st_size
    flip_middle_bytes(vectors)
    assert vectors.stat().st_size == size

    text = reload_refused(live)
    assert "vectors.ann" in text and "sha256" in text, text
    assert str(live.work_dir) not in text
    last = status_rows(live)["Last reload"]
    assert last.startswith("refused ") and "/musicrec reload by " in last, last
    assert "still serving the old one" in last and str(live.work_dir) not in last
    assert_old_index_answers(live, song, serving)


def test_damage_older_than_the_checksums_fails_the_probe_and_the_old_index_answers(
    live: LiveBot, song: bytes, vggish: Embedder
) -> None:
    serving = serving_version(live)
    version = publish_version(live, vggish, "probe-media")
    with CatalogIndex.load(live.index_dir) as index:
        dim, last = index.dim, len(index) - 1
    rewrite_stored_vector(version, last, np.full(dim, np.nan))

    text = reload_refused(live)
    assert f"Item {last}" in text and "damaged" in text, text
    assert_old_index_answers(live, song, serving)


def test_the_bot_refuses_to_serve_a_bare_version_folder(
    e2e_catalog: Path, synthetic_vggish: tuple[Path, Path], tmp_path: Path
) -> None:
    with CatalogIndex.load(e2e_catalog) as index:
        version = index.directory
    with FakeDiscord(token=FAKE_TOKEN) as fake:
        env = bot_environment(
            fake,
            index_dir=version,
            checkpoint=synthetic_vggish[0],
            pca=synthetic_vggish[1],
            cache_dir=tmp_path / "cache",
        )
        process = BotProcess(env)
        status = process.wait_exit(timeout=240)
    lines = process.lines
    assert status == 1, lines
    assert lines[-1].startswith(f"musicrec-bot: {version} is a single index version"), lines
    assert f"({e2e_catalog} is one)" in lines[-1]
    assert not any("Traceback" in line for line in lines), lines
    assert not fake.identified_intents  # refused before connecting
