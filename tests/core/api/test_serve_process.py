"""``musicrec serve`` as the process an operator runs: the real CLI in a subprocess serving
the session's API world's catalog (tests/helpers/api_world.py) beside the in-process
server, on a port it picks itself; SIGHUP reloads the catalog while it serves, SIGTERM
ends it cleanly with its workers; a bad setting is one line and exit 1."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.api_server import RunningApi
from tests.helpers.api_world import ApiWorld
from tests.helpers.shared_data import needs_audioset_metadata

pytestmark = [pytest.mark.slow, needs_audioset_metadata]

START_WAIT_S = 180.0
"""Generous: TensorFlow and the model load on a machine the whole suite shares."""
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


class LogLines:
    """A process's stderr read line by line in a thread, so a test can wait for one."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: re.Pattern[str], timeout_s: float) -> re.Match[str]:
        """The first new line matching ``pattern``; fails on end of output or timeout."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if found := pattern.search(line):
                return found
        raise AssertionError(f"no line like {pattern.pattern!r}; the log:\n" + self.text)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def children_of(pid: int) -> set[int]:
    """The live processes whose parent is ``pid`` (from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def serve_env(api_world: ApiWorld) -> dict[str, str]:
    return {**os.environ, **api_world.process_env()}


@pytest.fixture
def server(serve_env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], LogLines]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "musicrec_core.cli", "serve", "--port", "0"],
        env=serve_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process, LogLines(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def test_serve_says_where_it_listens_reloads_on_sighup_and_ends_cleanly_on_sigterm(
    api_world: ApiWorld, server: tuple[subprocess.Popen[str], LogLines]
) -> None:
    process, log = server
    port = int(log.wait_for(LISTENING, START_WAIT_S).group(1))
    status, _, health = RunningApi.request_port(port, "GET", "/healthz")
    assert status == 200 and health["ready"] is True, health
    key = {"Authorization": f"Bearer {api_world.key}"}
    status, _, answer = RunningApi.request_port(
        port, "GET", "/v1/similar?seed=tone0440ccc&n=2", headers=key
    )
    assert status == 200 and len(answer["items"]) == 2, answer
    workers = children_of(process.pid)
    assert workers  # the yt-dlp worker started ahead, at least
    process.send_signal(signal.SIGHUP)
    log.wait_for(re.compile(r"reloaded the catalog: \d+ items .*asked by SIGHUP"), 60)
    status, _, again = RunningApi.request_port(
        port, "GET", "/v1/similar?seed=tone0440ccc&n=2", headers=key
    )
    assert status == 200 and again["items"] == answer["items"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0, log.text
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if alive(pid)], "workers outlived the server"
    assert "Traceback" not in log.text


def test_a_bad_setting_is_one_line_and_exit_1(serve_env: dict[str, str]) -> None:
    name, value = "MUSICREC_API_PORT", "abc"
    finished = subprocess.run(
        [sys.executable, "-m", "musicrec_core.cli", "serve"],
        env={**serve_env, name: value},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 1 and finished.stdout == ""
    assert finished.stderr.startswith(f"musicrec: {name} is invalid")
    assert finished.stderr.count("\n") == 1


def test_no_index_where_the_setting_points_is_named_in_one_line_not_a_traceback(
    serve_env: dict[str, str], tmp_path: Path
) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "musicrec_core.cli", "serve", "--port", "0"],
        env={**serve_env, "MUSICREC_INDEX_DIR": str(tmp_path / "nothing")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 1 and finished.stdout == ""
    assert finished.stderr.startswith("musicrec: No index at "), finished.stderr
    assert finished.stderr.count("\n") == 1, finished.stderr  # before the server starts
