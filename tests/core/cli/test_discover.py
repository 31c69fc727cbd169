"""``musicrec discover``: items carrying all the words, as a table or JSON; bad words get
one line and exit 1, never a traceback."""

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


@needs_audioset_metadata
def test_json_gives_the_items_how_each_word_resolved_and_how_many_qualified(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install_audioset_metadata()
    index = build_audioset_index(tmp_path / "index")
    assert main(["discover", "Music", "no vocals", "--index", str(index), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["catalog"] == "audioset" and document["qualified"] == 2
    assert [word["word"] for word in document["words"]] == ["Music", "no vocals"]
    assert document["words"][1]["negated"] and document["words"][1]["names"] == [
        "Singing",
        "Speech",
    ]
    items = document["items"]
    assert sorted(item["group"] for item in items) == ["vid0", "vid1"]
    assert items[0]["url"] == f"https://www.youtube.com/watch?v={items[0]['group']}&t=30s"
    assert items[0]["start_s"] == 30.0 and items[0]["rank"] == 1
    assert main(["discover", "jazz", "--index", str(index), "-k", "3", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "jazz -> Jazz (label, after plural/case folding)" in out
    assert "1 segment carries all the words; showing 1 (seed 2)." in out
    assert "https://www.youtube.com/watch?v=vid0&t=30s" in out


def test_a_library_lists_its_tracks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index = build_tagged_library(tmp_path / "library")
    assert main(["discover", "drums", "--index", str(index)]) == 0
    out = capsys.readouterr().out
    assert "1 track carries all the words" in out and "track-b" in out and "track-a" not in out


@needs_audioset_metadata
@pytest.mark.parametrize(
    ("words", "said"),
    [
        (["jazzz"], "the nearest it knows: Jazz"),
        (["singing", "no vocals"], "contradict each other"),
        (["violin"], "0 segments of this catalog carry all of: violin (Violin, fiddle)"),
        (["music"] * 50, "at most 8 words at once; 50 were given"),
    ],
)
def test_bad_words_get_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], words: list[str], said: str
) -> None:
    install_audioset_metadata()
    index = build_audioset_index(tmp_path / "index")
    assert main(["discover", *words, "--index", str(index)]) == 1
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err and err.count("\n") == 1


def test_a_vggish_library_is_refused_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = build_vggish_library(tmp_path / "library")
    assert main(["discover", "piano", "--index", str(index)]) == 1
    assert "VGGish library" in capsys.readouterr().err
