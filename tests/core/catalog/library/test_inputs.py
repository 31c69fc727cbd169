"""Inputs: paths that are neither files nor links, and lists of YouTube links.

Videos are served from generated local media through the fetcher seam build_library
offers; the embedder is the band-energy test embedder (with "tags").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from musicrec_core.audio import load_clip
from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.catalog.library import build_library, plan_windows
from musicrec_core.clip import Clip, Provenance
from musicrec_core.errors import CatalogError
from musicrec_core.recommender import Recommender
from musicrec_core.sources.youtube import YouTubeLink
from tests.core.catalog.library.folder import WINDOWS
from tests.helpers.band_embedder import BandEnergyEmbedder
from tests.helpers.media import generate_media


def test_an_input_that_is_neither_path_nor_link_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="neither an existing file or folder"):
        build_library([str(tmp_path / "missing")], tmp_path / "index", BandEnergyEmbedder())
    assert not (tmp_path / "index").exists()


VIDEOS = {"AAAAAAAAAAA": 440.0, "BBBBBBBBBBB": 2500.0}


class LocalVideos:
    """Serves YouTube windows from generated local media (no network in tests).

    Stands in for the yt-dlp fetcher at the seam build_library offers; each call decodes
    the requested window of the video's local file with the real decoder and labels it
    the way the YouTube source does (kind "youtube", ref = video id, the video's title).
    """

    def __init__(self, folder: Path) -> None:
        self.files = {
            video_id: generate_media(folder / f"{video_id}.m4a", seconds=31, tone_hz=hz)
            for video_id, hz in VIDEOS.items()
        }
        self.calls: list[tuple[str, float | None]] = []

    def __call__(self, link: YouTubeLink, start_s: float | None) -> Clip:
        self.calls.append((link.video_id, start_s))
        return load_clip(
            self.files[link.video_id],
            start_s=start_s,
            kind="youtube",
            ref=link.video_id,
            title=f"Video {link.video_id[0]}",
        )


def test_link_lists(tmp_path: Path) -> None:
    videos = LocalVideos(tmp_path)
    links = tmp_path / "links.txt"
    links.write_text(
        "# my favourites\n"
        "\n"
        "https://www.youtube.com/watch?v=AAAAAAAAAAA  # the first\n"
        "https://example.com/watch?v=AAAAAAAAAAA\n"
        "https://youtu.be/BBBBBBBBBBB?t=20\n"
        "https://youtu.be/AAAAAAAAAAA\n"
    )
    embedder = BandEnergyEmbedder(tags=True)
    report = build_library(
        [str(links)], tmp_path / "index", embedder, windows=WINDOWS, fetch_clip=videos
    )
    assert (report.tracks, report.windows, report.duplicates) == (2, 6, 1)
    (skipped,) = report.skipped
    assert skipped.source == f"{links}:4" and "YouTube" in skipped.reason
    # Per video: the default window first, then the two other planned windows.
    assert len(videos.calls) == 6 and videos.calls[0] == ("AAAAAAAAAAA", None)

    with CatalogIndex.load(tmp_path / "index") as index:
        metas = index.metas(range(len(index)))
        a_items = [m for m in metas if m.group == "AAAAAAAAAAA"]
        assert {m.kind for m in a_items} == {"youtube"}
        assert {m.title for m in a_items} == {"Video A"}
        assert {m.source for m in a_items} == {"https://www.youtube.com/watch?v=AAAAAAAAAAA"}
        # The planned windows, one of them replaced by the source's default window.
        plan = plan_windows(31.0, WINDOWS)
        on_plan = [m for m in a_items if min(abs(m.start_s - p) for p in plan) < 0.05]
        assert len(a_items) == 2 * 3 and len(on_plan) >= 2 * 2  # with their phone views
        recommender = Recommender(index, embedder)
        as_file = Clip(load_clip(videos.files["AAAAAAAAAAA"]).samples)
        best = recommender.recommend(as_file, k=1).items[0]
        assert best.group == "AAAAAAAAAAA"
        assert best.url == f"https://www.youtube.com/watch?v=AAAAAAAAAAA&t={int(best.start_s)}s"
        # Querying with the video itself leaves it out.
        as_video = Clip(as_file.samples, Provenance(kind="youtube", ref="AAAAAAAAAAA"))
        groups = [r.group for r in recommender.recommend(as_video, k=2).items]
        assert groups == ["BBBBBBBBBBB"]

    # Rebuilding fetches nothing: the video ids are the cache keys.
    videos.calls.clear()
    again = build_library(
        [str(links)], tmp_path / "index", embedder, windows=WINDOWS, fetch_clip=videos
    )
    assert (again.reused, videos.calls) == (2, [])
