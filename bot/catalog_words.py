"""The served catalog's words as the bot uses them: steering from a member's ``more:`` and
``less:``, read back from a reply's button, and offered by autocomplete.

The vocabulary itself is the request service's
(:class:`~musicrec_core.service.vocabulary.CatalogVocabulary`: loaded off the event loop
once per catalog). Autocomplete waits for it at most :data:`AUTOCOMPLETE_WAIT_S` and
otherwise offers nothing, so an answer is always within Discord's 3 seconds.
"""

from __future__ import annotations

import asyncio

from discord import app_commands

from bot.button_words import codec_for
from bot.steering_options import SteeringWords, word_choices
from musicrec_core.errors import CatalogError, MusicrecError
from musicrec_core.service.vocabulary import CatalogVocabulary
from musicrec_core.steering import LabelSteering, Vocabulary

AUTOCOMPLETE_WAIT_S = 2.0
"""Longest an autocomplete waits for the vocabulary to load, in seconds."""


class CatalogWords:
    """The served catalog's vocabulary, for steering, buttons and autocomplete.

    Args:
        vocabulary: the request service's vocabulary of the catalog served now.
    """

    def __init__(self, vocabulary: CatalogVocabulary) -> None:
        self._vocabulary = vocabulary

    async def vocabulary(self) -> Vocabulary:
        """The vocabulary of the catalog served now (loaded in a thread the first time).

        Raises:
            NoVocabularyError: words cannot steer this catalog.
        """
        return await self._vocabulary.vocabulary()

    async def steering(self, words: SteeringWords) -> LabelSteering:
        """The steering a member's ``words`` make in the served catalog.

        Raises:
            NoVocabularyError, BadWordsError, UnknownWordError, ContradictoryWordsError.
        """
        return await self._vocabulary.steering(words.more, words.less)

    async def from_button(self, catalog: str, code: str) -> LabelSteering | None:
        """The steering a reply's button carries ("More like", "Mix from"): its words code
        (:mod:`bot.button_words`; "" = unsteered, None) in the served catalog's vocabulary.
        ``catalog`` is the fingerprint the button was made with: item ids and word codes of
        another catalog may mean other music, so such a click is refused.

        Raises:
            CatalogError: the catalog was rebuilt since the button was made.
            NoVocabularyError: the catalog cannot be steered (any more).
            ButtonWordsError: a stale or forged code.
        """
        if catalog != self._vocabulary.fingerprint:
            raise CatalogError(
                "The catalog has been rebuilt since this reply, so its buttons no longer point "
                "at the same music: run /recommend again."
            )
        if not code:
            return None
        codec = codec_for(await self.vocabulary())
        return await asyncio.to_thread(codec.decode, code)

    async def choices(self, typed: str) -> list[app_commands.Choice[str]]:
        """Autocomplete choices for a ``more:`` / ``less:`` text (none while the vocabulary
        is not ready within :data:`AUTOCOMPLETE_WAIT_S`, or when there is none)."""
        try:
            vocabulary = await asyncio.wait_for(self.vocabulary(), AUTOCOMPLETE_WAIT_S)
        except (TimeoutError, MusicrecError):
            return []
        return word_choices(vocabulary, typed)
