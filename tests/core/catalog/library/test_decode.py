"""Decoding a track's windows: the default fetcher, yt-dlp, on a local server."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicrec_core.audio import load_clip
from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.catalog.library import build_library
from musicrec_core.catalog.pooling import DEFAULT_POOLING, pool
from musicrec_core.sources.youtube import canonical_url
from musicrec_core.sources.ytdlp_fetch import _serve_test_video
from tests.helpers.band_embedder import BandEnergyEmbedder
from tests.helpers.http_server import LocalHTTPServer
from tests.helpers.media import generate_media


def test_link_list_through_yt_dlp_from_a_local_server(
    http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    """The default fetcher (yt-dlp in its child process) on a video served on 127.0.0.1.

    yt-dlp's generic extractor reports no duration for a bare media file, so the plan is
    the documented one for an unknown length: a single window (the source's default one).
    """
    video_id = "LocalVideo1"
    media = generate_media(tmp_path / "video.ogg", seconds=31, tone_hz=660)
    url = http_server.add("/video.ogg", media.read_bytes(), content_type="audio/ogg")
    links = tmp_path / "links.list"
    links.write_text(f"https://www.youtube.com/watch?v={video_id}\n")
    embedder = BandEnergyEmbedder()
    with _serve_test_video(video_id, url):
        report = build_library([str(links)], tmp_path / "index", embedder, windows=2)
    assert (report.tracks, report.windows, report.skipped, embedder.clips) == (1, 1, (), 2)
    with CatalogIndex.load(tmp_path / "index") as index:
        meta, view = index.metas(range(len(index)))  # the window and its phone view
        assert meta == view
        vector = index.vector(0)
    assert (meta.group, meta.kind, meta.source) == (video_id, "youtube", canonical_url(video_id))
    assert 0.0 <= meta.start_s <= 21.0
    assert meta.end_s == pytest.approx(meta.start_s + 10.0, abs=0.05)
    local = pool(embedder.embed(load_clip(media, start_s=meta.start_s)).vectors, DEFAULT_POOLING)
    cosine = float(vector @ local / np.linalg.norm(vector) / np.linalg.norm(local))
    assert cosine > 0.99  # the fetched window is that audio
