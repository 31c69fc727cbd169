"""Day-two pieces without a gateway: shard settings, the health file, status rows."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.cogs.admin import format_last_reload, format_shards, format_uptime
from bot.health import HealthFile, ShardSummary, shard_summaries, write_report
from bot.settings import load_settings
from musicrec_core.service.catalog_reload import SIGHUP, ReloadOutcome, ReloadResult
from musicrec_core.service.settings import ConfigurationError
from tests.bot.helpers import make_settings

# Settings ------------------------------------------------------------------------------


def test_shard_ids_take_lists_and_ranges_and_default_to_automatic(tmp_path: Path) -> None:
    automatic = make_settings(tmp_path)
    assert (automatic.shard_count, automatic.shard_ids) == (None, ())
    settings = make_settings(tmp_path, shard_count="8", shard_ids=" 5, 0-2 ")
    assert (settings.shard_count, settings.shard_ids) == (8, (0, 1, 2, 5))
    assert make_settings(tmp_path, shard_count="", shard_ids="").shard_count is None


@pytest.mark.parametrize(
    ("count", "ids", "reason"),
    [
        ("", "0", "set MUSICREC_SHARD_COUNT too"),
        ("2", "0,2", "shard ids run from 0 to 1 with 2 shards"),
        ("4", "1,0-1", "a shard id is listed twice"),
        ("4", "one", "write shard ids as numbers or ranges"),
    ],
)
def test_shard_ids_outside_the_count_are_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, count: str, ids: str, reason: str
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "a.b.c")
    monkeypatch.setenv("MUSICREC_INDEX_DIR", "/srv/index")
    monkeypatch.setenv("MUSICREC_SHARD_COUNT", count)
    monkeypatch.setenv("MUSICREC_SHARD_IDS", ids)
    with pytest.raises(ConfigurationError) as caught:
        load_settings(None)
    assert str(caught.value).startswith(f"MUSICREC_SHARD_IDS is invalid ({reason}")


def test_a_shard_count_of_zero_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "a.b.c")
    monkeypatch.setenv("MUSICREC_INDEX_DIR", "/srv/index")
    monkeypatch.setenv("MUSICREC_SHARD_COUNT", "0")
    with pytest.raises(ConfigurationError, match=r"^MUSICREC_SHARD_COUNT is invalid"):
        load_settings(None)


# The health file -----------------------------------------------------------------------


def test_write_report_replaces_the_file_with_a_stamped_report(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    path.write_text("old")
    write_report(path, {"ready": True, "catalog": "0123abcd"})
    report = json.loads(path.read_text())
    assert report["ready"] is True and report["catalog"] == "0123abcd"
    assert {"updated_at", "pid"} <= set(report)
    assert [p.name for p in tmp_path.iterdir()] == ["health.json"]  # no temporary left


def test_the_health_file_is_written_at_start_on_a_timer_and_once_more_at_stop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "run" / "health.json"
    calls: list[int] = []

    def report() -> dict[str, object]:
        calls.append(1)
        return {"ready": len(calls) < 3, "calls": len(calls)}

    async def run() -> None:
        health = HealthFile(path, interval_s=0.01, report=report)
        health.start()
        while len(calls) < 2:
            await asyncio.sleep(0.01)
        await health.stop()
        await health.stop()  # a second stop writes nothing more

    asyncio.run(run())
    final = json.loads(path.read_text())
    assert final["calls"] == len(calls) and final["ready"] is False


def test_an_unwritable_health_file_is_logged_once_and_the_bot_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    health = HealthFile(blocker / "health.json", interval_s=1.0, report=dict)

    async def run() -> None:
        for _ in range(3):
            await health.write()

    with caplog.at_level(logging.WARNING, logger="bot.health"):
        asyncio.run(run())
    assert len([r for r in caplog.records if "health file" in r.getMessage()]) == 1


def shard(latency: float, closed: bool = False) -> SimpleNamespace:
    return SimpleNamespace(latency=latency, is_closed=lambda: closed)


def test_shard_summaries_count_each_shards_servers() -> None:
    client = SimpleNamespace(
        shards={3: shard(0.0421), 1: shard(float("inf")), 5: shard(0.01, closed=True)},
        guilds=[SimpleNamespace(shard_id=s) for s in (1, 3, 3, 5)],
    )
    summaries = shard_summaries(client)  # type: ignore[arg-type]
    assert [(s.shard_id, s.guilds, s.connected) for s in summaries] == [
        (1, 1, True),
        (3, 2, True),
        (5, 1, False),
    ]
    assert summaries[0].latency_ms is None and summaries[1].latency_ms == pytest.approx(42.1)
    assert summaries[1].as_json() == {"id": 3, "latency_ms": 42.1, "guilds": 2, "connected": True}
    assert (
        format_shards(summaries) == "#1: ? ms, 1 server\n#3: 42 ms, 2 servers\n#5: down, 1 server"
    )


def test_format_shards_groups_thousands() -> None:
    assert format_shards([ShardSummary(0, 80.4, 2400, True)]) == "#0: 80 ms, 2,400 servers"


def test_the_last_reload_row_says_how_it_ended_and_when() -> None:
    now = 1_800_000_000.0
    assert format_last_reload(None, now) == "none since start"
    done = ReloadOutcome(ReloadResult.RELOADED, SIGHUP, now - 252, 12_345)
    assert format_last_reload(done, now) == "reloaded 0:04:12 ago, 12,345 items (SIGHUP)"
    refused = ReloadOutcome(ReloadResult.REFUSED, "/musicrec reload by 42", now - 3)
    assert format_last_reload(refused, now) == (
        "refused 0:00:03 ago (/musicrec reload by 42); still serving the old one, the log says why"
    )
    failed = ReloadOutcome(ReloadResult.FAILED, SIGHUP, now + 5)  # a clock set back
    assert format_last_reload(failed, now).startswith("failed 0:00:00 ago (SIGHUP); still serving")


def test_uptime_reads_as_a_clock_with_days() -> None:
    assert format_uptime(252) == "0:04:12"  # was "0:4:12"
    assert format_uptime(3) == "0:00:03"
    assert [format_uptime(4000), format_uptime(93_784)] == ["1:06:40", "1d 2:03:04"]
