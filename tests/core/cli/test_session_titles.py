"""``musicrec mix`` and ``musicrec path`` on YouTube items: titles and channels from the
title lookup (the suite's local oEmbed stand-in), gone videos replaced, channels as owners,
``--no-titles``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from musicrec_core.catalog.index import CatalogIndex, IndexBuilder, ItemMeta
from musicrec_core.catalog.library import track_key
from musicrec_core.cli import main
from musicrec_core.titles.cache import CACHE_FILE, TitleCache
from musicrec_core.titles.oembed import VideoAnswer
from tests.core.cli.conftest import TITLED_VIDEOS
from tests.helpers.oembed import PATH, OEmbedStandIn
from tests.helpers.oembed import video as oembed_video


def run(capsys, synthetic_vggish, *args: str) -> tuple[int, str, str]:
    weights = ["--checkpoint", str(synthetic_vggish[0]), "--pca", str(synthetic_vggish[1])]
    status = main([*args, *weights])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def stand_in(http_server, monkeypatch: pytest.MonkeyPatch) -> OEmbedStandIn:
    stand_in = OEmbedStandIn(http_server)
    for n in range(TITLED_VIDEOS):
        stand_in.found(oembed_video(n), f"Song {n}", channel=f"Band {n}")
    monkeypatch.setenv("MUSICREC_OEMBED_URL", stand_in.endpoint)
    return stand_in


def test_a_mix_shows_titles_and_replaces_a_gone_video(
    capsys, synthetic_vggish, music: Path, titled_catalog: Path, stand_in
) -> None:
    ask = ["mix", str(music / "c-major.wav"), "-n", "3", "--index", str(titled_catalog)]
    status, out, _ = run(capsys, synthetic_vggish, *ask, "--json")
    assert status == 0
    items = json.loads(out)["items"]
    assert [item["title"] for item in items] == [f"Song {item['group'][-1]}" for item in items]
    assert [item["channel"] for item in items] == [f"Band {item['group'][-1]}" for item in items]
    second = items[1]["group"]

    with TitleCache() as cache:  # what an earlier lookup or `musicrec index enrich` learnt
        cache.put(VideoAnswer(second, "gone"))
    status, out, _ = run(capsys, synthetic_vggish, *ask, "--json")
    document = json.loads(out)
    groups = [item["group"] for item in document["items"]]
    assert len(groups) == 3 and second not in groups and document["shortfall"] is None
    assert groups[0] == items[0]["group"]  # the walk before the gone one is the same

    status, out, _ = run(capsys, synthetic_vggish, *ask)
    header, first = out.splitlines()[0].split(), out.splitlines()[1]
    assert header == ["#", "to", "prev", "to", "seeds", "title", "channel", "link"]
    assert "Song" in first and "Band" in first

    with TitleCache() as cache:  # every video of one channel: at most one of 3 (a third)
        for n in range(TITLED_VIDEOS):
            cache.put(VideoAnswer(oembed_video(n), "found", f"Song {n}", "One Channel"))
    status, out, _ = run(capsys, synthetic_vggish, *ask, "--json")
    document = json.loads(out)
    assert [item["channel"] for item in document["items"]] == ["One Channel"]
    assert document["shortfall"].startswith("Only 1 of the 3")  # the walk knew: none dropped
    status, out, _ = run(capsys, synthetic_vggish, *ask, "--json", "--no-variety")
    assert len(json.loads(out)["items"]) == 3


@pytest.fixture
def between_catalog(
    music: Path, vggish_library: Path, shared_vggish_cache: Path, tmp_path: Path
) -> Iterator[Path]:
    """YouTube videos at points between c-major's and busy-noise's sound (their vectors in
    the library index): somewhere for a path between the two to go."""
    with CatalogIndex.load(vggish_library) as library:
        by_track = {library.meta(i).group: library.vector(i) for i in range(len(library))}
        a, b = (
            by_track[track_key(music / "c-major.wav")],
            by_track[track_key(music / "busy-noise.mp3")],
        )
        identity, pooling = library.embedder, library.pooling
    with IndexBuilder(tmp_path / "between", embedder=identity, pooling=pooling) as builder:
        for n, share in enumerate((0.2, 0.4, 0.6, 0.8)):
            builder.add((1 - share) * a + share * b, ItemMeta(oembed_video(n), 0.0, 10.0, ()))
        builder.commit()
    yield tmp_path / "between"
    for path in shared_vggish_cache.glob(CACHE_FILE + "*"):
        path.unlink()


def test_a_path_shows_titles_and_no_titles_asks_nothing(
    capsys, synthetic_vggish, music: Path, between_catalog: Path, stand_in, http_server
) -> None:
    ends = [str(music / "c-major.wav"), str(music / "busy-noise.mp3")]
    ask = ["path", *ends, "-n", "2", "--index", str(between_catalog), "--json"]
    status, out, _ = run(capsys, synthetic_vggish, *ask, "--no-titles")
    assert status == 0 and http_server.requests(PATH) == []
    plain = json.loads(out)["items"]
    assert plain and all(item["title"] is None and item["channel"] is None for item in plain)
    status, out, _ = run(capsys, synthetic_vggish, *ask)
    titled = json.loads(out)["items"]
    assert [item["group"] for item in titled] == [item["group"] for item in plain]
    assert [item["title"] for item in titled] == [f"Song {item['group'][-1]}" for item in titled]
