"""``musicrec embed`` end to end: real ffmpeg decoding, the synthetic VGGish checkpoint."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.cli import main
from musicrec_core.embedders.vggish import VGGishEmbedder
from tests.helpers.media import MakeMedia


@pytest.fixture
def weights_args(synthetic_vggish: tuple[Path, Path], shared_vggish_cache: Path) -> list[str]:
    checkpoint, pca = synthetic_vggish
    return ["--checkpoint", str(checkpoint), "--pca", str(pca)]


def test_default_output_is_uint8_codes(
    make_media: MakeMedia,
    weights_args: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    song = make_media("song.mp3", seconds=12, tone_hz=660)
    out = tmp_path / "song.npy"
    assert main(["embed", str(song), *weights_args, "--start", "1", "-o", str(out)]) == 0
    codes = np.load(out)
    assert codes.dtype == np.uint8 and codes.shape == (10, 128)
    assert codes.std() > 0
    assert stat.S_IMODE(out.stat().st_mode) & 0o044, "output should be readable like any file"
    printed = capsys.readouterr().out
    assert "uint8 [10, 128]" in printed and "song.mp3" in printed and "vggish-custom-" in printed
    assert not list(tmp_path.glob("musicrec-*"))


def test_raw_output_is_float32_and_matches_the_library(
    make_media: MakeMedia,
    weights_args: list[str],
    synthetic_vggish: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    song = make_media("short.wav", seconds=3.5, tone_hz=440, channels=1, sample_rate=16000)
    out = tmp_path / "raw.npy"
    assert main(["embed", str(song), *weights_args, "--raw", "-o", str(out)]) == 0
    raw = np.load(out)
    assert raw.dtype == np.float32 and raw.shape == (3, 128)
    from musicrec_core.audio import load_clip

    embedder = VGGishEmbedder.from_files(*synthetic_vggish)
    expected = embedder.embed(load_clip(song)).raw
    np.testing.assert_allclose(raw, expected, rtol=1e-5, atol=1e-5)


def test_bad_input_writes_nothing(
    tmp_path: Path, weights_args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.mp3"
    text.write_text("these are not sounds\n")
    out = tmp_path / "out.npy"
    assert main(["embed", str(text), *weights_args, "-o", str(out)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("musicrec: ") and error.count("\n") == 1
    assert not out.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.mp3"]


def test_missing_weights_are_explained(
    make_media: MakeMedia, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    song = make_media("song.wav", seconds=2)
    out = tmp_path / "out.npy"
    absent = ["--checkpoint", str(tmp_path / "no.ckpt"), "--pca", str(tmp_path / "no.npz")]
    assert main(["embed", str(song), *absent, "-o", str(out)]) == 1
    error = capsys.readouterr().err
    assert "no.ckpt" in error and "musicrec models download vggish" in error
    assert not out.exists()


def test_unwritable_destination(
    make_media: MakeMedia,
    weights_args: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    song = make_media("song.wav", seconds=2)
    out = tmp_path / "no-such-folder" / "out.npy"
    assert main(["embed", str(song), *weights_args, "-o", str(out)]) == 1
    assert "Cannot write" in capsys.readouterr().err


def test_neither_file_nor_link(
    tmp_path: Path, weights_args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.npy"
    assert main(["embed", str(tmp_path / "absent.mp3"), *weights_args, "-o", str(out)]) == 1
    assert "neither an existing file nor a YouTube link" in capsys.readouterr().err
    assert not out.exists()


def test_weights_flags_need_vggish(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["embed", "x.mp3", "--embedder", "musicnn", "--pca", "p.npz", "-o", "o.npy"]
    assert main(args) == 1
    assert "vggish embedder only" in capsys.readouterr().err
