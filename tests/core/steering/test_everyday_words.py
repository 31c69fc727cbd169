"""The hand-made table of everyday words: every row names real labels and tags, and none
is hidden behind a label or tag of the same name."""

from __future__ import annotations

import json
import tomllib
from importlib import resources

import pytest

from musicrec_core.catalog.labels import read_labels
from musicrec_core.embedders.musicnn.tags import MSD_TAGS, MTT_TAGS
from musicrec_core.errors import CatalogError
from musicrec_core.steering.everyday import (
    CATALOG_KEYS,
    EVERYDAY_WORDS_FILE,
    EverydayWord,
    load_everyday_words,
    parse_everyday_words,
)
from musicrec_core.steering.folding import fold
from tests.helpers.shared_data import AUDIOSET_METADATA, REPO_ROOT, needs_audioset_metadata

TABLE = load_everyday_words()
NAMES = {"mtt": set(MTT_TAGS), "msd": set(MSD_TAGS)}


def test_the_table_ships_as_package_data_and_holds_a_few_dozen_rows() -> None:
    text = resources.files("musicrec_core.steering").joinpath(EVERYDAY_WORDS_FILE).read_text()
    assert len(json.loads(text)["words"]) == len(TABLE)
    assert 30 <= len(TABLE) <= 120
    assert CATALOG_KEYS == ("audioset", "mtt", "msd")


def test_a_built_wheel_carries_the_table() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = pyproject["tool"]["setuptools"]["package-data"]["musicrec_core"]
    assert f"steering/{EVERYDAY_WORDS_FILE}" in package_data


def test_words_are_unique_after_folding_and_each_maps_somewhere() -> None:
    keys = [fold(row.word) for row in TABLE]
    assert len(keys) == len(set(keys))
    assert all(row.targets for row in TABLE)


@needs_audioset_metadata
@pytest.mark.parametrize("row", TABLE, ids=lambda row: row.word)
def test_each_row_names_real_labels_and_tags(row: EverydayWord) -> None:
    labels = {c.name for c in read_labels(AUDIOSET_METADATA / "class_labels_indices.csv")}
    known = {"audioset": labels, **NAMES}
    for catalog, target in row.targets.items():
        assert target.names, (row.word, catalog)
        assert set(target.names) <= known[catalog], (row.word, catalog)
        # A label or tag with the word's own (folded) name would win over the row.
        assert fold(row.word) not in {fold(name) for name in known[catalog]}, (row.word, catalog)


@pytest.mark.parametrize(
    ("word", "catalog", "names", "negated"),
    [
        ("calm", "audioset", ("Tender music",), False),
        ("energetic", "audioset", ("Exciting music",), False),
        ("hip hop", "audioset", ("Hip hop music",), False),
        ("no vocals", "audioset", ("Singing", "Speech"), True),
        ("no vocals", "msd", ("instrumental",), False),
    ],
)
def test_the_issues_examples(word: str, catalog: str, names: tuple, negated: bool) -> None:
    (row,) = [row for row in TABLE if row.word == word]
    assert row.targets[catalog].names == names
    assert row.targets[catalog].negated is negated


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"words": [{"word": "x", "jazz": {"any": ["a"]}}]}, "unknown catalog 'jazz'"),
        ({"words": [{"word": "x", "mtt": {"any": []}}]}, "names nothing"),
        ({"words": [{"word": "x", "mtt": {"any": ["a"], "not": ["b"]}}]}, "either"),
        ({"words": [{"word": "", "mtt": {"any": ["a"]}}]}, "word"),
        ({"rows": []}, "words"),
    ],
)
def test_a_malformed_table_is_refused_with_its_reason(document: dict, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        parse_everyday_words(json.dumps(document))
