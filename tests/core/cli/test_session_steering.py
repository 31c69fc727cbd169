"""``musicrec mix/path --more/--less``: a session plays only tracks carrying the words, says
its steering in the table and in ``--json``, and refuses bad words in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from musicrec_core.cli import main
from tests.helpers.music import generate_music
from tests.helpers.shared_data import needs_audioset_metadata
from tests.helpers.steering_indexes import build_cli_catalog

pytestmark = [needs_audioset_metadata, pytest.mark.usefixtures("shared_vggish_cache")]

JAZZ_NOT_SUNG = ["--more", "jazz", "--less", "vocals"]


@pytest.fixture(scope="module")
def ends(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("ends")
    a = generate_music(folder / "a.wav", seconds=11, notes_hz=(262.0, 330.0), pulse_hz=2.0)
    b = generate_music(folder / "b.wav", seconds=11, notes_hz=(1760.0,), noise=0.3)
    return a, b


@pytest.fixture
def catalog(synthetic_vggish: tuple[Path, Path], tmp_path: Path) -> Path:
    return build_cli_catalog(tmp_path / "index", synthetic_vggish)


def session(capsys, weights, *args: str) -> tuple[int, str, str]:
    status = main([*args, "--checkpoint", str(weights[0]), "--pca", str(weights[1])])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_a_steered_mix_plays_only_tracks_carrying_the_words(
    capsys, synthetic_vggish, catalog: Path, ends
) -> None:
    args = ["mix", str(ends[0]), "-n", "5", "--index", str(catalog), *JAZZ_NOT_SUNG]
    status, out, _ = session(capsys, synthetic_vggish, *args, "--json")
    assert status == 0
    document = json.loads(out)
    assert [word["names"] for word in document["steering"]["more"]] == [["Jazz"]]
    assert document["steering"]["less"][0]["names"] == ["Singing"]
    assert [item["labels"] for item in document["items"]] == 3 * [["Music", "Jazz"]]
    assert "Only 3 of the 5" in document["shortfall"]

    status, out, err = session(capsys, synthetic_vggish, *args)
    assert status == 0 and "Only 3 of the 5" in err
    lines = out.splitlines()
    assert lines[0] == "Steering: more jazz (= Jazz); less vocals (= Singing)."
    assert len(lines) == 1 + 1 + 3  # steering, header, three rows


def test_a_path_takes_the_words_too(capsys, synthetic_vggish, catalog: Path, ends) -> None:
    """Which steps a steered path plays: tests/core/sessions/test_steered_mix.py."""
    args = ["path", str(ends[0]), str(ends[1]), "-n", "4", "--index", str(catalog)]
    status, out, _ = session(capsys, synthetic_vggish, *args, "--less", "speech", "--json")
    assert status == 0
    steering = json.loads(out)["steering"]
    assert steering["less"][0]["names"] == ["Speech"] and steering["more"] == []


def test_bad_words_are_one_line_errors(capsys, synthetic_vggish, catalog: Path, ends) -> None:
    args = ["mix", str(ends[0]), "--index", str(catalog), "--more", "jazz", "--less", "Jazz"]
    status, out, err = session(capsys, synthetic_vggish, *args)
    assert status != 0 and out == ""
    assert "rule out" in err and "Traceback" not in err
