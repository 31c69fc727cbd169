"""The hand-made table of everyday words ("calm", "energetic", "no vocals") and what each
stands for in each catalog, kept as data in :data:`EVERYDAY_WORDS_FILE` beside this module.

Format: ``{"about": ..., "words": [row, ...]}``, each row
``{"word": "calm", "audioset": {"any": [label, ...]}, "mtt": {...}, "msd": {...}}``: for
each catalog it maps onto (:data:`CATALOG_KEYS`), ``{"any": names}`` means items carrying
any of those labels or tags, ``{"not": names}`` items carrying none of them. A catalog a
row does not name has no mapping for that word. The names are AudioSet display names and
musicnn tag names as spelt in their lists; the tests check each against the real files.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from musicrec_core.errors import CatalogError

EVERYDAY_WORDS_FILE = "everyday_words.json"
"""The table's file name inside this package (shipped as package data)."""

CATALOG_KEYS = ("audioset", "mtt", "msd")
"""The catalogs a row may map onto: AudioSet's labels, musicnn MTT's and MSD's tags."""


@dataclass(frozen=True)
class Target:
    """What an everyday word stands for in one catalog.

    Attributes:
        names: AudioSet display names or musicnn tag names, as the table lists them.
        negated: True for ``{"not": ...}``: items must carry none of ``names``.
    """

    names: tuple[str, ...]
    negated: bool


@dataclass(frozen=True)
class EverydayWord:
    """One row of the table: a word or phrase and its target in each catalog it maps onto."""

    word: str
    targets: Mapping[str, Target]


def parse_everyday_words(text: str) -> tuple[EverydayWord, ...]:
    """Parse the table's JSON text (format in the module docstring).

    Raises:
        CatalogError: not JSON, no ``words`` list, a row without a word, an unknown
            catalog, a target that is not exactly one of ``any``/``not`` with a non-empty
            list of names.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogError(f"The everyday-words table is not JSON: {exc}.") from exc
    rows = document.get("words") if isinstance(document, dict) else None
    if not isinstance(rows, list):
        raise CatalogError("The everyday-words table has no 'words' list.")
    return tuple(_row(row) for row in rows)


def _row(row: object) -> EverydayWord:
    if not isinstance(row, dict) or not isinstance(row.get("word"), str) or not row["word"]:
        raise CatalogError(f"An everyday-words row lacks its word: {row!r}.")
    word = row["word"]
    targets: dict[str, Target] = {}
    for key, value in row.items():
        if key == "word":
            continue
        if key not in CATALOG_KEYS:
            raise CatalogError(f"The everyday word {word!r} names an unknown catalog {key!r}.")
        if not isinstance(value, dict) or len(value) != 1 or set(value) - {"any", "not"}:
            raise CatalogError(
                f"The everyday word {word!r} must give either 'any' or 'not' for {key}."
            )
        ((mode, names),) = value.items()
        if (
            not isinstance(names, list)
            or not names
            or not all(isinstance(name, str) and name for name in names)
        ):
            raise CatalogError(f"The everyday word {word!r} names nothing for {key}.")
        targets[key] = Target(tuple(names), negated=mode == "not")
    return EverydayWord(word, targets)


@functools.cache
def load_everyday_words() -> tuple[EverydayWord, ...]:
    """The shipped table, parsed once per process."""
    text = resources.files(__package__).joinpath(EVERYDAY_WORDS_FILE).read_text("utf-8")
    return parse_everyday_words(text)
