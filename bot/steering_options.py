"""The ``more:`` and ``less:`` options of /recommend, /mix and /path: words separated by
commas, and their choices while a member types (:func:`word_choices`; the command's
callback is :func:`bot.word_autocomplete.complete_words`).

A member types ``jazz, piano`` into ``more:``; :func:`parse_words` splits it into
``["jazz", "piano"]`` (empty parts dropped, nothing else judged: the catalog's vocabulary
refuses unknown, over-long or too many words, :mod:`musicrec_core.steering`). While they
type, Discord asks for choices for the option's whole text; :func:`word_choices` completes
the word after the last comma from the vocabulary and offers the whole text with that word
finished (``jazz, pi`` -> ``jazz, piano``), since a chosen value replaces what was typed.

An option's text is at most :data:`MAX_OPTION_CHARS` characters, Discord's limit on a
choice's value, so every completion of a text the client accepts fits in a choice.
"""

from __future__ import annotations

from dataclasses import dataclass

from discord import app_commands

from bot.untrusted_text import Surface, inert
from musicrec_core.steering import MAX_CHOICES, Vocabulary

MAX_OPTION_CHARS = 100
"""Longest ``more:`` / ``less:`` text, in characters (Discord's limit on a choice value)."""
WORD_SEPARATOR = ","


@dataclass(frozen=True)
class SteeringWords:
    """What a member asked to hear more and less of, split into words (maybe none)."""

    more: tuple[str, ...] = ()
    less: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.more or self.less)


NO_WORDS = SteeringWords()
"""An unsteered request's words."""


def parse_words(text: str | None) -> tuple[str, ...]:
    """The words of one option, in order: ``" jazz, ,piano "`` -> ``("jazz", "piano")``."""
    if text is None:
        return ()
    return tuple(part.strip() for part in text.split(WORD_SEPARATOR) if part.strip())


def steering_words(more: str | None, less: str | None) -> SteeringWords:
    """Both options' words (:func:`parse_words`)."""
    return SteeringWords(parse_words(more), parse_words(less))


def word_choices(vocabulary: Vocabulary, typed: str) -> list[app_commands.Choice[str]]:
    """Autocomplete for one option whose text so far is ``typed``: up to 25 choices, each
    the words before the last comma followed by a vocabulary term completing the last word
    (:meth:`Vocabulary.complete`), named as it will read (its shown form: the member's
    own text may hold invisible characters). Completions longer than
    :data:`MAX_OPTION_CHARS` are left out.

    ``"jazz, pi"`` -> ``[Choice(name="jazz, piano", value="jazz, piano"), ...]``
    """
    head, _, last = typed[: MAX_OPTION_CHARS * 2].rpartition(WORD_SEPARATOR)
    before = ", ".join(parse_words(head))
    choices = []
    for term in vocabulary.complete(last.strip(), MAX_CHOICES):
        value = f"{before}{WORD_SEPARATOR} {term}" if before else term
        name = inert(value, Surface.SELECT_OPTION)
        if len(value) <= MAX_OPTION_CHARS and name:
            choices.append(app_commands.Choice(name=name, value=value))
    return choices
