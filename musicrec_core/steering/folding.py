"""How a word is matched: case, spacing, hyphens and English plurals folded away, and the
caps on what a member may type.

``fold("Hip-Hop")`` and ``fold("hip hop")`` are both ``"hip hop"``; ``fold("Drums")`` is
``"drum"``, so "Drums" finds AudioSet's "Drum" and "drum" finds MTT's "drums". Only the
last word of a phrase loses its plural ("female vocalists" -> "female vocalist"). The rule
is small on purpose and applied alike to the vocabulary and to the words looked up, so it
only has to be consistent, not good English ("blues" and "blue" fold together).

Markdown and mentions are ordinary characters here: ``**jazz**`` is not ``jazz``.
"""

from __future__ import annotations

from collections.abc import Sequence

from musicrec_core.errors import BadWordsError

MAX_WORD_CHARS = 64
"""Longest word or phrase accepted, in characters (AudioSet's longest label has 40)."""

MAX_WORDS = 8
"""Most words one request may steer by (``more`` and ``less`` together): a reply's button
must carry them in Discord's 100-character custom_id."""

_UNCHANGED_ENDINGS = ("ss", "us", "is")
_ES_ENDINGS = ("ches", "shes", "xes", "sses", "zzes")
_SHORTEST_PLURAL = 4
"""Words shorter than this keep a final "s" ("bus", "70s")."""


def normalise(text: str) -> str:
    """Case-folded, hyphens and underscores as spaces, runs of spaces as one, stripped."""
    spaced = text.casefold().replace("-", " ").replace("_", " ")
    return " ".join(spaced.split())


def singular(word: str) -> str:
    """A crude English singular of one lower-case word ("drums" -> "drum",
    "melodies" -> "melody", "boxes" -> "box"); words it does not recognise as plurals
    come back unchanged."""
    if len(word) < _SHORTEST_PLURAL or not word.endswith("s") or word.endswith(_UNCHANGED_ENDINGS):
        return word
    if word.endswith("ies") and len(word) > _SHORTEST_PLURAL:
        return word[:-3] + "y"
    if word.endswith(_ES_ENDINGS):
        return word[:-2]
    return word[:-1]


def fold(text: str) -> str:
    """The key a word or a vocabulary term is matched by: :func:`normalise`, then the last
    word made :func:`singular`."""
    words = normalise(text).split(" ")
    words[-1] = singular(words[-1])
    return " ".join(words)


def checked_word(word: str) -> str:
    """``word`` stripped, once it is non-empty, short enough and free of control
    characters (which includes bidirectional overrides).

    Raises:
        BadWordsError: saying which rule the word breaks.
    """
    stripped = word.strip()
    if not stripped:
        raise BadWordsError("An empty word cannot steer anything; give a word or a phrase.")
    if len(stripped) > MAX_WORD_CHARS:
        raise BadWordsError(
            f"A word or phrase may have at most {MAX_WORD_CHARS} characters; one has "
            f"{len(stripped)}."
        )
    if not stripped.isprintable():
        raise BadWordsError("A word holds a control or formatting character; type it plainly.")
    return stripped


def checked_words(words: Sequence[str]) -> list[str]:
    """Every word through :func:`checked_word`, once there are at most :data:`MAX_WORDS`.

    Raises:
        BadWordsError: too many words, or a word :func:`checked_word` refuses.
    """
    if len(words) > MAX_WORDS:
        raise BadWordsError(f"Steer by at most {MAX_WORDS} words at once; {len(words)} were given.")
    return [checked_word(word) for word in words]
