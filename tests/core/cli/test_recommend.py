"""``musicrec recommend`` (and ``musicrec index build-library``) run in-process.

The library index is built with the synthetic VGGish checkpoint (real TensorFlow model,
seeded weights) and, for the musicnn path, with the real musicnn weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.audio import decode_worker_process, decode_workers
from musicrec_core.catalog.index import CatalogIndex, IndexBuilder, ItemMeta
from musicrec_core.catalog.library import TRACK_TAG_LABELS, build_library, track_key
from musicrec_core.catalog.pooling import DEFAULT_POOLING
from musicrec_core.cli import main
from musicrec_core.embedders.base import EmbedderId
from musicrec_core.titles.cache import TitleCache
from musicrec_core.titles.oembed import VideoAnswer
from tests.core.cli.conftest import TITLED_VIDEOS
from tests.helpers.band_embedder import BandEnergyEmbedder
from tests.helpers.musicnn import install_weights
from tests.helpers.oembed import PATH, OEmbedStandIn
from tests.helpers.oembed import video as oembed_video


def recommend(
    capsys: pytest.CaptureFixture[str], *args: str, weights: tuple[Path, Path] | None = None
) -> tuple[int, str, str]:
    extra = ["--checkpoint", str(weights[0]), "--pca", str(weights[1])] if weights else []
    status = main(["recommend", *args, *extra])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.usefixtures("shared_vggish_cache")
def test_table_leaves_out_the_query_files_own_track(
    capsys: pytest.CaptureFixture[str], music: Path, vggish_library: Path, synthetic_vggish
) -> None:
    query = music / "c-major.wav"
    status, out, err = recommend(
        capsys, str(query), "--index", str(vggish_library), weights=synthetic_vggish
    )
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("Query: c-major.wav (")
    header = lines[1].split()
    assert header == ["#", "match", "title", "start", "labels", "link"]
    rows = lines[2:]
    assert len(rows) == 2  # three tracks, minus the query's own
    assert rows[0].split()[0] == "1" and rows[0].split()[1].endswith("%")
    assert "c-major" not in out.split("\n", 1)[1]
    assert {"low-drone", "busy-noise"} == {row.split()[2] for row in rows}
    assert str((music / "busy-noise.mp3").resolve()) in out


@pytest.mark.usefixtures("shared_vggish_cache")
def test_include_self_ranks_the_query_file_first(
    capsys: pytest.CaptureFixture[str], music: Path, vggish_library: Path, synthetic_vggish
) -> None:
    query = music / "low-drone.flac"
    status, out, _ = recommend(
        capsys,
        str(query),
        "--index",
        str(vggish_library),
        "--include-self",
        "--json",
        "-k",
        "3",
        weights=synthetic_vggish,
    )
    assert status == 0
    document = json.loads(out)
    assert document["query"]["ref"] == "low-drone.flac"
    assert document["query_tags"] == []
    assert document["embedder"]["name"] == "vggish"
    items = document["items"]
    assert [item["rank"] for item in items] == [1, 2, 3]
    assert items[0]["group"] == track_key(query)
    assert items[0]["title"] == "low-drone"
    # the file itself: recognised by its fingerprint, marked, not scored
    assert (items[0]["identified"], items[0]["score"]) == (True, None)
    assert [item["identified"] for item in items[1:]] == [False, False]
    assert 1 >= items[1]["score"] >= items[2]["score"] >= 0
    assert all(-1 <= item["window_cosine"] <= 1 for item in items)
    assert items[0]["url"] is None and items[0]["source"] == str(query.resolve())


@pytest.mark.usefixtures("shared_vggish_cache")
def test_start_picks_the_query_window(
    capsys: pytest.CaptureFixture[str], music: Path, vggish_library: Path, synthetic_vggish
) -> None:
    status, out, _ = recommend(
        capsys,
        str(music / "busy-noise.mp3"),
        "--index",
        str(vggish_library),
        "--start",
        "0:04",
        "--json",
        weights=synthetic_vggish,
    )
    assert status == 0
    document = json.loads(out)
    assert document["query"]["start"] == pytest.approx(4.0)
    assert len(document["items"]) == 2


def test_a_missing_index_is_one_line(
    capsys: pytest.CaptureFixture[str], music: Path, tmp_path: Path
) -> None:
    status, out, err = recommend(capsys, str(music / "c-major.wav"), "--index", str(tmp_path / "x"))
    assert (status, out) == (1, "")
    assert err.startswith("musicrec: No index at") and err.count("\n") == 1


def test_an_index_of_an_unknown_embedder_is_refused(
    capsys: pytest.CaptureFixture[str], music: Path, tmp_path: Path
) -> None:
    build_library([str(music / "c-major.wav")], tmp_path / "index", BandEnergyEmbedder())
    status, _, err = recommend(
        capsys, str(music / "c-major.wav"), "--index", str(tmp_path / "index")
    )
    assert status == 1
    assert "built with embedder 'bands', which musicrec cannot load" in err


@pytest.mark.usefixtures("shared_vggish_cache")
def test_an_index_of_other_vggish_weights_is_refused(
    capsys: pytest.CaptureFixture[str], music: Path, synthetic_vggish, tmp_path: Path
) -> None:
    identity = EmbedderId(name="vggish", version="other-weights", dim=128)
    with IndexBuilder(tmp_path / "index", embedder=identity, pooling=DEFAULT_POOLING) as builder:
        builder.add(np.ones(128, dtype=np.float32), ItemMeta("someVideoId", 0.0, 10.0, ()))
        builder.commit()
    status, out, err = recommend(
        capsys, str(music / "c-major.wav"), "--index", str(tmp_path / "index"),
        weights=synthetic_vggish,
    )  # fmt: skip
    assert (status, out) == (1, "")
    assert "built with embedder vggish other-weights (128-d)" in err
    assert "rebuild the index" in err


def test_k_must_be_positive(capsys: pytest.CaptureFixture[str], vggish_library: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["recommend", "x.wav", "--index", str(vggish_library), "-k", "0"])
    assert exit_info.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


def test_index_stays_loadable_after_the_cli(vggish_library: Path) -> None:
    with CatalogIndex.load(vggish_library, verify_checksums=True) as index:
        assert len(index) == 3 * 2 * 2  # two windows per song, each with its phone view


@pytest.mark.parametrize("variant", ["mtt", "msd"])
def test_musicnn_library_shows_tags_for_query_and_results(
    capsys: pytest.CaptureFixture[str], music: Path, tmp_path: Path, variant: str
) -> None:
    """End to end with the real musicnn weights: build, then recommend with tags; the CLI
    loads the variant the index was built with."""
    install_weights()
    from musicrec_core.embedders.musicnn import MusicnnEmbedder
    from musicrec_core.embedders.musicnn.tags import get_variant

    index = str(tmp_path / "index")
    build = ["index", "build-library", str(music), "-o", index, "--windows", "2", "--no-progress"]
    assert main([*build, "--model", variant]) == 0
    assert capsys.readouterr().out.startswith("Indexed 3 tracks (6 windows, 12 items")
    embedder = MusicnnEmbedder.load(variant)

    status, out, err = recommend(
        capsys, str(music / "busy-noise.mp3"), "--index", str(tmp_path / "index"), "--json"
    )
    assert (status, err) == (0, "")
    document = json.loads(out)
    variant_tags = set(get_variant(variant).tags)
    assert document["embedder"]["version"] == embedder.version
    query_tags = document["query_tags"]
    assert len(query_tags) == len(variant_tags) and {t["name"] for t in query_tags} == variant_tags
    probabilities = [t["probability"] for t in query_tags]
    assert probabilities == sorted(probabilities, reverse=True)
    items = document["items"]
    assert len(items) == 2 and "busy-noise" not in {item["title"] for item in items}
    for item in items:
        assert len(item["labels"]) == TRACK_TAG_LABELS and set(item["labels"]) <= variant_tags

    status, out, _ = recommend(
        capsys, str(music / "busy-noise.mp3"), "--index", str(tmp_path / "index")
    )
    assert status == 0
    tags_line = out.splitlines()[1]
    assert tags_line.startswith("Tags: ") and query_tags[0]["name"] in tags_line


@pytest.mark.usefixtures("shared_vggish_cache")
def test_build_library_with_vggish_then_rebuild_from_the_cache(
    capsys: pytest.CaptureFixture[str], music: Path, tmp_path: Path, synthetic_vggish
) -> None:
    checkpoint, pca = (str(path) for path in synthetic_vggish)
    build = [
        "index", "build-library", str(music / "c-major.wav"), str(music / "low-drone.flac"),
        "-o", str(tmp_path / "index"), "--embedder", "vggish", "--checkpoint", checkpoint,
        "--pca", pca, "--windows", "2", "--no-progress",
    ]  # fmt: skip
    assert main(build) == 0
    assert "2 embedded, 0 reused from the cache" in capsys.readouterr().out
    assert main(build) == 0
    assert "0 embedded, 2 reused from the cache" in capsys.readouterr().out
    with CatalogIndex.load(tmp_path / "index") as index:
        assert index.embedder.name == "vggish" and len(index) == 2 * 2 * 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--embedder", "vggish", "--model", "msd"], "--model chooses a musicnn variant"),
        (["--checkpoint", "x.ckpt"], "--checkpoint and --pca are VGGish files"),
        (["--windows", "0"], "--windows must be at least 1"),
    ],
)
def test_build_library_refuses_contradictory_options(
    capsys: pytest.CaptureFixture[str], music: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    status = main(["index", "build-library", str(music), "-o", str(tmp_path / "i"), *extra])
    assert status == 1 and message in capsys.readouterr().err
    assert not (tmp_path / "i").exists()


def test_youtube_results_show_titles_and_channels_and_gone_ones_are_replaced(
    capsys: pytest.CaptureFixture[str],
    music: Path,
    synthetic_vggish,
    titled_catalog: Path,
    http_server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stand_in = OEmbedStandIn(http_server)
    for n in range(TITLED_VIDEOS):
        stand_in.found(oembed_video(n), f"Song {n}", channel=f"Band {n}")
    monkeypatch.setenv("MUSICREC_OEMBED_URL", stand_in.endpoint)
    query = [str(music / "c-major.wav"), "--index", str(titled_catalog), "-k", "3"]
    status, out, _ = recommend(capsys, *query, "--json", weights=synthetic_vggish)
    assert status == 0
    items = json.loads(out)["items"]
    assert [item["title"] for item in items] == [f"Song {item['group'][-1]}" for item in items]
    assert [item["channel"] for item in items] == [f"Band {item['group'][-1]}" for item in items]
    best = items[0]["group"]

    with TitleCache() as cache:  # what `musicrec index enrich` or an earlier reply learnt
        cache.put(VideoAnswer(best, "gone"))
    status, out, _ = recommend(capsys, *query, "--json", weights=synthetic_vggish)
    replaced = [item["group"] for item in json.loads(out)["items"]]
    assert replaced == [item["group"] for item in items[1:]] + [replaced[-1]]
    assert best not in replaced and len(set(replaced)) == 3

    status, out, _ = recommend(capsys, *query, weights=synthetic_vggish)
    header, first = out.splitlines()[1].split(), out.splitlines()[2]
    assert header == ["#", "match", "title", "channel", "start", "labels", "link"]
    assert "Song" in first and "Band" in first


def test_no_titles_asks_nothing(
    capsys: pytest.CaptureFixture[str],
    music: Path,
    synthetic_vggish,
    titled_catalog: Path,
    http_server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stand_in = OEmbedStandIn(http_server)
    monkeypatch.setenv("MUSICREC_OEMBED_URL", stand_in.endpoint)
    query = [str(music / "c-major.wav"), "--index", str(titled_catalog), "-k", "2"]
    status, out, _ = recommend(capsys, *query, "--json", "--no-titles", weights=synthetic_vggish)
    assert status == 0 and [item["title"] for item in json.loads(out)["items"]] == [None, None]
    assert http_server.requests(PATH) == []


@pytest.mark.usefixtures("shared_vggish_cache")
def test_several_queries_give_one_table_each_in_order(
    capsys: pytest.CaptureFixture[str], music: Path, vggish_library: Path, synthetic_vggish
) -> None:
    queries = [music / "c-major.wav", music / "low-drone.flac"]
    status, out, err = recommend(
        capsys, *map(str, queries), "--index", str(vggish_library), weights=synthetic_vggish
    )
    assert (status, err) == (0, "")
    tables = out.rstrip("\n").split("\n\n")
    assert len(tables) == 2
    for table, query in zip(tables, queries, strict=True):
        lines = table.splitlines()
        assert lines[0].startswith(f"Query: {query.name} (")
        rows = lines[2:]
        assert len(rows) == 2 and query.stem not in "\n".join(rows)  # own track left out


@pytest.mark.usefixtures("shared_vggish_cache")
def test_several_queries_in_json_are_a_list_of_single_query_documents(
    capsys: pytest.CaptureFixture[str], music: Path, vggish_library: Path, synthetic_vggish
) -> None:
    queries = [music / "busy-noise.mp3", music / "c-major.wav", music / "busy-noise.mp3"]
    args = ["--index", str(vggish_library), "--json", "-k", "1"]
    status, out, _ = recommend(capsys, *map(str, queries), *args, weights=synthetic_vggish)
    assert status == 0
    documents = json.loads(out)
    assert [document["query"]["ref"] for document in documents] == [q.name for q in queries]
    status, single, _ = recommend(capsys, str(queries[1]), *args, weights=synthetic_vggish)
    assert status == 0
    assert documents[1] == json.loads(single)  # the same shape as one query's answer
    assert documents[0] == documents[2]


@pytest.mark.usefixtures("shared_vggish_cache")
def test_several_queries_are_decoded_by_one_worker_that_ends_with_the_call(
    capsys: pytest.CaptureFixture[str],
    music: Path,
    vggish_library: Path,
    synthetic_vggish,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The queries of one call share one decode worker (a start-up costs more than a long
    file's windows), and the call stops it before it returns."""
    if decode_workers.default_workers() is None:
        pytest.skip("PyAV or soxr not installed")
    started = []

    class Counted(decode_worker_process.WorkerProcess):
        def __init__(self, *args: object) -> None:
            super().__init__(*args)
            started.append(self.proc)

    monkeypatch.setattr(decode_workers, "WorkerProcess", Counted)
    queries = sorted(music.iterdir())
    status, out, err = recommend(
        capsys, *map(str, queries), "--index", str(vggish_library), weights=synthetic_vggish
    )
    assert (status, err) == (0, "") and out.count("Query: ") == len(queries) == 3
    assert len(started) == 1 and started[0].poll() is not None


def test_an_unreadable_query_among_several_fails_the_call(
    capsys: pytest.CaptureFixture[str], music: Path, vggish_library: Path, synthetic_vggish
) -> None:
    status, out, err = recommend(
        capsys,
        str(music / "c-major.wav"),
        str(music / "absent.mp3"),
        "--index",
        str(vggish_library),
        weights=synthetic_vggish,
    )
    assert (status, out) == (1, "")
    assert "absent.mp3" in err and err.count("\n") == 1
