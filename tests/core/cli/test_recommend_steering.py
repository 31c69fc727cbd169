"""``musicrec recommend --more/--less``: steering from the command line, in the table and in
``--json``, and its refusals as one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from musicrec_core.cli import main
from musicrec_core.steering.filter import STEER_WIDTH_FACTOR
from tests.helpers.music import generate_music
from tests.helpers.shared_data import AUDIOSET_METADATA, needs_audioset_metadata
from tests.helpers.steering_indexes import CLI_SEGMENTS, build_cli_catalog

pytestmark = [needs_audioset_metadata, pytest.mark.usefixtures("shared_vggish_cache")]


@pytest.fixture(scope="module")
def query(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("query") / "tune.wav"
    generate_music(path, seconds=11, notes_hz=(262.0, 330.0), pulse_hz=2.0)
    return path


@pytest.fixture
def catalog(synthetic_vggish: tuple[Path, Path], tmp_path: Path) -> Path:
    """An AudioSet-style catalog of 12 labelled segments for the synthetic VGGish weights."""
    return build_cli_catalog(tmp_path / "index", synthetic_vggish)


def recommend(capsys, weights, *args: str) -> tuple[int, str, str]:
    files = ["--checkpoint", str(weights[0]), "--pca", str(weights[1]), "--no-titles"]
    status = main(["recommend", *args, *files])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_json_says_how_each_word_resolved_and_how_many_qualified(
    capsys: pytest.CaptureFixture[str], synthetic_vggish, catalog: Path, query: Path
) -> None:
    args = [str(query), "--index", str(catalog), "-k", "5", "--more", "jazz", "--less", "vocals"]
    status, out, err = recommend(capsys, synthetic_vggish, *args, "--json")
    assert (status, err) == (0, "")
    document = json.loads(out)
    steering = document["steering"]
    assert [word["names"] for word in steering["more"]] == [["Jazz"]]
    assert steering["less"][0]["word"] == "vocals" and steering["less"][0]["names"] == ["Singing"]
    assert (steering["qualified"], steering["searched"], steering["width"]) == (3, 3, 3)
    assert (steering["exact"], steering["unit"]) == (True, "segment")
    items = document["items"]
    assert len(items) == 3 and all(item["labels"] == ["Music", "Jazz"] for item in items)
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True)

    status, out, _ = recommend(capsys, synthetic_vggish, *args)
    lines = out.splitlines()
    assert lines[1].startswith("Steering: more jazz (= Jazz); less vocals (= Singing).")
    assert "3 segments of the catalog qualify" in lines[1]
    assert "fewer than the 5 asked: only 3 shown" in lines[1]
    assert len(lines) == 2 + 1 + 3  # query, steering, header, three rows


def test_less_words_alone_search_the_fixed_width(
    capsys: pytest.CaptureFixture[str], synthetic_vggish, catalog: Path, query: Path
) -> None:
    args = [str(query), "--index", str(catalog), "-k", "2", "--less", "speech", "--json"]
    status, out, _ = recommend(capsys, synthetic_vggish, *args)
    steering = json.loads(out)["steering"]
    assert status == 0 and not steering["exact"]
    assert (steering["searched"], steering["width"]) == (CLI_SEGMENTS, 2 * STEER_WIDTH_FACTOR)
    assert steering["qualified"] == 9  # all but the 3 speech segments


def test_the_labels_files_can_be_given(
    capsys: pytest.CaptureFixture[str], synthetic_vggish, catalog: Path, query: Path, tmp_path
) -> None:
    """As for discover and vocab: --labels/--ontology name AudioSet's files."""
    args = [str(query), "--index", str(catalog), "--more", "jazz"]
    missing = ["--labels", str(tmp_path / "none.csv")]
    status, out, err = recommend(capsys, synthetic_vggish, *args, *missing)
    assert status != 0 and out == "" and "none.csv" in err and "Traceback" not in err
    given = ["--labels", str(AUDIOSET_METADATA / "class_labels_indices.csv")]
    given += ["--ontology", str(AUDIOSET_METADATA / "ontology.json")]
    status, out, _ = recommend(capsys, synthetic_vggish, *args, *given)
    assert status == 0 and "Steering: more jazz (= Jazz)" in out


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["--more", "jazz", "--less", "Jazz"], "rule out"),
        (["--more", "**jazz**"], "nearest it knows: Jazz"),
        (["--more", "jazz"] * 9, "at most 8 words"),
    ],
)
def test_bad_words_are_one_line_errors(
    capsys: pytest.CaptureFixture[str],
    synthetic_vggish,
    catalog: Path,
    query: Path,
    words: list[str],
    message: str,
) -> None:
    status, out, err = recommend(
        capsys, synthetic_vggish, str(query), "--index", str(catalog), *words
    )
    assert status != 0 and out == ""
    assert message in err and "Traceback" not in err
