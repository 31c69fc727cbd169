"""A steered reply's words, carried by its "More like #n" buttons' custom_id.

A button takes no input, so a "More like" click on a steered reply must find the reply's
steering in the button's custom_id (at most 100 characters, :mod:`bot.views`). Each word is
carried as the index of the vocabulary term it resolved to, in base 36, after ``+`` (more)
or ``-`` (less), behind four hex digits of the term list's sha256 (the *digest*)::

    8d1c+k3-1e     more "Jazz"-like term k3, less term 1e, in vocabulary 8d1c...

The term list is the vocabulary's distinct term texts in :meth:`Vocabulary.terms_by_kind`
order, so labels and tags come first: a label's index is its AudioSet class index (the
labels CSV's row), a tag's its place in musicnn's tag list; everyday words, synonyms and
ontology groups follow. A term resolves exactly as the word did (they fold to the same key),
so the click re-applies the same labels or tags; the member's own spelling is not carried.

At most :data:`MAX_BUTTON_WORDS` words (the core's ``MAX_WORDS``, checked when /recommend
resolves them): 8 words of at most 4 characters each, the digest and the separators keep
the longest custom_id under 100 characters. A digest of another term list (musicrec was
upgraded and its words changed) or a forged code is refused with
:class:`ButtonWordsError`, never re-read as other words.
"""

from __future__ import annotations

import functools
import hashlib
import re

from musicrec_core.errors import SteeringError
from musicrec_core.steering import MAX_WORDS, LabelSteering, SteeredOutcome, Vocabulary

MAX_BUTTON_WORDS = MAX_WORDS
"""Most words a button carries: every word a steered reply may have."""
DIGEST_CHARS = 4
MAX_CODE_CHARS = DIGEST_CHARS + MAX_BUTTON_WORDS * 5
"""Longest code: the digest, then per word a sign and up to 4 base-36 digits."""
CODE_PATTERN = r"[0-9a-z+-]{1,100}"
"""What a custom_id's words part may look like (any length a custom_id allows, so a forged
one still gets an answer); :meth:`TermCodec.decode` checks the rest."""
_CODE = re.compile(rf"(?P<digest>[0-9a-f]{{{DIGEST_CHARS}}})(?P<words>(?:[+-][0-9a-z]{{1,4}})+)")
_WORD = re.compile(r"([+-])([0-9a-z]{1,4})")
STALE_MESSAGE = (
    "This button's words no longer match the words musicrec knows (or it is not a button "
    "musicrec made): run /recommend again with your words."
)


class ButtonWordsError(SteeringError):
    """A "More like" button's words cannot be read back (stale or forged)."""


class TermCodec:
    """Term indices of one vocabulary, for custom_ids. Build with :func:`codec_for`."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        texts = (text for texts in vocabulary.terms_by_kind().values() for text in texts)
        self._terms = list(dict.fromkeys(texts))
        self._index = {text: position for position, text in enumerate(self._terms)}
        digest = hashlib.sha256("\n".join(self._terms).encode()).hexdigest()
        self.digest = digest[:DIGEST_CHARS]

    def index_of(self, term: str) -> int:
        """The index ``term`` is carried by. Raises KeyError for a text of no term."""
        return self._index[term]

    def encode(self, steering: LabelSteering) -> str:
        """The code of ``steering``'s words (``"8d1c+k3-1e"``)."""
        words = [("+", r) for r in steering.more] + [("-", r) for r in steering.less]
        return self.digest + "".join(
            sign + _base36(self._index[resolution.terms[0]]) for sign, resolution in words
        )

    def decode(self, code: str) -> LabelSteering:
        """The steering a code carries, resolved again in this vocabulary.

        Raises:
            ButtonWordsError: another term list's digest, a malformed code, an index past
                the list, or more than MAX_BUTTON_WORDS words.
        """
        match = _CODE.fullmatch(code)
        if match is None or match["digest"] != self.digest:
            raise ButtonWordsError(STALE_MESSAGE)
        more: list[str] = []
        less: list[str] = []
        for sign, digits in _WORD.findall(match["words"]):
            position = int(digits, 36)
            if position >= len(self._terms):
                raise ButtonWordsError(STALE_MESSAGE)
            (more if sign == "+" else less).append(self._terms[position])
        if len(more) + len(less) > MAX_BUTTON_WORDS:
            raise ButtonWordsError(STALE_MESSAGE)
        return LabelSteering.from_words(self.vocabulary, more, less)


@functools.lru_cache(maxsize=4)
def codec_for(vocabulary: Vocabulary) -> TermCodec:
    """The codec of ``vocabulary`` (built once per vocabulary: a few milliseconds)."""
    return TermCodec(vocabulary)


def button_words(outcome: SteeredOutcome | None) -> str:
    """The code a steered result's buttons carry ("" for an unsteered result, or a steering
    that is not by the catalog's own words)."""
    if outcome is None or not isinstance(outcome.steering, LabelSteering):
        return ""
    steering = outcome.steering
    return codec_for(steering.vocabulary).encode(steering)


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, remainder = divmod(number, 36)
        text = digits[remainder] + text
        if number == 0:
            return text
