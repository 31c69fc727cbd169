"""The served catalog's words in the bot: refusals worded for a member and free of charge,
autocomplete that never waits past Discord's deadline, steering handed to the core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from unittest.mock import MagicMock

import pytest

from bot.errors import user_message
from bot.steering_options import SteeringWords
from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.errors import (
    BadWordsError,
    ContradictoryWordsError,
    NoVocabularyError,
    UnknownWordError,
)
from musicrec_core.service.request import AudioRequest
from musicrec_core.service.vocabulary import NO_WORDS_MESSAGE, WORDS_MISSING_MESSAGE
from musicrec_core.sources.youtube import parse_youtube_link
from musicrec_core.steering import MAX_WORDS
from tests.bot.helpers import ServiceMaker, make_interaction, sent_text
from tests.helpers.shared_data import needs_audioset_metadata
from tests.helpers.steering_indexes import (
    build_audioset_index,
    build_vggish_library,
    install_audioset_metadata,
    strip_label_index,
)

LINK = parse_youtube_link("https://youtu.be/abcdefghijk")


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[dict[str, CatalogIndex]]:
    """Real indexes of each kind the spec'd recommender may serve."""
    indexes = {
        "audioset": CatalogIndex.load(build_audioset_index(tmp_path / "audioset")),
        "vggish": CatalogIndex.load(build_vggish_library(tmp_path / "vggish")),
    }
    yield indexes
    for index in indexes.values():
        index.close()


def serving(index: CatalogIndex):
    def prepare(recommender: MagicMock) -> None:
        recommender.index = index

    return prepare


@needs_audioset_metadata
async def test_words_the_catalog_refuses_cost_no_cooldown_and_are_private(
    tmp_path: Path, served: dict[str, CatalogIndex]
) -> None:
    install_audioset_metadata()
    maker = ServiceMaker(tmp_path, serving(served["audioset"]))
    service = maker(recommend_cooldown_s=60)
    interaction = make_interaction(None)
    refusals = [
        (SteeringWords(("jazz",), ("Jazz",)), ContradictoryWordsError, "contradict"),
        (SteeringWords(("**jazz**",)), UnknownWordError, "the nearest it knows: Jazz"),
        (SteeringWords(("<@123>",)), UnknownWordError, "<@123>"),
        (SteeringWords(("piano",) * (MAX_WORDS + 1)), BadWordsError, f"at most {MAX_WORDS}"),
        (SteeringWords(("x" * 65,)), BadWordsError, "at most 64 characters"),
    ]
    try:
        for words, error, phrase in refusals:
            with pytest.raises(error) as caught:
                await service.answer(interaction, AudioRequest(link=LINK), count=5, words=words)
            text, unexpected = user_message(caught.value)
            assert not unexpected
            interaction.response.send_message.reset_mock()
            await interaction.response.send_message(text, ephemeral=True)
            assert phrase in sent_text(interaction.response.send_message)
        interaction.response.defer.assert_not_awaited()
        steering = await service.words.steering(SteeringWords(("Drums",), ("no vocals",)))
        assert steering.describe() == (
            "more Drums (= Drum); less no vocals (= not Singing, Speech)"
        )
    finally:
        await maker.close()


@needs_audioset_metadata
async def test_a_catalog_without_words_is_told_plainly(
    tmp_path: Path, served: dict[str, CatalogIndex]
) -> None:
    maker = ServiceMaker(tmp_path, serving(served["audioset"]))
    service = maker()
    words = SteeringWords(("jazz",))
    try:
        with pytest.raises(NoVocabularyError, match="^" + WORDS_MISSING_MESSAGE):
            await service.words.steering(words)
        assert await service.words.choices("ja") == []
        install_audioset_metadata()  # the operator installs them: no reload needed
        assert [c.value for c in await service.words.choices("jaz")] == ["Jazz"]
        library = ServiceMaker(tmp_path, serving(served["vggish"]))
        try:
            service = library(recommend_cooldown_s=60)
            for _ in range(2):  # refused before admission: no cooldown either
                with pytest.raises(NoVocabularyError) as caught:
                    request = AudioRequest(link=LINK)
                    await service.answer(make_interaction(None), request, count=5, words=words)
                assert str(caught.value) == NO_WORDS_MESSAGE
            assert await service.words.choices("ja") == []
        finally:
            await library.close()
    finally:
        await maker.close()


@needs_audioset_metadata
async def test_a_reloaded_catalog_gets_its_own_words(
    tmp_path: Path, served: dict[str, CatalogIndex]
) -> None:
    install_audioset_metadata()
    maker = ServiceMaker(tmp_path, serving(served["audioset"]))
    service = maker()
    try:
        assert [c.value for c in await service.words.choices("jaz")] == ["Jazz"]
        service.recommender.index = served["vggish"]  # what a reload swaps in
        assert await service.words.choices("jaz") == []
        with pytest.raises(NoVocabularyError, match="VGGish library"):
            await service.words.steering(SteeringWords(("jazz",)))
    finally:
        await maker.close()


@needs_audioset_metadata
async def test_an_old_indexs_label_index_is_derived_while_the_member_types(
    tmp_path: Path,
) -> None:
    """The first autocomplete derives it, so the first steered request does not wait."""
    install_audioset_metadata()
    index_dir = build_audioset_index(tmp_path / "index")
    strip_label_index(index_dir)
    with CatalogIndex.load(index_dir) as index:
        maker = ServiceMaker(tmp_path, serving(index))
        service = maker()
        try:
            assert index._label_items is None
            assert [c.value for c in await service.words.choices("jaz")] == ["Jazz"]
            assert index._label_items is not None
        finally:
            await maker.close()
