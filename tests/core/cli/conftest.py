"""Fixtures the CLI tests share: three generated songs and their library index (synthetic
VGGish), built once for the package (``recommend``, ``mix`` and ``path`` all read it), and
an index of YouTube videos for the title lookups."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.catalog.index import IndexBuilder, ItemMeta
from musicrec_core.catalog.library import build_library
from musicrec_core.catalog.pooling import DEFAULT_POOLING, pooled_dim
from musicrec_core.embedders.vggish import VGGishEmbedder
from musicrec_core.titles.cache import CACHE_FILE
from tests.helpers.music import generate_music
from tests.helpers.oembed import video as oembed_video

TITLED_VIDEOS = 6

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


@pytest.fixture
def titled_catalog(
    synthetic_vggish: tuple[Path, Path], shared_vggish_cache: Path, tmp_path: Path
) -> Iterator[Path]:
    """An index of TITLED_VIDEOS YouTube videos for the synthetic VGGish weights; the title
    cache it fills (in the session's shared cache root) is removed afterwards."""
    identity = VGGishEmbedder.from_files(*synthetic_vggish).id
    dim = pooled_dim(identity.dim, DEFAULT_POOLING)
    vectors = np.random.default_rng(1).standard_normal((TITLED_VIDEOS, dim)).astype(np.float32)
    with IndexBuilder(tmp_path / "index", embedder=identity, pooling=DEFAULT_POOLING) as builder:
        for n, vector in enumerate(vectors):
            builder.add(vector, ItemMeta(oembed_video(n), 30.0, 40.0, ("Music",)))
        builder.commit()
    yield tmp_path / "index"
    for path in shared_vggish_cache.glob(CACHE_FILE + "*"):
        path.unlink()
