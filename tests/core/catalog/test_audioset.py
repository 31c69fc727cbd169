"""Reading release-format AudioSet TFRecords: folders, tar.gz streams, damage, filtering."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from musicrec_core.catalog import audioset
from musicrec_core.catalog.audioset import (
    AUDIOSET_EMBEDDER,
    BAD_CHECKSUM,
    BAD_LENGTH,
    BAD_WIDTH,
    NO_EMBEDDINGS,
    TRUNCATED,
    UNPARSABLE,
    AudioSetReader,
    SegmentBatch,
    batch_parser,
)
from musicrec_core.catalog.audioset.build import _expect_test_release_segments
from musicrec_core.catalog.audioset.records import MalformedRecord, parse_record
from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.catalog.pooling import pool
from musicrec_core.cli import main
from musicrec_core.embedders.vggish.postprocess import dequantize
from musicrec_core.errors import CatalogError
from tests.helpers.audioset_records import (
    random_segments,
    segment_example_bytes,
    write_audioset_tfrecord,
    write_features_archive,
)
from tests.helpers.http_server import LocalHTTPServer
from tests.helpers.tar_archives import tar_bytes


def _odd_records() -> list[bytes]:
    """Records with valid CRCs that no release writer makes."""
    import tensorflow as tf

    narrow = tf.train.SequenceExample()
    narrow.context.feature["video_id"].bytes_list.value.append(b"narrow00000")
    narrow.context.feature["start_time_seconds"].float_list.value.append(0.0)
    narrow.context.feature["end_time_seconds"].float_list.value.append(10.0)
    frames = narrow.feature_lists.feature_list["audio_embedding"].feature
    frames.add().bytes_list.value.append(bytes(127))
    no_id = tf.train.SequenceExample()
    no_id.context.feature["start_time_seconds"].float_list.value.append(0.0)
    return [b"\xff\xff\xff garbage", narrow.SerializeToString(), no_id.SerializeToString()]


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A small release-like folder; returns its path and the segments that must be kept."""
    root = tmp_path_factory.mktemp("features") / "audioset_v1_embeddings"
    regular = random_segments(60, seed=1, prefix="reg")
    for i, segment in enumerate(regular):
        segment["labels"] = [300 + i % 5] if i % 4 == 0 else segment["labels"]  # 2-byte varints
    regular[1]["labels"] = [20_000, 3]  # a 3-byte varint
    short = random_segments(5, seed=2, seconds=[3, 1, 7, 9, 2], prefix="short")
    unlabelled = random_segments(4, seed=3, prefix="nolab")
    unlabelled[0]["labels"] = None
    unlabelled[1]["labels"] = []
    empty = random_segments(1, seed=4, seconds=0, prefix="empty")
    corrupt = random_segments(12, seed=5, prefix="crc")
    cut = random_segments(10, seed=6, prefix="cut")
    write_audioset_tfrecord(root / "eval" / "re.tfrecord", regular)
    write_audioset_tfrecord(
        root / "eval" / "sh.tfrecord", short + unlabelled + empty + _odd_records()
    )
    write_audioset_tfrecord(root / "bal_train" / "cr.tfrecord", corrupt, corrupt_record_at=4)
    write_audioset_tfrecord(root / "unbal_train" / "cu.tfrecord", cut, truncate_bytes=100)
    expected = regular + short + unlabelled + corrupt[:4] + corrupt[5:] + cut[:9]
    return {"root": root, "expected": expected}


EXPECTED_SKIPS = {
    BAD_CHECKSUM: 1,
    TRUNCATED: 1,
    NO_EMBEDDINGS: 1,
    UNPARSABLE: 2,
    BAD_WIDTH: 1,
}


def _read_all(batches: Any) -> dict[str, dict[str, Any]]:
    """Segments by video id: start, end, labels, frame count, pooled vector."""
    result: dict[str, dict[str, Any]] = {}
    for batch in batches:
        assert isinstance(batch, SegmentBatch)
        for row, (video_id, labels) in enumerate(zip(batch.video_ids, batch.labels(), strict=True)):
            assert video_id not in result
            result[video_id] = {
                "start": batch.start_s[row],
                "end": batch.end_s[row],
                "labels": labels,
                "frames": int(batch.frame_counts[row]),
                "vector": batch.vectors[row],
            }
    return result


