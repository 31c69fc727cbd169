"""The embedding cache: a rebuild embeds only what changed; a bad entry is recomputed.

The band-energy test embedder counts the clips it embeds, so the tests can prove what the
cache saved.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.catalog.library import build_library, track_key
from tests.core.catalog.library.folder import WINDOWS
from tests.helpers.band_embedder import BandEnergyEmbedder
from tests.helpers.media import generate_media


def test_rebuild_reuses_the_cache_and_embeds_only_changed_files(
    library: Path, tmp_path: Path
) -> None:
    work = tmp_path / "music"
    shutil.copytree(library, work)
    first = BandEnergyEmbedder(tags=True)
    build_library([str(work)], tmp_path / "index", first, windows=WINDOWS)
    with CatalogIndex.load(tmp_path / "index") as index:
        before = np.stack([index.vector(i) for i in range(len(index))])

    again = BandEnergyEmbedder(tags=True)
    report = build_library([str(work)], tmp_path / "index", again, windows=WINDOWS)
    assert (report.embedded, report.reused, again.clips) == (0, 4, 0)
    with CatalogIndex.load(tmp_path / "index") as index:
        after = np.stack([index.vector(i) for i in range(len(index))])
        metas = index.metas(range(len(index)))
    np.testing.assert_array_equal(before, after)
    assert {m.title for m in metas} >= {"The Tones - Blue Hour", "low"}

    # Change one track's sound, add one: only those are decoded and embedded.
    generate_media(work / "nested" / "noise.flac", seconds=12, tone_hz=1500)
    generate_media(work / "new.wav", seconds=22, tone_hz=330)
    changed = BandEnergyEmbedder(tags=True)
    report = build_library([str(work)], tmp_path / "index", changed, windows=WINDOWS)
    assert (report.embedded, report.reused, report.tracks) == (2, 3, 5)
    # noise.flac: 1 window, new.wav: 2 windows, each with its phone view
    assert changed.clips == 2 * (1 + 2)

    # A different window count is a different plan: nothing is reused.
    other_plan = BandEnergyEmbedder(tags=True)
    report = build_library([str(work)], tmp_path / "index", other_plan, windows=1)
    assert report.reused == 0 and other_plan.clips == 2 * report.tracks == 10


def test_an_unreadable_cache_entry_is_recomputed(
    library: Path, tmp_path: Path, isolated_cache: Path
) -> None:
    low = library / "low.wav"
    build_library([str(low)], tmp_path / "index", BandEnergyEmbedder(), windows=WINDOWS)
    (entry,) = (isolated_cache / "embeddings").rglob(f"{track_key(low)}.npz")
    entry.write_bytes(b"garbage")
    embedder = BandEnergyEmbedder()
    report = build_library([str(low)], tmp_path / "index", embedder, windows=WINDOWS)
    assert (report.embedded, report.reused, embedder.clips) == (1, 0, 2 * 2)
    assert build_library([str(low)], tmp_path / "index", embedder, windows=WINDOWS).reused == 1
