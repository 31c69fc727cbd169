"""Fixtures of the library tests: the generated music folder, built once per package."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.media import generate_media


@pytest.fixture(scope="package")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of music with the usual clutter.

    Tracks: low.wav (25 s, 2 windows), nested/deeper/mid.mp3 (35 s, 3 windows, with
    title/artist/album tags), nested/noise.flac (12 s, 1 window, artist tag only),
    short.ogg (4 s, 1 window).
    Clutter: a copy of low.wav, a corrupt .mp3, a text file with an unknown suffix, cover
    art, a hidden file.
    """
    root = tmp_path_factory.mktemp("library") / "music"
    (root / "nested" / "deeper").mkdir(parents=True)
    generate_media(root / "low.wav", seconds=25, tone_hz=220)
    generate_media(
        root / "nested" / "deeper" / "mid.mp3",
        seconds=35,
        tone_hz=880,
        codec_args=(
            *("-metadata", "title=Blue Hour", "-metadata", "artist=The Tones"),
            *("-metadata", "album=Night Drives"),
        ),
    )
    generate_media(
        root / "nested" / "noise.flac",
        seconds=12,
        tone_hz=None,
        codec_args=("-metadata", "artist=The Tones"),
    )
    generate_media(root / "short.ogg", seconds=4, tone_hz=3000)
    shutil.copy(root / "low.wav", root / "nested" / "low-copy.wav")
    (root / "broken.mp3").write_bytes(np.random.default_rng(0).bytes(20_000))
    (root / "readme.data").write_text("not music at all\n")
    (root / "cover.jpg").write_bytes(b"\xff\xd8\xff\xe0 pretend jpeg")
    generate_media(root / ".hidden.wav", seconds=3, tone_hz=500)
    return root
