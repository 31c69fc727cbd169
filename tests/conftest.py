"""Fixtures shared by the whole suite.

- Every test gets its own model/data cache (``MUSICREC_CACHE_DIR``), so nothing reads or
  writes the user's real cache.
- Every test checks that it left no ``musicrec-*`` entry in the temp directory: all
  temporary files and folders the library makes carry that prefix.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.helpers.media", "tests.helpers.http_server", "tests.helpers.vggish_files"]

TEMP_PREFIX = "musicrec-"


def _ours_in_tempdir() -> set[str]:
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith(TEMP_PREFIX)}


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the model/data cache at a fresh directory for this test."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("MUSICREC_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(autouse=True)
def no_leaked_temp_files() -> Iterator[None]:
    """Fail the test if it leaves a musicrec temporary file or folder behind."""
    before = _ours_in_tempdir()
    yield
    leaked = _ours_in_tempdir() - before
    assert not leaked, f"temporary files left behind: {sorted(leaked)}"
