"""A features archive is accepted only whole, and only within bounded memory.

Every case goes through the real ``musicrec index build-audioset`` (in this process, or in
a child whose peak memory is read), streaming ``--download`` from a local stand-in of the
official host or reading ``--features`` from disk. Damage anywhere in the archive (a cut,
a gzip trailer that does not match, a tar without its end marker, a member too large to be
a release file) fails the build with one line and publishes nothing; a malformed record or
video id inside an intact archive is skipped and counted.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from musicrec_core.catalog.audioset import AudioSetReader, DamagedArchive
from musicrec_core.catalog.audioset.build import _expect_test_release_segments
from musicrec_core.catalog.index import BUILD_PREFIX, CURRENT_FILE, CatalogIndex
from musicrec_core.cli import main
from musicrec_core.mirrors import AUDIOSET_URL_BASE_ENV
from tests.helpers.audioset_records import (
    random_segments,
    write_audioset_tfrecord,
    write_features_archive,
)
from tests.helpers.http_server import LocalHTTPServer
from tests.helpers.tar_archives import (
    CUT_DOWNLOADS,
    cut_download,
    members_of,
    tar_bytes,
    tar_gz_bytes,
    with_bad_crc,
    with_bad_length,
    write_tar_bomb,
)

SEGMENTS = 60
SERVED_PATH = "/as/features/features.tar.gz"
MiB = 2**20


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A whole features.tar.gz of SEGMENTS segments in three files."""
    work = tmp_path_factory.mktemp("archive")
    segments = random_segments(SEGMENTS, seed=21, prefix="ar")
    for number in range(3):
        part = segments[number * 20 : (number + 1) * 20]
        write_audioset_tfrecord(work / "features" / "eval" / f"{number:02d}.tfrecord", part)
    return write_features_archive(work / "features", work / "features.tar.gz")


@pytest.fixture
def labels_csv(tmp_path: Path) -> Path:
    rows = ["index,mid,display_name", *(f"{i},/m/c{i},Class {i}" for i in range(527))]
    path = tmp_path / "labels.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture
def official(http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """--download goes to the stand-in host, which must hold all SEGMENTS segments."""
    monkeypatch.setenv(AUDIOSET_URL_BASE_ENV, http_server.url("/as"))
    with _expect_test_release_segments(SEGMENTS):
        yield


def build(labels_csv: Path, out: Path, source: Path | None, capsys: Any) -> tuple[int, str]:
    """Run the CLI (``--features source``, or ``--download`` when None); (status, stderr)."""
    argv = ["index", "build-audioset", "--labels", str(labels_csv), "-o", str(out)]
    argv += ["--download"] if source is None else ["--features", str(source)]
    status = main([*argv, "--no-progress", "--n-trees", "2"])
    return status, capsys.readouterr().err


def assert_nothing_published(out: Path) -> None:
    assert not (out / CURRENT_FILE).exists()
    assert not list(out.glob(f"{BUILD_PREFIX}*"))


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("musicrec: ")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_the_whole_archive_is_published(
    archive: Path,
    labels_csv: Path,
    http_server: LocalHTTPServer,
    official: None,
    tmp_path: Path,
    capsys: Any,
) -> None:
    http_server.add(SERVED_PATH, archive.read_bytes(), content_length=-1)
    status, stderr = build(labels_csv, tmp_path / "index", None, capsys)
    assert status == 0, stderr
    with CatalogIndex.load(tmp_path / "index") as index:
        assert len(index) == SEGMENTS


@pytest.mark.parametrize("cut", CUT_DOWNLOADS)
def test_a_cut_download_fails_and_publishes_nothing(
    archive: Path,
    labels_csv: Path,
    http_server: LocalHTTPServer,
    official: None,
    tmp_path: Path,
    capsys: Any,
    cut: str,
) -> None:
    body, options = cut_download(archive.read_bytes(), cut)
    http_server.add(SERVED_PATH, body, **options)  # type: ignore[arg-type]
    status, stderr = build(labels_csv, tmp_path / "index", None, capsys)
    assert status == 1
    assert "not whole" in one_line_error(stderr)
    assert_nothing_published(tmp_path / "index")


@pytest.mark.parametrize(
    ("damage", "cause"),
    [(with_bad_crc, "CRC"), (with_bad_length, "length")],
    ids=["crc32", "isize"],
)
def test_a_gzip_trailer_that_does_not_match_fails(
    archive: Path, labels_csv: Path, tmp_path: Path, capsys: Any, damage: Any, cause: str
) -> None:
    damaged = tmp_path / "features.tar.gz"
    damaged.write_bytes(damage(archive.read_bytes()))
    status, stderr = build(labels_csv, tmp_path / "index", damaged, capsys)
    assert status == 1
    line = one_line_error(stderr)
    assert "damaged" in line and cause in line
    assert_nothing_published(tmp_path / "index")


def test_corrupted_deflate_bytes_fail(
    archive: Path, labels_csv: Path, tmp_path: Path, capsys: Any
) -> None:
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x55
    damaged = tmp_path / "features.tar.gz"
    damaged.write_bytes(bytes(data))
    status, stderr = build(labels_csv, tmp_path / "index", damaged, capsys)
    assert status == 1
    assert "damaged" in one_line_error(stderr)
    assert_nothing_published(tmp_path / "index")


def test_a_tar_without_its_end_marker_fails(
    archive: Path, labels_csv: Path, tmp_path: Path, capsys: Any
) -> None:
    cut = tmp_path / "features.tar.gz"
    cut.write_bytes(tar_gz_bytes(members_of(archive), end_marker=False))
    status, stderr = build(labels_csv, tmp_path / "index", cut, capsys)
    assert status == 1
    assert "end marker" in one_line_error(stderr)
    assert_nothing_published(tmp_path / "index")
    whole = tmp_path / "whole.tar.gz"
    whole.write_bytes(tar_gz_bytes(members_of(archive)))
    assert build(labels_csv, tmp_path / "index", whole, capsys)[0] == 0


@pytest.mark.parametrize(
    "compress",
    [
        lambda tar: gzip.compress(tar[:70_000]) + gzip.compress(tar[70_000:]),
        bz2.compress,
        lzma.compress,
    ],
    ids=["gzip-in-two-members", "bzip2", "xz"],
)
def test_every_compression_is_read_whole_and_checked(archive: Path, compress: Any) -> None:
    packed = compress(tar_bytes(members_of(archive)))
    reader = AudioSetReader()
    assert sum(len(batch) for batch in reader.read_archive(io.BytesIO(packed))) == SEGMENTS
    with pytest.raises(DamagedArchive, match="not whole"):
        list(AudioSetReader().read_archive(io.BytesIO(packed[:-20])))


def test_an_archive_short_of_the_release_count_fails(
    archive: Path,
    labels_csv: Path,
    http_server: LocalHTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    monkeypatch.setenv(AUDIOSET_URL_BASE_ENV, http_server.url("/as"))
    http_server.add(SERVED_PATH, archive.read_bytes())
    with _expect_test_release_segments(SEGMENTS * 100 // 99 + 1):
        status, stderr = build(labels_csv, tmp_path / "index", None, capsys)
    assert status == 1
    line = one_line_error(stderr)
    assert f"{SEGMENTS:,} segments" in line and f"{SEGMENTS * 100 // 99 + 1:,}" in line
    assert_nothing_published(tmp_path / "index")
    with _expect_test_release_segments(SEGMENTS * 100 // 99):  # 99 % exactly is enough
        assert build(labels_csv, tmp_path / "index", None, capsys)[0] == 0


def test_bad_video_ids_are_skipped_and_counted(
    labels_csv: Path, tmp_path: Path, capsys: Any
) -> None:
    segments = random_segments(8, seed=22, prefix="ok")
    bad_ids = ["short", "twelve_chars", "has space 1", "javascript:", "ünicode0000"]
    for segment, bad in zip(segments[3:], bad_ids, strict=True):
        segment["video_id"] = bad
    write_audioset_tfrecord(tmp_path / "features" / "eval" / "00.tfrecord", segments)
    archive = write_features_archive(tmp_path / "features", tmp_path / "features.tar.gz")
    argv = ["index", "build-audioset", "--features", str(archive), "--labels", str(labels_csv)]
    assert main([*argv, "-o", str(tmp_path / "index"), "--no-progress", "--n-trees", "2"]) == 0
    printed = capsys.readouterr().out
    assert "kept 3" in printed and "bad video id 5" in printed
    with CatalogIndex.load(tmp_path / "index") as index:
        groups = sorted(index.meta(i).group for i in range(len(index)))
        assert groups == sorted(s["video_id"] for s in segments[:3])
        assert index.manifest["extra"]["ingest"]["skipped"] == {"bad video id": 5}


_MEASURED_BUILD = textwrap.dedent(
    """
    import json, sys
    from musicrec_core.cli import main
    status = main(sys.argv[1:])
    # The peak RSS of this process image: getrusage's ru_maxrss would also count the
    # forking parent (Linux carries it across exec), and pytest's parent holds TensorFlow.
    status_lines = open("/proc/self/status").read().splitlines()
    peak_kib = int(next(line for line in status_lines if line.startswith("VmHWM:")).split()[1])
    print(json.dumps({"status": status, "peak_mib": peak_kib / 1024}))
    """
)


def build_measured(argv: list[str]) -> tuple[int, float, str]:
    """Run the CLI in a child process: (exit status, peak RSS in MiB, stderr)."""
    child = subprocess.run(
        [sys.executable, "-c", _MEASURED_BUILD, *argv],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    return result["status"], result["peak_mib"], child.stderr


def test_a_tar_bomb_is_refused_within_bounded_memory(labels_csv: Path, tmp_path: Path) -> None:
    bomb = write_tar_bomb(tmp_path / "bomb.tar.gz", 256 * MiB)
    assert bomb.stat().st_size < 1 * MiB
    out = tmp_path / "index"
    argv = ["index", "build-audioset", "--features", str(bomb), "--labels", str(labels_csv)]
    status, peak_mib, stderr = build_measured([*argv, "-o", str(out), "--no-progress"])
    assert status == 1, stderr
    assert "64 MiB" in one_line_error(stderr)
    assert peak_mib < 400  # reading the member whole took about 4 GiB
    assert_nothing_published(out)


def test_members_under_the_limit_are_read_within_bounded_memory(
    labels_csv: Path, tmp_path: Path
) -> None:
    archive = write_tar_bomb(tmp_path / "many.tar.gz", 60 * MiB, members=12)  # 720 MiB
    out = tmp_path / "index"
    argv = ["index", "build-audioset", "--features", str(archive), "--labels", str(labels_csv)]
    status, peak_mib, stderr = build_measured([*argv, "-o", str(out), "--no-progress"])
    assert status == 1 and "Nothing to index" in one_line_error(stderr)  # zeros hold no record
    assert peak_mib < 400  # sixteen members read ahead held about 1 GiB
    assert_nothing_published(out)