def _check_against(found: dict[str, dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    assert sorted(found) == sorted(s["video_id"] for s in expected)
    for segment in expected:
        got = found[segment["video_id"]]
        assert got["start"] == segment["start"] and got["end"] == segment["end"]
        assert got["labels"] == (segment["labels"] or [])
        assert got["frames"] == len(segment["embeddings"])
        want = pool(dequantize(segment["embeddings"]), "mean")
        np.testing.assert_allclose(got["vector"], want, atol=1e-5)


def test_folder_is_read_with_every_damage_counted(features: dict[str, Any]) -> None:
    reader = AudioSetReader()
    found = _read_all(reader.read(features["root"]))
    _check_against(found, features["expected"])
    stats = reader.stats
    assert stats.files == 4
    assert stats.kept == len(features["expected"])
    assert dict(stats.skipped) == EXPECTED_SKIPS
    assert stats.records == stats.kept + sum(EXPECTED_SKIPS.values())
    summary = stats.summary()
    assert f"kept {stats.kept}" in summary and "bad record checksum 1" in summary


def test_record_by_record_parsing_gives_the_same_result(
    features: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_parser, "_MAX_LAYOUT_MISSES", 0)
    reader = AudioSetReader()
    _check_against(_read_all(reader.read(features["root"])), features["expected"])
    assert dict(reader.stats.skipped) == EXPECTED_SKIPS


def test_small_batches_give_the_same_result(features: dict[str, Any]) -> None:
    reader = AudioSetReader(batch_bytes=1)
    _check_against(_read_all(reader.read(features["root"])), features["expected"])


class _OneWayStream(io.RawIOBase):
    """A readable stream that cannot seek, like an HTTP response."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        return self._data.readinto(buffer)


def test_tar_gz_is_streamed(features: dict[str, Any], tmp_path: Path) -> None:
    archive = write_features_archive(features["root"], tmp_path / "features.tar.gz")
    reader = AudioSetReader()
    found = _read_all(reader.read_archive(_OneWayStream(archive.read_bytes())))
    _check_against(found, features["expected"])
    assert dict(reader.stats.skipped) == EXPECTED_SKIPS
    seen: list[int] = []
    by_path = AudioSetReader()
    assert len(_read_all(by_path.read(archive, on_bytes=seen.append))) == len(found)
    assert sum(seen) == archive.stat().st_size


def test_a_cut_archive_is_fatal(features: dict[str, Any], tmp_path: Path) -> None:
    archive = write_features_archive(features["root"], tmp_path / "features.tar.gz")
    data = archive.read_bytes()
    reader = AudioSetReader()
    with pytest.raises(CatalogError, match="not whole"):
        _read_all(reader.read_archive(io.BytesIO(data[: len(data) * 2 // 3])))
    with pytest.raises(CatalogError, match="damaged"):
        _read_all(AudioSetReader().read_archive(io.BytesIO(b"not an archive at all" * 40)))


def test_a_plain_tar_is_read_and_needs_its_end_marker(features: dict[str, Any]) -> None:
    members = {
        f"audioset_v1_embeddings/{path.parent.name}/{path.name}": path.read_bytes()
        for path in sorted(features["root"].rglob("*.tfrecord"))
    }
    reader = AudioSetReader()
    found = _read_all(reader.read_archive(_OneWayStream(tar_bytes(members))))
    _check_against(found, features["expected"])
    with pytest.raises(CatalogError, match="end marker"):
        _read_all(AudioSetReader().read_archive(io.BytesIO(tar_bytes(members, end_marker=False))))


def test_keep_classes_filters_segments(features: dict[str, Any]) -> None:
    wanted = {300, 301}
    reader = AudioSetReader(keep_classes=wanted)
    found = _read_all(reader.read(features["root"]))
    expected = [s for s in features["expected"] if set(s["labels"] or []) & wanted]
    assert expected
    _check_against(found, expected)
    assert reader.stats.filtered == len(features["expected"]) - len(expected)


def test_mean_std_pooling(features: dict[str, Any]) -> None:
    reader = AudioSetReader(pooling="mean_std")
    found = _read_all(reader.read(features["root"]))
    segment = features["expected"][0]
    np.testing.assert_allclose(
        found[segment["video_id"]]["vector"],
        pool(dequantize(segment["embeddings"]), "mean_std"),
        atol=1e-5,
    )


def test_header_corruption_loses_the_rest_of_that_file_only(tmp_path: Path) -> None:
    segments = random_segments(6, seed=8)
    path = write_audioset_tfrecord(tmp_path / "a.tfrecord", segments)
    data = bytearray(path.read_bytes())
    third = 2 * (16 + len(segment_example_bytes(segments[0])))
    data[third + 9] ^= 0xFF  # the third record's length CRC
    path.write_bytes(bytes(data))
    reader = AudioSetReader()
    found = _read_all(reader.read(path))
    assert sorted(found) == sorted(s["video_id"] for s in segments[:2])
    assert dict(reader.stats.skipped) == {BAD_LENGTH: 1}


def test_a_file_of_garbage_is_counted_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "junk.tfrecord").write_bytes(b"\x07" * 5000)
    (tmp_path / "empty.tfrecord").write_bytes(b"")
    reader = AudioSetReader()
    assert _read_all(reader.read(tmp_path)) == {}
    assert reader.stats.files == 2
    assert dict(reader.stats.skipped) == {BAD_LENGTH: 1}  # a garbage length fails its CRC


@pytest.mark.parametrize(
    "record",
    [
        b"\x0a\x80",  # the context's length cut short by the record's end
        b"\x0a" + b"\xff" * 10 + b"\x01",  # an 11-byte length
        b"\x0a\x02\x08\x80\x12\x00",  # a varint cut by the end of its message (the context)
    ],
)
def test_a_bad_varint_makes_the_record_unparsable(record: bytes) -> None:
    with pytest.raises(MalformedRecord, match="^bad varint$") as caught:
        parse_record(record)
    assert caught.value.reason == UNPARSABLE


def test_missing_or_empty_sources_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="does not exist"):
        AudioSetReader().read(tmp_path / "nowhere")
    with pytest.raises(CatalogError, match=r"No \.tfrecord files"):
        AudioSetReader().read(tmp_path)


# ---------------------------------------------------------------------------------------
# `musicrec index build-audioset`

CLASS_COUNT = 527


@pytest.fixture
def label_files(tmp_path: Path) -> tuple[Path, Path]:
    """A labels CSV naming all 527 classes ("Music" is 0, "Guitar" 300 under it) and an
    ontology where only classes 0 and 300..304 are in the Music subtree."""
    mids = ["/m/04rlf"] + [f"/m/c{i}" for i in range(1, CLASS_COUNT)]
    rows = ["index,mid,display_name"]
    for index, mid in enumerate(mids):
        name = {0: "Music", 300: "Guitar"}.get(index, f"Class {index}, kind")
        rows.append(f'{index},{mid},"{name}"')
    csv_path = tmp_path / "labels.csv"
    csv_path.write_text("\n".join(rows) + "\n")
    nodes = [{"id": mid, "child_ids": []} for mid in mids]
    nodes[0]["child_ids"] = [mids[300]]
    nodes[300]["child_ids"] = mids[301:305]
    ontology = tmp_path / "ontology.json"
    ontology.write_text(json.dumps(nodes))
    return csv_path, ontology


def test_cli_builds_a_music_only_index(
    features: dict[str, Any], label_files: tuple[Path, Path], tmp_path: Path, capsys: Any
) -> None:
    csv_path, ontology = label_files
    out = tmp_path / "index"
    argv = ["index", "build-audioset", "--features", str(features["root"]), "--music-only"]
    argv += ["--labels", str(csv_path), "--ontology", str(ontology), "-o", str(out)]
    assert main([*argv, "--no-progress", "--n-trees", "4", "--pooling", "mean_std"]) == 0
    printed = capsys.readouterr().out
    music = [s for s in features["expected"] if set(s["labels"] or []) & {0, *range(300, 305)}]
    assert f"kept {len(music)}" in printed and "bad record checksum 1" in printed
    with CatalogIndex.load(out, expect_embedder=AUDIOSET_EMBEDDER) as index:
        assert len(index) == len(music)
        assert index.manifest["n_trees"] == 4 and index.pooling == "mean_std"
        assert index.manifest["extra"]["ingest"]["kept"] == len(music)
        groups = {index.meta(i).group: index.meta(i) for i in range(len(index))}
        first = music[0]
        meta = groups[first["video_id"]]
        assert meta.start_s == first["start"] and meta.kind == "youtube"
        names = {0: "Music", 300: "Guitar"}
        assert meta.labels == tuple(names.get(i, f"Class {i}, kind") for i in first["labels"])
        query = pool(dequantize(first["embeddings"]), "mean_std")
        hit, similarity = index.search(query, 1)[0]
        assert index.meta(hit).group == first["video_id"] and similarity > 0.999


def test_cli_download_streams_the_archive(
    features: dict[str, Any],
    label_files: tuple[Path, Path],
    tmp_path: Path,
    http_server: LocalHTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    archive = write_features_archive(features["root"], tmp_path / "served.tar.gz")
    served = "/as/features/features.tar.gz"
    http_server.add(served, archive.read_bytes())
    monkeypatch.setenv("MUSICREC_AUDIOSET_URL_BASE", http_server.url("/as"))
    monkeypatch.setattr(audioset.build, "RELEASE_SEGMENTS", 1000)  # the disk estimate
    out = tmp_path / "index"
    argv = ["index", "build-audioset", "--download", "--labels", str(label_files[0])]
    with _expect_test_release_segments(len(features["expected"])):
        assert main([*argv, "-o", str(out), "--no-progress"]) == 0
    assert "not stored" in capsys.readouterr().err
    with CatalogIndex.load(out) as index:
        assert len(index) == len(features["expected"])
    assert http_server.bytes_served(served) == archive.stat().st_size
    stored = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix in {".gz", ".part"}]
    assert stored == [archive]


def test_cli_refuses_a_download_that_cannot_fit(
    label_files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setattr(audioset.build, "RELEASE_SEGMENTS", 10**13)
    out = tmp_path / "index"
    argv = ["index", "build-audioset", "--download", "--labels", str(label_files[0])]
    assert main([*argv, "-o", str(out)]) == 1
    assert "Not enough disk space" in capsys.readouterr().err
    assert not out.exists()


def test_cli_errors_are_one_line(
    tmp_path: Path, label_files: tuple[Path, Path], capsys: Any
) -> None:
    argv = [
        "index",
        "build-audioset",
        "--features",
        str(tmp_path / "none"),
        "-o",
        str(tmp_path / "o"),
    ]
    assert main([*argv, "--labels", str(label_files[0])]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(argv) == 1  # no labels downloaded into the (empty) cache
    assert "musicrec models download audioset-labels" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_cli_builds_a_usearch_index_and_refuses_annoy_settings_for_it(
    features: dict[str, Any], label_files: tuple[Path, Path], tmp_path: Path, capsys: Any
) -> None:
    out = tmp_path / "index"
    argv = ["index", "build-audioset", "--features", str(features["root"]), "--no-progress"]
    argv += ["--labels", str(label_files[0]), "-o", str(out), "--backend", "usearch"]
    assert main([*argv, "--n-trees", "4"]) == 1
    assert "--n-trees sets Annoy's trees; the usearch backend has none" in capsys.readouterr().err
    assert not out.exists()
    assert main(argv) == 0
    with CatalogIndex.load_for_serving(out, expect_embedder=AUDIOSET_EMBEDDER) as index:
        assert index.backend == "usearch"
        assert f"Index of {len(index)} segments" in capsys.readouterr().out
        first = index.vector(0)
        assert index.search(first, 1)[0][0] == 0
