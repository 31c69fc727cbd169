"""``musicrec vocab``: list a catalog's vocabulary, or say how each word resolves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from musicrec_core.cli import main
from tests.helpers.shared_data import needs_audioset_metadata
from tests.helpers.steering_indexes import (
    build_audioset_index,
    build_tagged_library,
    build_vggish_library,
    install_audioset_metadata,
)


def vocab_json(capsys: pytest.CaptureFixture[str], *argv: str, status: int = 0) -> dict:
    assert main(["vocab", *argv, "--json"]) == status
    return json.loads(capsys.readouterr().out)


@needs_audioset_metadata
def test_without_an_index_it_lists_the_audioset_vocabulary_by_group(
    capsys: pytest.CaptureFixture[str],
) -> None:
    install_audioset_metadata()
    assert main(["vocab"]) == 0
    out = capsys.readouterr().out
    assert "Labels (527)" in out and "Everyday words" in out and "Synonyms" in out
    assert "Tender music" in out and "calm" in out
    document = vocab_json(capsys)
    assert document["catalog"] == "audioset" and len(document["labels"]) == 527
    calm = [row for row in document["everyday_words"] if row["word"] == "calm"]
    assert calm == [{"word": "calm", "names": ["Tender music"], "negated": False}]


@needs_audioset_metadata
def test_words_show_how_they_resolve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install_audioset_metadata()
    index = build_audioset_index(tmp_path / "index")
    assert main(["vocab", "--index", str(index), "Drums", "no vocals"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Drums -> Drum") and "plural/case folding" in out[0]
    assert out[1].startswith("no vocals -> not Singing, Speech") and "everyday word" in out[1]
    document = vocab_json(capsys, "--index", str(index), "calm")
    (word,) = document["words"]
    assert word["resolution"]["names"] == ["Tender music"]
    assert word["resolution"]["kind"] == "everyday word"
    assert word["descriptions"]["Tender music"].startswith("Music that evokes")


def test_an_unknown_word_is_refused_with_the_nearest_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = build_tagged_library(tmp_path / "index")
    assert main(["vocab", "--index", str(index), "piano", "pianno", "**techno**"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("piano -> piano (tag)")
    assert out[1].startswith("pianno: ") and "nearest it knows: piano" in out[1]
    assert out[2].startswith("**techno**: ") and "techno" in out[2]
    document = vocab_json(capsys, "--index", str(index), "**techno**", status=1)
    (word,) = document["words"]
    assert word["word"] == "**techno**" and "techno" in word["nearest"]
    assert "error" in word and "resolution" not in word


def test_a_library_lists_its_tags_and_the_everyday_words_that_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = build_tagged_library(tmp_path / "index")
    document = vocab_json(capsys, "--index", str(index))
    assert document["catalog"] == "mtt" and len(document["tags"]) == 50
    assert "labels" not in document
    words = {row["word"] for row in document["everyday_words"]}
    assert "calm" in words and "hip hop" not in words


def test_a_vggish_library_has_no_vocabulary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = build_vggish_library(tmp_path / "index")
    assert main(["vocab", "--index", str(index), "piano"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("musicrec: ") and "neither labels nor tags" in err
    assert len(err.splitlines()) == 1


def test_too_many_words_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index = build_tagged_library(tmp_path / "index")
    assert main(["vocab", "--index", str(index), *["piano"] * 50]) == 1
    err = capsys.readouterr().err
    assert "at most" in err and len(err.splitlines()) == 1


def test_a_missing_index_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vocab", "--index", str(tmp_path / "nowhere")]) == 1
    assert "does not exist" in capsys.readouterr().err
