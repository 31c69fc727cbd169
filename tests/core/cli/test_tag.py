"""``musicrec tag``: whole-file tags as a table or JSON, options, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from musicrec_core.cli import main
from musicrec_core.embedders.musicnn.tags import MSD_TAGS, MTT_TAGS
from musicrec_core.tf_banner import LOG_LEVEL_ENV
from tests.helpers.media import MakeMedia
from tests.helpers.musicnn import REFERENCE_DIR, expected_rankings, install_weights


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["tag", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.skipif(
    not expected_rankings(),
    reason=f"reference clips and EXPECTED.md not found in {REFERENCE_DIR}",
)
def test_json_for_a_reference_clip_covers_the_whole_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    install_weights()
    clip_name, documented = expected_rankings()[0]
    document = run_json(capsys, str(REFERENCE_DIR / clip_name), "-k", str(len(documented)))
    assert [entry["tag"] for entry in document["tags"]] == documented
    probabilities = [entry["probability"] for entry in document["tags"]]
    assert probabilities == sorted(probabilities, reverse=True)
    source = document["source"]
    assert source["start"] == 0.0
    assert source["duration"] == pytest.approx(source["source_duration"], abs=0.15)
    assert document["embedder"]["version"] == "musicnn-mtt-0.1.0"


@pytest.mark.skipif(
    not expected_rankings(),
    reason=f"reference clips and EXPECTED.md not found in {REFERENCE_DIR}",
)
def test_a_real_run_prints_nothing_on_stderr() -> None:
    """As a separate process, so TensorFlow's C++ start-up lines would show up."""
    install_weights()
    clip_name, documented = expected_rankings()[0]
    environment = {k: v for k, v in os.environ.items() if k != LOG_LEVEL_ENV}
    finished = subprocess.run(
        [sys.executable, "-m", "musicrec_core.cli", "tag", str(REFERENCE_DIR / clip_name)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=Path(__file__).resolve().parents[3],
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stderr == ""
    assert documented[0] in finished.stdout


def test_table_with_the_msd_model(
    capsys: pytest.CaptureFixture[str], make_media: MakeMedia
) -> None:
    install_weights()
    song = make_media("song.ogg", seconds=7.0, tone_hz=None)
    assert main(["tag", str(song), "--model", "msd", "-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("song.ogg (0:00-0:07), musicnn MSD, 2 patch(es)")
    assert len(lines) == 4
    for rank, line in enumerate(lines[1:], start=1):
        number, *name, probability = line.split()
        assert int(number) == rank and " ".join(name) in MSD_TAGS
        assert 0.0 <= float(probability) <= 1.0


def test_start_seconds_and_padding(
    capsys: pytest.CaptureFixture[str], make_media: MakeMedia
) -> None:
    install_weights()
    song = make_media("song.wav", seconds=20.0, tone_hz=330.0)
    document = run_json(capsys, str(song), "--start", "0:05", "--seconds", "6.5", "-k", "50")
    assert document["source"]["start"] == 5.0
    assert document["source"]["duration"] == pytest.approx(6.5)
    assert document["patches"] == 2 and document["padded"] is False
    assert sorted(entry["tag"] for entry in document["tags"]) == sorted(MTT_TAGS)

    short = make_media("short.mp3", seconds=1.5, tone_hz=440.0)
    document = run_json(capsys, str(short))
    assert document["patches"] == 1 and document["padded"] is True
    assert len(document["tags"]) == 10


def test_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], make_media: MakeMedia, tmp_path: Path
) -> None:
    song = make_media("song.wav", seconds=4.0)
    assert main(["tag", str(song)]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "musicrec models download musicnn" in error

    install_weights()
    text = tmp_path / "notes.mp3"
    text.write_text("not audio at all\n" * 20)
    assert main(["tag", str(text)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("musicrec: ") and error.count("\n") == 1


def test_the_precision_setting_is_honoured_with_one_line_refusals(
    capsys: pytest.CaptureFixture[str], make_media: MakeMedia, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MUSICREC_PRECISION reaches musicnn here as everywhere: int8 is refused, and so is
    bfloat16 without a passing check in this cache (tag ran float32 whatever it said)."""
    install_weights()
    song = make_media("song.wav", seconds=4.0)
    for precision, said in (("int8", "int8"), ("bfloat16", "musicrec quantize check")):
        monkeypatch.setenv("MUSICREC_PRECISION", precision)
        assert main(["tag", str(song)]) == 1
        error = capsys.readouterr().err
        assert error.startswith("musicrec: ") and error.count("\n") == 1 and said in error


def test_bad_options_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--model", "big"], ["-k", "0"], ["--seconds", "0.2"], ["--start", "soon"]):
        with pytest.raises(SystemExit) as stopped:
            main(["tag", "x.mp3", *argv])
        assert stopped.value.code == 2
    capsys.readouterr()


def test_sources_that_are_neither_files_nor_youtube_links_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for source in (str(tmp_path / "missing.mp3"), "https://example.com/song.mp3"):
        assert main(["tag", source]) == 1
        error = capsys.readouterr().err
        assert error.startswith("musicrec: ") and error.count("\n") == 1
        assert "YouTube" in error
