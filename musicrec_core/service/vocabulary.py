"""The words the served catalog can be steered by: its vocabulary, loaded off the event loop
once per catalog, and the :class:`LabelSteering` a requester's words make.

The vocabulary (:func:`musicrec_core.steering.catalog_vocabulary`: AudioSet's labels and
ontology from the cache, or a musicnn variant's tags; about 50 ms for AudioSet) is loaded
in a thread on first use and kept until the catalog's fingerprint changes (a reload);
an AudioSet index published before its label index derives that then too.
A catalog words cannot steer (a VGGish library; AudioSet label files the operator has not
downloaded) is told in a front end's words, not the command line's. The bot's autocomplete
and button codes build on this (:mod:`bot.catalog_words`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.errors import CatalogError, NoVocabularyError
from musicrec_core.recommender import Recommender
from musicrec_core.steering import LabelSteering, Vocabulary, catalog_vocabulary

log = logging.getLogger(__name__)

NO_WORDS_MESSAGE = (
    "The catalog musicrec serves here has neither labels nor tags (a VGGish library), so "
    "`more` and `less` cannot steer it. Ask again without them."
)
WORDS_MISSING_MESSAGE = (
    "musicrec cannot steer by words right now: the catalog's label names are not installed. "
    "Ask again without `more` and `less`, or ask the operator to install them."
)


def _load(index: CatalogIndex) -> Vocabulary:
    """The vocabulary of ``index``, refusals worded for a member.

    Raises:
        NoVocabularyError: the catalog has no words, or its label files are missing.
    """
    try:
        vocabulary = catalog_vocabulary(index)
    except NoVocabularyError:
        raise NoVocabularyError(NO_WORDS_MESSAGE) from None
    except CatalogError as exc:
        log.warning("no vocabulary for catalog %s: %s", index.fingerprint, exc)
        raise NoVocabularyError(WORDS_MISSING_MESSAGE) from None
    if vocabulary.catalog == "audioset":
        # An index published before its label index derives it once (seconds on the default
        # catalog): now, while the member is still typing, rather than in their request.
        with contextlib.suppress(CatalogError):  # closed by a reload: the next one derives
            index.label_items()
    return vocabulary


class CatalogVocabulary:
    """The served catalog's vocabulary, for steering.

    Args:
        recommender: the shared recommender; its current index is the catalog served.
    """

    def __init__(self, recommender: Recommender) -> None:
        self._recommender = recommender
        self._fingerprint: str | None = None
        self._loading: asyncio.Future[Vocabulary] | None = None

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the catalog served now (eight hex digits)."""
        return self._recommender.index.fingerprint

    async def vocabulary(self) -> Vocabulary:
        """The vocabulary of the catalog served now (loaded in a thread the first time).

        Raises:
            NoVocabularyError: words cannot steer this catalog (see :func:`_load`).
        """
        index = self._recommender.index
        loading = self._loading
        if loading is None or self._fingerprint != index.fingerprint or _failed_to_load(loading):
            loading = asyncio.ensure_future(asyncio.to_thread(_load, index))
            self._fingerprint, self._loading = index.fingerprint, loading
        return await asyncio.shield(loading)

    async def steering(self, more: Sequence[str], less: Sequence[str]) -> LabelSteering:
        """The steering ``more`` and ``less`` (a requester's words) make in the served
        catalog, resolved in a thread.

        Raises:
            NoVocabularyError, BadWordsError, UnknownWordError, ContradictoryWordsError.
        """
        vocabulary = await self.vocabulary()
        return await asyncio.to_thread(LabelSteering.from_words, vocabulary, list(more), list(less))


def _failed_to_load(loading: asyncio.Future[Vocabulary]) -> bool:
    """Whether a finished load failed for a reason other than the catalog itself (label
    files missing: worth trying again once the operator installs them)."""
    if not loading.done():
        return False
    if loading.cancelled():
        return True
    error = loading.exception()
    return isinstance(error, NoVocabularyError) and str(error) == WORDS_MISSING_MESSAGE
