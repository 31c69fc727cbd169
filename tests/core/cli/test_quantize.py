"""``musicrec quantize check``: what it says when it cannot check."""

from __future__ import annotations

from pathlib import Path

import pytest

from musicrec_core.cli import main


def test_missing_weights_are_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    absent = ["--checkpoint", str(tmp_path / "no.ckpt"), "--pca", str(tmp_path / "no.npz")]
    assert main(["quantize", "check", *absent]) == 1
    error = capsys.readouterr().err
    assert error.startswith("musicrec: ") and error.count("\n") == 1
    assert "no.ckpt" in error and "musicrec models download vggish" in error


def test_a_library_too_small_for_ten_neighbours_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["quantize", "check", "--library", "5", "--queries", "2"]) == 1
    error = capsys.readouterr().err
    assert "at least 10 library clips" in error and error.count("\n") == 1


def test_without_an_action_it_shows_its_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quantize"]) == 2
    assert "check" in capsys.readouterr().out
