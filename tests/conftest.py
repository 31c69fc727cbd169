"""Fixtures shared by the whole suite.

- Every test gets its own model/data cache (``MUSICREC_CACHE_DIR``), so nothing reads or
  writes the user's real cache, and YouTube title lookups go to a closed loopback port
  (``MUSICREC_OEMBED_URL``), never to YouTube.
- Every test checks that it left no ``musicrec-*`` entry in the temp directory: all
  temporary files and folders the library makes carry that prefix.
- The session gets a private temp directory (``TMPDIR``, inherited by subprocesses such as
  ffmpeg, yt-dlp and the bot), so that check sees only this run's files even when other
  runs share the machine.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.helpers.media",
    "tests.helpers.http_server",
    "tests.helpers.vggish_files",
    "tests.helpers.decode_paths",
    "tests.helpers.api_world",
]

TEMP_PREFIX = "musicrec-"

_SESSION_TMPDIR_KEY = "_musicrec_session_tmpdir"


def pytest_configure(config: pytest.Config) -> None:
    """Give this test session its own temp directory before anything uses tempfile."""
    private = tempfile.mkdtemp(prefix="pytest-session-")
    setattr(config, _SESSION_TMPDIR_KEY, private)
    os.environ["TMPDIR"] = private
    tempfile.tempdir = None  # make tempfile re-read TMPDIR


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's private temp directory."""
    private = getattr(config, _SESSION_TMPDIR_KEY, None)
    if private:
        shutil.rmtree(private, ignore_errors=True)


def _ours_in_tempdir() -> set[str]:
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith(TEMP_PREFIX)}


@pytest.fixture(autouse=True)
def isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point the model/data cache at a fresh directory for this test."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("MUSICREC_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(autouse=True)
def no_title_lookups_leave_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point YouTube title lookups at a closed loopback port (they fail at once, results stay
    untitled); tests of titles point MUSICREC_OEMBED_URL at their own stand-in."""
    monkeypatch.setenv("MUSICREC_OEMBED_URL", "http://127.0.0.1:9/oembed")


@pytest.fixture(autouse=True)
def no_leaked_temp_files() -> Iterator[None]:
    """Fail the test if it leaves a musicrec temporary file or folder behind."""
    before = _ours_in_tempdir()
    yield
    leaked = _ours_in_tempdir() - before
    assert not leaked, f"temporary files left behind: {sorted(leaked)}"
