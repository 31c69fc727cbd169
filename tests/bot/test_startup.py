"""Start-up of the real ``python -m bot``: one-line refusals, and command sync on demand."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.__main__ import INTENT_REFUSED, TOKEN_REFUSED
from tests.bot.conftest import FAKE_TOKEN
from tests.fake_discord.bot_process import REPO_ROOT, BotProcess, bot_environment
from tests.fake_discord.server import FakeDiscord

pytestmark = pytest.mark.slow

Weights = tuple[Path, Path]


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord(token=FAKE_TOKEN, allow_message_content=False) as server:
        yield server


def environment(
    fake: FakeDiscord, e2e_catalog: Path, vggish: tuple[Path, Path], tmp_path: Path, **extra: str
) -> dict[str, str]:
    return bot_environment(
        fake,
        index_dir=e2e_catalog,
        checkpoint=vggish[0],
        pca=vggish[1],
        cache_dir=tmp_path / "cache",
        extra=extra,
    )


def run_to_exit(env: dict[str, str], *args: str) -> tuple[int, list[str]]:
    process = BotProcess(env, bot_args=args)
    status = process.wait_exit(timeout=240)
    return status, process.lines


def assert_one_line_ending(lines: list[str], expected: str) -> None:
    assert lines[-1] == f"musicrec-bot: {expected}", "\n".join(lines)
    assert not any("Traceback" in line for line in lines), "\n".join(lines)


def test_no_token_stops_before_anything_else(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    env["MUSICREC_INDEX_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--env-file", str(tmp_path / "none.env")],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "musicrec-bot: DISCORD_TOKEN is not set: copy the bot token from the Discord "
        "Developer Portal (Bot -> Reset Token) and put it in .env or the environment."
    ]


def test_a_refused_token(
    fake: FakeDiscord, e2e_catalog: Path, synthetic_vggish: Weights, tmp_path: Path
) -> None:
    env = environment(fake, e2e_catalog, synthetic_vggish, tmp_path, DISCORD_TOKEN="not.the.one")
    status, lines = run_to_exit(env)
    assert status == 1
    assert_one_line_ending(lines, TOKEN_REFUSED)
    assert not any("not.the.one" in line for line in lines)


def test_a_missing_index(fake: FakeDiscord, synthetic_vggish: Weights, tmp_path: Path) -> None:
    env = environment(fake, tmp_path / "no-index", synthetic_vggish, tmp_path)
    status, lines = run_to_exit(env)
    assert status == 1
    assert lines[-1].startswith("musicrec-bot: ") and "no-index" in lines[-1], lines
    assert not any("Traceback" in line for line in lines)


def test_missing_weights(
    fake: FakeDiscord, e2e_catalog: Path, synthetic_vggish: Weights, tmp_path: Path
) -> None:
    missing = (tmp_path / "absent.ckpt", synthetic_vggish[1])
    env = environment(fake, e2e_catalog, missing, tmp_path)
    status, lines = run_to_exit(env)
    assert status == 1
    assert lines[-1].startswith("musicrec-bot: ") and "absent.ckpt" in lines[-1], lines
    assert not any("Traceback" in line for line in lines)


def test_a_refused_message_content_intent(
    fake: FakeDiscord, e2e_catalog: Path, synthetic_vggish: Weights, tmp_path: Path
) -> None:
    env = environment(fake, e2e_catalog, synthetic_vggish, tmp_path)
    status, lines = run_to_exit(env)
    assert status == 1
    assert_one_line_ending(lines, INTENT_REFUSED)
    assert fake.identified_intents and fake.identified_intents[0] & (1 << 15)


def test_sync_publishes_the_commands_to_one_guild_and_exits(
    fake: FakeDiscord, e2e_catalog: Path, synthetic_vggish: Weights, tmp_path: Path
) -> None:
    env = environment(fake, e2e_catalog, synthetic_vggish, tmp_path)
    status, lines = run_to_exit(env, "--sync", "--guild", fake.guild_id)
    assert status == 0, lines
    assert lines[-1] == f"musicrec-bot: synced 6 commands to server {fake.guild_id}."
    (sync,) = [r for r in fake.records if r.kind == "command_sync"]
    assert sync.method == "PUT"
    assert sync.path == f"/applications/{fake.application_id}/guilds/{fake.guild_id}/commands"
    assert sorted((c["name"], c.get("type", 1)) for c in sync.body) == [
        ("Find similar music", 3),
        ("discover", 1),
        ("mix", 1),
        ("musicrec", 1),
        ("path", 1),
        ("recommend", 1),
    ]
    assert not fake.identified_intents  # syncing never connects to the gateway
