"""End to end: two real bot processes share one bot as shards 0 and 1 of 2.

The fake Discord has four servers, two on each shard (Discord's rule ``(guild_id >> 22) %
2``). Each process maps the same index folder, answers only its own servers' events (the
health file each one writes counts the clips it embedded), and one SIGHUP per process
reaches both: each reloads the newly published catalog version.
"""

from __future__ import annotations

import json
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.embedders.base import Embedder
from tests.bot.conftest import FAKE_TOKEN
from tests.fake_discord.bot_process import BotProcess, bot_environment
from tests.fake_discord.markdown import field_rows
from tests.fake_discord.server import FakeDiscord
from tests.fake_discord.world import build_catalog

pytestmark = pytest.mark.slow

SHARDS = 2


@dataclass
class Sharded:
    fake: FakeDiscord
    processes: list[BotProcess]
    health_files: list[Path]
    index_dir: Path
    work_dir: Path


@pytest.fixture(scope="module")
def sharded(
    e2e_catalog: Path, synthetic_vggish: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sharded]:
    work = tmp_path_factory.mktemp("sharded")
    index_dir = work / "index"
    shutil.copytree(e2e_catalog, index_dir)
    fake = FakeDiscord(token=FAKE_TOKEN, guild_shards=SHARDS, extra_guilds=2).start()
    processes, health_files = [], []
    for shard in range(SHARDS):
        health = work / f"run-{shard}" / "health.json"
        env = bot_environment(
            fake,
            index_dir=index_dir,
            checkpoint=synthetic_vggish[0],
            pca=synthetic_vggish[1],
            cache_dir=work / f"cache-{shard}",
            extra={
                "MUSICREC_SHARD_COUNT": str(SHARDS),
                "MUSICREC_SHARD_IDS": str(shard),
                "MUSICREC_HEALTH_FILE": str(health),
                "MUSICREC_HEALTH_INTERVAL_S": "0.2",
                "MUSICREC_LOG_FORMAT": "json" if shard else "text",
            },
        )
        processes.append(BotProcess(env))
        health_files.append(health)
    try:
        for process in processes:
            process.wait_ready()
        yield Sharded(fake, processes, health_files, index_dir, work)
    finally:
        for process in processes:
            process.stop()
        fake.stop()


@pytest.fixture(autouse=True)
def no_broken_rules(sharded: Sharded) -> Iterator[None]:
    before = len(sharded.fake.violations)
    yield
    assert sharded.fake.violations[before:] == []


def health(sharded: Sharded, shard: int) -> dict[str, Any]:
    return json.loads(sharded.health_files[shard].read_text())


def wait_health(
    sharded: Sharded, shard: int, predicate: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The first health report of ``shard``'s process that satisfies ``predicate``."""
    deadline = time.monotonic() + 60
    while True:
        report = health(sharded, shard)
        if predicate(report):
            return report
        if time.monotonic() > deadline:
            raise TimeoutError(f"health of process {shard}: {report}")
        time.sleep(0.1)


def guild_on(sharded: Sharded, shard: int) -> str:
    return next(g["id"] for g in sharded.fake.guilds if sharded.fake.shard_of(g["id"]) == shard)


def status_rows(sharded: Sharded, guild: str) -> dict[str, str]:
    reply = sharded.fake.wait_reply(
        sharded.fake.slash_command("musicrec status", who="owner", guild=guild)
    )
    return field_rows(reply["payload"]["embeds"][0])


def test_both_processes_are_ready_each_with_its_own_shard(sharded: Sharded) -> None:
    assert sorted(sharded.fake.identified_shards) == [(0, 2), (1, 2)]
    with CatalogIndex.load(sharded.index_dir) as index:
        fingerprint = index.fingerprint
    for shard in range(SHARDS):
        report = wait_health(sharded, shard, lambda r: r["ready"])
        assert report["shard_ids"] == [shard] and report["shard_count"] == SHARDS
        assert report["guilds"] == 2 and report["shards"][0]["guilds"] == 2
        assert report["catalog"] == fingerprint and report["clips_embedded"] == 0
    json_line = sharded.processes[1].wait_for_line("connected as")
    assert json.loads(json_line)["message"].endswith("to 2 servers on shard 1 of 2")


def test_each_process_answers_only_its_own_servers(sharded: Sharded, song: bytes) -> None:
    fake = sharded.fake
    for shard in range(SHARDS):
        before = [health(sharded, s)["clips_embedded"] for s in range(SHARDS)]
        attachment = fake.add_attachment(song, "concert-a.mp3", "audio/mpeg")
        values = [{"name": "file", "type": 11, "value": attachment["id"]}]
        interaction = fake.slash_command(
            "recommend", values, attachments=[attachment], guild=guild_on(sharded, shard)
        )
        reply = fake.wait_reply(interaction)
        assert "**100%**" in reply["payload"]["embeds"][0]["fields"][0]["value"]
        assert fake.dispatched_to[interaction] == shard
        wait_health(sharded, shard, lambda r, b=before[shard]: r["clips_embedded"] == b + 1)
        other = 1 - shard
        assert health(sharded, other)["clips_embedded"] == before[other]

    rows = status_rows(sharded, guild_on(sharded, 1))
    assert rows["Process"] == "shard 1 of 2, 2 servers"
    assert rows["Shards"].startswith("#1: ") and rows["Shards"].endswith(", 2 servers")


def test_one_sighup_per_process_reloads_the_new_catalog_in_both(
    sharded: Sharded, vggish: Embedder
) -> None:
    build_catalog(sharded.index_dir, sharded.work_dir / "media-v2", vggish, videos=2)
    with CatalogIndex.load(sharded.index_dir) as index:
        fingerprint, version = index.fingerprint, index.directory.name
    for process in sharded.processes:
        process.send_signal(signal.SIGHUP)
    for shard, process in enumerate(sharded.processes):
        process.wait_for_line("reloaded the catalog: 2 items")
        wait_health(sharded, shard, lambda r: r["catalog"] == fingerprint and r["ready"])
        rows = status_rows(sharded, guild_on(sharded, shard))
        assert rows["Index version"] == version and rows["Catalog id"] == fingerprint
