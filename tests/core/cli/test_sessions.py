"""``musicrec mix`` and ``musicrec path`` end to end on a library of three generated songs
(synthetic VGGish, the library ``test_recommend`` builds)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.catalog.library import track_key
from musicrec_core.cli import main

pytestmark = pytest.mark.usefixtures("shared_vggish_cache")


def run(capsys, synthetic_vggish, *args: str) -> tuple[int, str, str]:
    weights = ["--checkpoint", str(synthetic_vggish[0]), "--pca", str(synthetic_vggish[1])]
    status = main([*args, *weights])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def test_mix_json_gives_exact_cosines_skips_a_bad_seed_and_says_it_is_short(
    capsys, synthetic_vggish, music: Path, vggish_library: Path, tmp_path: Path
) -> None:
    seed = music / "c-major.wav"
    (tmp_path / "notes.txt").write_text("not audio")
    status, out, err = run(
        capsys, synthetic_vggish, "mix", str(seed), str(tmp_path / "notes.txt"),
        "-n", "5", "--index", str(vggish_library), "--json",
    )  # fmt: skip
    assert status == 0
    assert "notes.txt: skipped:" in err
    document = json.loads(out)
    assert [f["source"] for f in document["failed_seeds"]] == [str(tmp_path / "notes.txt")]
    groups = [item["group"] for item in document["items"]]
    assert len(groups) == len(set(groups)) == 2  # three tracks, less the seed's own
    assert track_key(seed) not in groups
    assert "Only 2 of the 5" in document["shortfall"]
    with CatalogIndex.load(vggish_library) as index:
        previous = None
        for item in document["items"]:
            vector = unit(index.vector(item["item_id"]))
            if previous is not None:
                assert item["to_previous"] == pytest.approx(float(vector @ previous), abs=1e-3)
            previous = vector


def test_mix_writes_a_playlist_of_paths_a_player_opens(
    capsys, synthetic_vggish, music: Path, vggish_library: Path, tmp_path: Path
) -> None:
    playlist = tmp_path / "mix.m3u8"
    status, out, _ = run(
        capsys, synthetic_vggish, "mix", str(music / "low-drone.flac"), "-n", "2",
        "--index", str(vggish_library), "--m3u", str(playlist),
    )  # fmt: skip
    assert status == 0 and "to prev" in out.splitlines()[0]
    lines = playlist.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U" and len(lines) == 5
    for info, where in zip(lines[1::2], lines[2::2], strict=True):
        assert info.startswith("#EXTINF:21,")  # the songs last 21 s
        assert Path(where).is_file() and Path(where).parent == music.resolve()


def test_mix_with_no_usable_seed_is_one_line(
    capsys, synthetic_vggish, vggish_library: Path, tmp_path: Path
) -> None:
    status, out, err = run(
        capsys, synthetic_vggish, "mix", str(tmp_path / "missing.wav"),
        "--index", str(vggish_library),
    )  # fmt: skip
    assert (status, out) == (1, "")
    assert (
        err.splitlines()[-1] == "musicrec: No seed could be used, so there is nothing to mix from."
    )


def test_path_json_and_the_same_track_twice(
    capsys, synthetic_vggish, music: Path, vggish_library: Path
) -> None:
    a, b = str(music / "c-major.wav"), str(music / "busy-noise.mp3")
    status, out, _ = run(
        capsys, synthetic_vggish, "path", a, b, "-n", "3", "--index", str(vggish_library),
        "--json",
    )  # fmt: skip
    assert status == 0
    document = json.loads(out)
    assert document["asked"] == 3
    assert {item["group"] for item in document["items"]} <= {track_key(music / "low-drone.flac")}
    assert all({"to_a", "to_b"} <= set(item) for item in document["items"])
    status, out, err = run(
        capsys, synthetic_vggish, "path", a, a, "--index", str(vggish_library)
    )  # fmt: skip
    assert (status, out) == (1, "")
    assert "same track" in err


def test_a_seed_that_is_a_catalog_song_re_encoded_is_never_played(
    capsys, synthetic_vggish, music: Path, vggish_library: Path, tmp_path: Path
) -> None:
    song = music / "c-major.wav"
    copy = tmp_path / "c-major-copy.ogg"  # other bytes (another track key), the same music
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(song), "-q:a", "8", str(copy)], check=True)
    assert track_key(copy) != track_key(song)
    status, out, _ = run(
        capsys, synthetic_vggish, "mix", str(copy), "-n", "3", "--index", str(vggish_library),
        "--json",
    )  # fmt: skip
    assert status == 0
    groups = [item["group"] for item in json.loads(out)["items"]]
    assert track_key(song) not in groups and len(groups) == 2
    other = str(music / "busy-noise.mp3")
    status, out, _ = run(
        capsys, synthetic_vggish, "path", str(copy), other, "-n", "3",
        "--index", str(vggish_library), "--json",
    )  # fmt: skip
    assert status == 0
    assert track_key(song) not in {item["group"] for item in json.loads(out)["items"]}
