"""Fixtures that choose the decoder behind ``load_clip``: the worker pool or the ffmpeg
programs (:func:`musicrec_core.audio.decode_workers.set_default_workers`).

- ``ffmpeg_path``: this test decodes with ffprobe/ffmpeg processes (tests about those
  processes: their priorities, arguments, fake programs).
- ``decode_path``: parametrised, the test runs once on each path.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from musicrec_core.audio.decode_workers import default_workers, set_default_workers


@pytest.fixture
def ffmpeg_path() -> Iterator[None]:
    """Decode with the ffmpeg programs for this test; workers again after it."""
    set_default_workers(False)
    try:
        yield
    finally:
        set_default_workers(True)


@pytest.fixture(params=["workers", "ffmpeg"])
def decode_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with the decode workers, then with the ffmpeg programs."""
    set_default_workers(request.param == "workers")
    if request.param == "workers" and default_workers() is None:
        pytest.skip("PyAV or soxr is not installed: no decode workers")
    try:
        yield request.param
    finally:
        set_default_workers(True)
