"""Fixtures the CLI tests share: three generated songs and their library index (synthetic
VGGish), built once for the package (``recommend``, ``mix`` and ``path`` all read it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from musicrec_core.catalog.library import build_library
from musicrec_core.embedders.vggish import VGGishEmbedder
from tests.helpers.music import generate_music

SONGS = {
    "c-major.wav": {"notes_hz": (262.0, 330.0, 392.0), "pulse_hz": 2.0},
    "low-drone.flac": {"notes_hz": (55.0, 82.5), "noise": 0.02},
    "busy-noise.mp3": {"notes_hz": (1760.0,), "pulse_hz": 8.0, "noise": 0.3},
}


@pytest.fixture(scope="package")
def music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("music")
    for name, recipe in SONGS.items():
        generate_music(folder / name, seconds=21, **recipe)
    return folder


@pytest.fixture(scope="package")
def vggish_library(
    music: Path,
    synthetic_vggish: tuple[Path, Path],
    shared_vggish_cache_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """A library index of the three songs, two windows each, built with synthetic VGGish."""
    work = tmp_path_factory.mktemp("vggish-library")
    with pytest.MonkeyPatch.context() as patch:  # caches go to temporary folders only
        patch.setenv("MUSICREC_CACHE_DIR", str(shared_vggish_cache_dir))
        embedder = VGGishEmbedder.from_files(*synthetic_vggish)
        build_library([str(music)], work / "index", embedder, windows=2, cache_root=work / "cache")
    return work / "index"
