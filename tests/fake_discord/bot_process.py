"""Start the real bot (``python -m tests.fake_discord.launch_bot``) against a FakeDiscord.

:class:`BotProcess` builds the environment (token, index, model files, the fake's URLs,
no cooldowns, link replies on, the fake's first server as the one admin server), collects
the process's log lines, waits for "connected as" and stops it with SIGINT (a clean
discord.py shutdown).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.fake_discord.server import FakeDiscord
from tests.helpers.http_server import PROXY_VARIABLES

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "connected as"


def bot_environment(
    fake: FakeDiscord,
    *,
    index_dir: Path,
    checkpoint: Path,
    pca: Path,
    cache_dir: Path,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Environment for a bot process pointed at ``fake`` (no inherited MUSICREC_* values,
    and no proxy settings, so the bot reaches 127.0.0.1 directly)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("MUSICREC_")
        and key not in ("DISCORD_TOKEN", "TF_CPP_MIN_LOG_LEVEL")
        and key not in PROXY_VARIABLES
    }
    env.update(
        {
            "DISCORD_TOKEN": fake.token,
            "MUSICREC_INDEX_DIR": str(index_dir),
            "MUSICREC_VGGISH_CHECKPOINT": str(checkpoint),
            "MUSICREC_VGGISH_PCA": str(pca),
            "MUSICREC_CACHE_DIR": str(cache_dir),
            "MUSICREC_DISCORD_API_URL": fake.api_url,
            "MUSICREC_DISCORD_GATEWAY_URL": fake.gateway_url,
            "MUSICREC_LOG_FILE": "",
            "MUSICREC_OEMBED_URL": "http://127.0.0.1:9/oembed",  # closed port: never YouTube
            "MUSICREC_RECOMMEND_COOLDOWN_S": "0",
            "MUSICREC_ADMIN_COOLDOWN_S": "0",
            "MUSICREC_LINK_COOLDOWN_S": "0",
            "MUSICREC_LINK_REPLIES": "true",
            "MUSICREC_ADMIN_ROLE_ID": fake.admin_role_id,
            "MUSICREC_ADMIN_GUILD_IDS": fake.guild_id,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


class BotProcess:
    """The bot running as a subprocess, with its stderr collected line by line.

    Args:
        env: its environment (see :func:`bot_environment`).
        bot_args: arguments for ``musicrec-bot`` (``--env-file`` is added, pointing nowhere,
            so a developer's ``.env`` never leaks into a test).
        serve_videos: video id -> loopback media URL, for the sources test seam.
        launcher_args: more options for the launcher (its other test seams).
    """

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        bot_args: Sequence[str] = (),
        serve_videos: Mapping[str, str] | None = None,
        launcher_args: Sequence[str] = (),
    ) -> None:
        command = [sys.executable, "-m", "tests.fake_discord.launch_bot", *launcher_args]
        for video_id, url in (serve_videos or {}).items():
            command += ["--serve-video", f"{video_id}={url}"]
        command += ["--", "--env-file", str(REPO_ROOT / "tests" / "no-such.env"), *bot_args]
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, name="bot-log", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        stream = self.process.stdout
        if stream is None:
            return
        for line in stream:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        """Everything the process printed so far."""
        with self._changed:
            return "\n".join(self.lines)

    def wait_for_line(self, text: str, *, timeout: float = 180.0) -> str:
        """The first output line containing ``text``; raises if the process ends first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                if self.process.poll() is not None and not self._reader.is_alive():
                    raise RuntimeError(f"the bot exited before printing {text!r}:\n{self.output}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {text!r} within {timeout} s:\n{self.output}")
                self._changed.wait(min(left, 0.5))

    def wait_ready(self, *, timeout: float = 300.0) -> None:
        """Wait until the bot reports it is connected."""
        self.wait_for_line(READY_LINE, timeout=timeout)

    def wait_exit(self, *, timeout: float = 300.0) -> int:
        """Wait for the process to end; returns its exit status."""
        status = self.process.wait(timeout)
        self._reader.join(10)
        return status

    def send_signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def stop(self) -> int:
        """Stop the bot cleanly (SIGINT), killing it if it does not end in 30 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                return self.wait_exit(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.wait_exit(timeout=30)
